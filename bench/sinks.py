"""Sink throughput, side by side: SQLite, PostgreSQL and JSONL files, batched, in one run.

Two figures per sink:

* **store** — ``write_batch`` alone on pre-decoded records (batches of
  ``--batch``): what the store and our SQL/file code sustain.
* **end to end** — a ``SinkRunner`` consuming the same records from Kafka
  (decode → batch → write → commit), timed from start until the group has
  committed the last offset: what ``tension sink <store>`` delivers.

PostgreSQL is a throwaway cluster (tests/pgfixture.py, durable settings:
fsync on, synchronous_commit on) unless ``--dsn`` is given; Kafka is the
embedded broker on free ports unless ``--bootstrap`` is given. Files are
fsync'ed before the commit, SQLite runs WAL with synchronous=NORMAL.

    python bench/sinks.py -n 20000
    python bench/sinks.py -n 20000 --bootstrap 127.0.0.1:9092 --dsn postgresql://…
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sinks.base import Sink, SinkRecord, SinkRunner  # noqa: E402
from connectors.sinks.files import FilesSink  # noqa: E402
from connectors.sinks.postgres import PostgresSink  # noqa: E402
from connectors.sinks.sqlite import SQLiteSink  # noqa: E402
from schemas.serde import AvroDeserializer  # noqa: E402
from tests.integration.sink_support import encode_item, item, produce  # noqa: E402


def records(n: int) -> list[SinkRecord]:
    decode = AvroDeserializer("ClassifiedItem")
    out = []
    for i in range(n):
        key, raw = encode_item(item(i))
        out.append(SinkRecord("item", decode(raw), "bench.classified", i % 3, i // 3, key, raw))
    return out


def store_rate(make: Callable[[], Sink], recs: list[SinkRecord], batch: int) -> float:
    sink = make()
    sink.open()
    started = time.perf_counter()
    for i in range(0, len(recs), batch):
        sink.write_batch(recs[i:i + batch])
        sink.flush()
    elapsed = time.perf_counter() - started
    sink.close()
    return len(recs) / elapsed


def end_to_end_rate(make: Callable[[], Sink], bootstrap: str, topic: str, n: int, batch: int) -> float:
    done = threading.Event()
    written = [0]

    def on_batch(k: int) -> None:
        written[0] += k
        if written[0] >= n:
            done.set()

    runner = SinkRunner(make(), bootstrap=bootstrap, topics={topic: "item"}, group_id=f"bench-{uuid.uuid4().hex[:8]}",
                        deadletter_topic=f"{topic}.dlq", batch_size=batch, batch_seconds=1.0, on_batch=on_batch)
    started = time.perf_counter()
    thread = threading.Thread(target=runner.run)
    thread.start()
    if not done.wait(600):
        runner.stop()
        raise SystemExit(f"{runner.sink.name}: only {written[0]}/{n} rows in 600s")
    elapsed = time.perf_counter() - started  # the last batch's offsets are committed right after on_batch
    runner.stop()
    thread.join()
    return n / elapsed


@contextlib.contextmanager
def kafka(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from tests.conftest import start_local_cluster

    cluster = start_local_cluster(Path(tempfile.mkdtemp(prefix="bench-kafka-")))
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20_000, help="records per measurement")
    ap.add_argument("--batch", type=int, default=500, help="records per batch (TENSION_SINK__BATCH_SIZE)")
    ap.add_argument("--bootstrap", help="existing Kafka; default: embedded broker on free ports")
    ap.add_argument("--dsn", help="existing PostgreSQL database (must be empty or migrated)")
    ap.add_argument("--no-kafka", action="store_true", help="store figures only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="bench-sinks-"))
    recs = records(args.n)
    with postgres(args.dsn) as fresh_pg:
        makers: dict[str, Callable[[], Callable[[], Sink]]] = {
            "sqlite": lambda: (lambda p=tmp / f"{uuid.uuid4().hex}.sqlite": SQLiteSink(p)),
            "postgres": lambda: (lambda d=fresh_pg(): PostgresSink(d, migrate=True)),
            "files": lambda: (lambda r=tmp / uuid.uuid4().hex: FilesSink(r)),
        }
        store = {name: store_rate(make(), recs, args.batch) for name, make in makers.items()}
        e2e: dict[str, float] = {}
        if not args.no_kafka:
            with kafka(args.bootstrap) as bootstrap:
                from kafka.admin import KafkaAdminClient, NewTopic

                topic = f"bench.sinks.{uuid.uuid4().hex[:8]}"
                admin = KafkaAdminClient(bootstrap_servers=bootstrap)
                admin.create_topics([NewTopic(topic, 3, 1)])
                admin.close()
                produce(bootstrap, topic, (encode_item(item(i)) for i in range(args.n)))
                e2e = {name: end_to_end_rate(make(), bootstrap, topic, args.n, args.batch)
                       for name, make in makers.items()}

    print(f"\nsink throughput, {args.n} ClassifiedItems, batches of {args.batch} (rows/s, higher is better)")
    print(f"{'sink':<10}{'store (write_batch)':>22}{'end to end (Kafka)':>22}")
    for name in makers:
        print(f"{name:<10}{store[name]:>22,.0f}{(f'{e2e[name]:,.0f}' if name in e2e else '-'):>22}")


if __name__ == "__main__":
    main()
