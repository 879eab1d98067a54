"""Throughput and end-to-end latency of the whole topology vs a raw aiokafka passthrough.

Run: .venv/bin/python bench/pipeline.py [--items 5000] [--partitions 2] [--profile worker.prof]
     (uses TENSION_KAFKA_BOOTSTRAP when set, else starts the embedded broker on free ports;
     --profile runs the worker under cProfile, see docs/streams.md "Throughput")

Both sides run in this one invocation against the same broker, as separate
processes: (1) one `tension worker` (rocksdb:// store, classify + index + HTTP),
(2) `bench/pipeline.py --passthrough IN OUT`, an aiokafka consume→produce loop.
Items carry published_at = the moment they are sent, so latency is
"item timestamp → first index update that counts it": an item is counted
when the summed n_total of the `overall` tumbling rows reaches its rank
(items are sent in order; within a batch the index cannot tell them apart).
events/s = items / (last item counted − first item sent).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.serde import AvroDeserializer, AvroSerializer  # noqa: E402
from streams.config import StreamConfig, TopicConfig  # noqa: E402
from streams.topics import TopicSpec, topic_specs  # noqa: E402
from tension.admin import apply_specs  # noqa: E402
from devenv.procs import free_port_block  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def corpus_items(n: int) -> list[dict]:
    from connectors.sources.inputs import read_inputs
    from connectors.sources.normalize import ReadOptions
    from schemas.models import NewsItem

    base = [p for p in read_inputs([str(p) for p in (ROOT / "seeds" / "corpus").glob("*.jsonl")], ReadOptions())
            if isinstance(p, NewsItem)]
    return [{**base[k % len(base)].to_avro(), "id": f"bench-{time.time_ns()}-{k}", "url": None} for k in range(n)]


def produce(bootstrap: str, topic: str, items: list[dict]) -> list[int]:
    """Send items as fast as possible, published_at = send time; returns send times (ms)."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": True})
    encode = AvroSerializer("NewsItem")
    sent = []
    for item in items:
        now = time.time_ns() // 1_000_000
        item["published_at"] = datetime.fromtimestamp(now / 1000, tz=timezone.utc)
        while True:
            try:
                p.produce(topic, key=item["id"].encode(), value=encode(item), timestamp=now)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        sent.append(now)
    p.flush(60)
    return sent


