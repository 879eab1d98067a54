"""Sink throughput end to end from Kafka, beside baselines measured in the same run (issue 15, point 4).

Run: .venv/bin/python bench/sinks.py [-n 50000] [--rounds 3] [--batch 500] [--only decode,sqlite,postgres,files]
                                     [--bootstrap HOST:PORT] [--dsn postgresql://…] [--no-store] [--vs COMMIT]

``-n`` ClassifiedItems are produced once into one 3-partition topic; then, ``--rounds``
rounds, the contenders' order rotated each round so none always runs on the quietest
machine, each contender drains the whole topic from offset 0 with its own consumer group:

* ``decode`` — the baseline: a bare confluent-kafka consumer loop that only decodes
  (the sink's own deserializer), no store, no commits: the ceiling of any sink here;
* ``sqlite`` / ``postgres`` / ``files`` — a :class:`SinkRunner` over that store, exactly what
  ``tension sink <store>`` runs: decode → batch → write (one transaction per batch) → commit.

rows/s = n / (last row written − partitions assigned), so the group join is not counted.
rows/CPU-s = n / the bench process's CPU seconds (user + system, every thread: librdkafka's
included, a PostgreSQL server's not) over the same interval: on a shared, loaded box the
steadier figure, and the rate one free core would give a single-threaded loop.
Beside each, ``store``: the same store's ``write_batch`` alone on pre-decoded records
(batches of ``--batch``), measured in the same round — what the store and our SQL sustain.
``--vs COMMIT``: the stores' code of that commit (``connectors/sinks/{base,rows,sqlite,postgres}.py``
loaded from git history into temporary modules) is measured store-only in the same rounds,
beside this tree's: before / after on the same records, machine and minute.
Printed: median [min–max] per contender, e2e / decode and e2e / store, the 1-min load average.

PostgreSQL is a throwaway cluster (tests/pgfixture.py, durable: fsync on, synchronous_commit
on; a fresh database per measurement) unless ``--dsn`` is given; Kafka is the embedded broker
on free ports unless ``--bootstrap`` (or TENSION_KAFKA_BOOTSTRAP) is given. Files are fsync'ed
before the commit; SQLite runs WAL with synchronous=NORMAL.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sinks.base import Sink, SinkRecord  # noqa: E402
from connectors.sinks.files import FilesSink  # noqa: E402
from connectors.sinks.postgres import PostgresSink  # noqa: E402
from connectors.sinks.runner import SinkRunner  # noqa: E402
from connectors.sinks.sqlite import SQLiteSink  # noqa: E402
from schemas.serde import AvroDeserializer, TopicSerdes  # noqa: E402
from tests.integration.connectors.sinks.sink_support import encode_item, item, produce  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARTITIONS = 3
STORES = ("sqlite", "postgres", "files")


def load_stores(commit: str) -> dict[str, types.ModuleType]:
    """``connectors/sinks/{base,rows,sqlite,postgres}.py`` of ``commit`` as modules ``_vs_<name>``."""
    mods: dict[str, types.ModuleType] = {}
    for name in ("base", "rows", "sqlite", "postgres"):
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:connectors/sinks/{name}.py"], check=True,
                             capture_output=True, text=True).stdout
        for dep in ("base", "rows"):
            src = src.replace(f"from connectors.sinks.{dep} import", f"from _vs_{dep} import")
        mod = types.ModuleType(f"_vs_{name}")
        sys.modules[mod.__name__] = mod
        exec(compile(src, f"{commit}:connectors/sinks/{name}.py", "exec"), mod.__dict__)  # noqa: S102
        mods[name] = mod
    return mods


def records(n: int) -> list[SinkRecord]:
    decode = AvroDeserializer("ClassifiedItem")
    out = []
    for i in range(n):
        key, raw = encode_item(item(i))
        out.append(SinkRecord("item", decode(raw), "bench.classified", i % PARTITIONS, i // PARTITIONS, key, raw))
    return out


def store_rate(make: Callable[[], Sink], recs: list[SinkRecord], batch: int) -> float:
    """``write_batch`` + ``flush`` alone, on records decoded beforehand."""
    sink = make()
    sink.open()
    started = time.perf_counter()
    for i in range(0, len(recs), batch):
        sink.write_batch(recs[i:i + batch])
        sink.flush()
    elapsed = time.perf_counter() - started
    sink.close()
    return len(recs) / elapsed


def cpu_now() -> float:
    t = os.times()
    return t.user + t.system


def sink_rate(make: Callable[[], Sink], bootstrap: str, topic: str, n: int, batch: int) -> tuple[float, float]:
    """A SinkRunner draining ``topic``: (rows/s, rows/CPU-s) from the assignment until the n-th row was written."""
    done = threading.Event()
    written = [0]
    assigned: list[float] = []
    cpu: list[float] = []

    def on_batch(k: int) -> None:
        written[0] += k
        if written[0] >= n:
            done.set()

    sink = make()
    own_on_assign = sink.on_assign

    def on_assign(partitions: object) -> None:
        assigned.append(time.perf_counter())
        cpu.append(cpu_now())
        own_on_assign(partitions)  # type: ignore[arg-type]

    sink.on_assign = on_assign  # type: ignore[method-assign]
    runner = SinkRunner(sink, bootstrap=bootstrap, topics={topic: "item"}, group_id=f"bench-{uuid.uuid4().hex[:8]}",
                        deadletter_topic=f"{topic}.dlq", batch_size=batch, batch_seconds=1.0, on_batch=on_batch,
                        progress_every_s=3600)
    thread = threading.Thread(target=runner.run)
    thread.start()
    ok = done.wait(600)
    ended, cpu_end = time.perf_counter(), cpu_now()  # the last batch's offsets are committed right after on_batch
    runner.stop()
    thread.join()
    if not ok or not assigned:
        raise SystemExit(f"{sink.name}: only {written[0]}/{n} rows in 600s")
    return n / (ended - assigned[0]), n / (cpu_end - cpu[0])


def decode_rate(bootstrap: str, topic: str, n: int, batch: int) -> tuple[float, float]:
    """The baseline: confluent-kafka consume + the sink's deserializer, nothing stored or committed."""
    from confluent_kafka import Consumer

    decode = TopicSerdes({"classified": topic}).deserializer("classified")
    assigned: list[float] = []
    cpu: list[float] = []

    def on_assign(_consumer: object, _partitions: object) -> None:
        assigned.append(time.perf_counter())
        cpu.append(cpu_now())

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-decode-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic], on_assign=on_assign)
    seen = 0
    deadline = time.monotonic() + 600
    try:
        while seen < n and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=batch, timeout=1.0):
                if msg.error() is None:
                    decode(msg.value())
                    seen += 1
        ended, cpu_end = time.perf_counter(), cpu_now()
    finally:
        consumer.close()
    if seen < n or not assigned:
        raise SystemExit(f"decode: only {seen}/{n} records in 600s")
    return n / (ended - assigned[0]), n / (cpu_end - cpu[0])