def consume(bootstrap: str, topic: str, on_msg, stop: threading.Event) -> None:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    try:
        while not stop.is_set():
            for m in c.consume(1000, timeout=0.2):
                if not m.error():
                    on_msg(m, time.time_ns() // 1_000_000)
    finally:
        c.close()


def measure(bootstrap: str, send_topic: str, recv_topic: str, n: int, counted_of) -> tuple[float, float, float]:
    """Publish n items, watch recv_topic until all are counted; (events/s, p50 ms, p99 ms)."""
    done_at: list[int] = []  # receive time of the k-th counted item
    lock = threading.Lock()
    stop = threading.Event()

    def on_msg(m, now: int) -> None:
        with lock:
            total = counted_of(m)
            while len(done_at) < min(total, n):
                done_at.append(now)
            if len(done_at) >= n:
                stop.set()

    t = threading.Thread(target=consume, args=(bootstrap, recv_topic, on_msg, stop), daemon=True)
    t.start()
    time.sleep(3)  # let the consumer join before the first item is sent
    sent = produce(bootstrap, send_topic, corpus_items(n))
    stop.wait(600)
    stop.set()
    t.join(10)
    if len(done_at) < n:
        raise SystemExit(f"only {len(done_at)}/{n} items came through {recv_topic}")
    lat = [d - s for d, s in zip(done_at, sent)]
    return n / ((done_at[-1] - sent[0]) / 1000), pct(lat, 50), pct(lat, 99)


def topology(bootstrap: str, n: int, partitions: int, tmp: Path, profile: Path | None = None) -> tuple[float, float, float]:
    tag = str(time.time_ns())
    topics = TopicConfig(raw=f"bench.raw-{tag}", classified=f"bench.cls-{tag}", index=f"bench.idx-{tag}",
                         alerts=f"bench.alerts-{tag}", deadletter=f"bench.dead-{tag}", partitions=partitions)
    cfg = StreamConfig(bootstrap=bootstrap, app_id=f"bench-{tag}", topics=topics)
    apply_specs(bootstrap, topic_specs(cfg).values())
    port = free_port_block(span=2)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TENSION_")},
           "TENSION_KAFKA_BOOTSTRAP": bootstrap, "TENSION_KAFKA__PARTITIONS": str(partitions),
           "TENSION_TOPICS__RAW": topics.raw, "TENSION_TOPICS__CLASSIFIED": topics.classified,
           "TENSION_TOPICS__INDEX": topics.index, "TENSION_TOPICS__ALERTS": topics.alerts,
           "TENSION_TOPICS__DEADLETTER": topics.deadletter, "TENSION_STREAM__APP_ID": cfg.app_id,
           "TENSION_STREAM__STORE": "rocksdb://", "TENSION_STREAM__DATA_DIR": str(tmp / "state"),
           "TENSION_STREAM__WEB_PORT": str(port)}
    log = open(tmp / "worker.log", "wb")
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    worker = subprocess.Popen([sys.executable, *prof, "-m", "tension", "worker"], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/categories", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise SystemExit(f"worker did not come up; see {tmp / 'worker.log'}")
                time.sleep(0.5)
        decode = AvroDeserializer("TensionIndexUpdate")
        latest: dict[int, int] = {}  # tumbling window start → n_total

        def counted(m) -> int:
            row = decode(m.value())
            if row["category"] == "overall" and row["window_kind"] == "tumbling":
                key = int(row["window_start"].timestamp())
                latest[key] = max(latest.get(key, 0), row["n_total"])
            return sum(latest.values())

        return measure(bootstrap, topics.raw, topics.index, n, counted)
    finally:
        worker.terminate()
        worker.wait(30)


def passthrough(bootstrap: str, n: int, partitions: int) -> tuple[float, float, float]:
    tag = str(time.time_ns())
    src, dst = f"bench.pt-in-{tag}", f"bench.pt-out-{tag}"
    apply_specs(bootstrap, [TopicSpec(src, partitions, 1, "none"), TopicSpec(dst, partitions, 1, "none")])
    proc = subprocess.Popen([sys.executable, __file__, "--passthrough", src, dst, "--bootstrap", bootstrap])
    try:
        seen = [0]

        def counted(_m) -> int:
            seen[0] += 1
            return seen[0]

        return measure(bootstrap, src, dst, n, counted)
    finally:
        proc.terminate()
        proc.wait(30)


async def run_passthrough(bootstrap: str, src: str, dst: str) -> None:
    """The floor: aiokafka consume → produce of the same bytes, no decoding."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(src, bootstrap_servers=bootstrap, group_id=f"pt-{src}", auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for r in records:
                    await producer.send(dst, r.value, key=r.key)
    finally:
        await consumer.stop()
        await producer.stop()


def bench_broker(prefix: str) -> tuple[str, Any, Path]:
    """The broker a bench runs against: ``TENSION_KAFKA_BOOTSTRAP`` if set, else an embedded one
    started in a fresh temp folder (returned as the cluster to stop, None otherwise)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    bootstrap = os.environ.get("TENSION_KAFKA_BOOTSTRAP")
    if bootstrap:
        return bootstrap, None, tmp
    from tests.conftest import start_local_cluster

    cluster = start_local_cluster(tmp / "kafka")
    return cluster.bootstrap, cluster, tmp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--passthrough", nargs=2, metavar=("IN", "OUT"))
    ap.add_argument("--bootstrap")
    ap.add_argument("--profile", type=Path, help="run the worker under cProfile, writing stats here")
    a = ap.parse_args()
    if a.passthrough:
        asyncio.run(run_passthrough(a.bootstrap, *a.passthrough))
        return
    bootstrap, cluster, tmp = bench_broker("bench-pipeline-")
    try:
        topo = topology(bootstrap, a.items, a.partitions, tmp, a.profile)
        pt = passthrough(bootstrap, a.items, a.partitions)
    finally:
        if cluster:
            cluster.stop()
    print(f"items={a.items} partitions={a.partitions} broker={bootstrap} cpus={os.cpu_count()}")
    print(f"{'':28}{'events/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'topology (1 worker)':28}{topo[0]:>10.0f}{topo[1]:>10.0f}{topo[2]:>10.0f}")
    print(f"{'aiokafka passthrough':28}{pt[0]:>10.0f}{pt[1]:>10.0f}{pt[2]:>10.0f}")
    print(f"ratio topology/passthrough: {topo[0] / pt[0]:.3f} (throughput)")


if __name__ == "__main__":
    main()