@contextlib.contextmanager
def kafka(bootstrap: str | None) -> Iterator[str]:
    bootstrap = bootstrap or os.environ.get("TENSION_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    from tests.conftest import start_local_cluster

    root = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    cluster = start_local_cluster(root)
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[Callable[[], str]]:
    """Yields a factory of empty databases (one per measurement)."""
    if dsn:
        yield lambda: dsn
        return
    from tests.pgfixture import ThrowawayPostgres

    with ThrowawayPostgres(fsync=True) as pg:
        def fresh() -> str:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            pg.create_database(name)
            return pg.dsn_for(name)

        yield fresh


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} [{min(values):,.0f}–{max(values):,.0f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50_000, help="records per measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500, help="records per batch (TENSION_SINK__BATCH_SIZE)")
    ap.add_argument("--only", default="decode," + ",".join(STORES), help="contenders, comma-separated")
    ap.add_argument("--bootstrap", help="existing Kafka; default: TENSION_KAFKA_BOOTSTRAP or an embedded broker")
    ap.add_argument("--dsn", help="existing PostgreSQL database (must be empty or migrated)")
    ap.add_argument("--no-store", action="store_true", help="skip the store-only figures")
    ap.add_argument("--vs", metavar="COMMIT", help="also measure that commit's stores, store-only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kinds = [k for k in args.only.split(",") if k]
    unknown = set(kinds) - {"decode", *STORES}
    if unknown:
        raise SystemExit(f"unknown contenders {sorted(unknown)}")

    tmp = Path(tempfile.mkdtemp(prefix="bench-sinks-"))
    recs = records(args.n) if not args.no_store else []
    vs = load_stores(args.vs) if args.vs and recs else None
    vs_recs = ([vs["base"].SinkRecord(r.kind, r.value, r.topic, r.partition, r.offset, r.key, r.raw) for r in recs]
               if vs else [])
    e2e: dict[str, list[float]] = {k: [] for k in kinds}
    per_cpu: dict[str, list[float]] = {k: [] for k in kinds}
    store: dict[str, list[float]] = {k: [] for k in kinds if k != "decode"}
    store_vs: dict[str, list[float]] = {k: [] for k in kinds if k in ("sqlite", "postgres")}
    loads: list[float] = []
    try:
        with postgres(args.dsn if "postgres" in kinds else "unused") as fresh_pg:
            makers: dict[str, Callable[[], Callable[[], Sink]]] = {
                "sqlite": lambda: (lambda p=tmp / f"{uuid.uuid4().hex}.sqlite": SQLiteSink(p)),
                "postgres": lambda: (lambda d=fresh_pg(): PostgresSink(d, migrate=True)),
                "files": lambda: (lambda r=tmp / uuid.uuid4().hex: FilesSink(r)),
            }
            vs_makers: dict[str, Callable[[], Callable[[], Sink]]] = {} if vs is None else {
                "sqlite": lambda: (lambda p=tmp / f"{uuid.uuid4().hex}.sqlite": vs["sqlite"].SQLiteSink(p)),
                "postgres": lambda: (lambda d=fresh_pg(): vs["postgres"].PostgresSink(d, migrate=True)),
            }
            with kafka(args.bootstrap) as bootstrap:
                from confluent_kafka.admin import AdminClient, NewTopic

                topic = f"bench.sinks.{uuid.uuid4().hex[:8]}"
                admin = AdminClient({"bootstrap.servers": bootstrap})
                for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
                    future.result(30)
                produce(bootstrap, topic, (encode_item(item(i)) for i in range(args.n)))
                print(f"{args.n:,} ClassifiedItems in {topic} ({PARTITIONS} partitions), batches of {args.batch}, "
                      f"cpus {os.cpu_count()}", flush=True)
                for r in range(args.rounds):
                    for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
                        load = os.getloadavg()[0]
                        loads.append(load)
                        if kind == "decode":
                            rate, rate_cpu = decode_rate(bootstrap, topic, args.n, args.batch)
                        else:
                            rate, rate_cpu = sink_rate(makers[kind](), bootstrap, topic, args.n, args.batch)
                        line = f"round {r + 1} {kind:9}{rate:>10,.0f} rows/s end to end{rate_cpu:>10,.0f} rows/CPU-s"
                        per_cpu[kind].append(rate_cpu)
                        if kind != "decode":
                            if recs:
                                store[kind].append(store_rate(makers[kind](), recs, args.batch))
                                line += f"{store[kind][-1]:>10,.0f} store only"
                            if kind in vs_makers:
                                store_vs[kind].append(store_rate(vs_makers[kind](), vs_recs, args.batch))
                                line += f"{store_vs[kind][-1]:>10,.0f} store only at {args.vs}"
                        e2e[kind].append(rate)
                        print(f"{line}   load {load:.1f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nsinks, {args.n:,} ClassifiedItems from Kafka, {args.rounds} rounds: rows/s, median [min–max]; "
          f"load {min(loads):.1f}–{max(loads):.1f}")
    print(f"{'contender':<10}{'end to end':>26}{'rows/CPU-s':>26}{'store only':>26}{'e2e/decode':>12}"
          f"{'e2e/store':>11}")
    med = {k: statistics.median(v) for k, v in e2e.items()}
    for kind in kinds:
        st = store.get(kind) or []
        ratio_d = f"{med[kind] / med['decode']:.2f}" if "decode" in med else "-"
        ratio_s = f"{med[kind] / statistics.median(st):.2f}" if st else "-"
        print(f"{kind:<10}{summary(e2e[kind]):>26}{summary(per_cpu[kind]):>26}{(summary(st) if st else '-'):>26}"
              f"{ratio_d:>12}{ratio_s:>11}")
    for kind, values in store_vs.items():
        if values:
            print(f"{kind} store only at {args.vs}: {summary(values)}; this tree / {args.vs}: "
                  f"{statistics.median(store[kind]) / statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
