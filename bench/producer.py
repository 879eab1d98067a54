"""Producer throughput: kafka-python vs confluent-kafka, same settings, same items, same broker.

Both clients run with acks=all and idempotence on (what ``tension produce``
uses), send N pre-encoded NewsItem records keyed by id with timestamp =
published_at, and are timed from the first send to the last acknowledgement.
The faster one is the default backend of ``connectors.sources.producers``.

    python bench/producer.py --bootstrap 127.0.0.1:9092 -n 50000
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from connectors.sources.producers import open_producer
from schemas.models import NewsItem, item_id
from schemas.serde import AvroSerializer


def make_records(n: int) -> list[tuple[bytes, bytes, int]]:
    encode = AvroSerializer("NewsItem")
    start = datetime(2025, 5, 1, tzinfo=timezone.utc)
    records = []
    for i in range(n):
        title = f"Trade officials meet in London, round {i}"
        body = "Both sides discussed tariffs, export controls and rare-earth permits. " * 6
        item = NewsItem(id=item_id("bench", None, title, body), source="bench", title=title, body=body,
                        published_at=start + timedelta(seconds=i))
        records.append((item.id.encode(), encode(item.to_avro()), int(item.published_at.timestamp() * 1000)))
    return records


def run(backend: str, bootstrap: str, records: list[tuple[bytes, bytes, int]]) -> float:
    topic = f"bench.producer.{backend}.{uuid.uuid4().hex[:8]}"
    producer = open_producer(bootstrap, backend=backend)
    done = threading.Event()
    acked = [0, 0]
    lock = threading.Lock()

    def on_done(err: Exception | None) -> None:
        with lock:
            acked[0 if err is None else 1] += 1
            if acked[0] + acked[1] == len(records):
                done.set()

    producer.send(topic, b"warm-up", records[0][1], records[0][2], lambda _e: None)  # metadata + PID
    producer.flush(30)
    started = time.perf_counter()
    for key, value, ts in records:
        producer.send(topic, key, value, ts, on_done)
        producer.poll()
    producer.flush(120)
    elapsed = time.perf_counter() - started
    producer.close()
    if acked[1] or acked[0] != len(records):
        raise SystemExit(f"{backend}: {acked[0]} acked, {acked[1]} failed of {len(records)}")
    return len(records) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("-n", type=int, default=50_000, help="records per backend")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    records = make_records(args.n)
    size = sum(len(v) for _, v, _ in records) / len(records)
    print(f"{args.n} NewsItem records of {size:.0f} bytes (single-object Avro), acks=all, idempotent")
    best: dict[str, float] = {}
    for round_no in range(1, args.rounds + 1):
        for backend in ("kafka-python", "confluent"):
            rate = run(backend, args.bootstrap, records)
            best[backend] = max(best.get(backend, 0.0), rate)
            print(f"round {round_no} {backend:13s} {rate:10.0f} records/s")
    ratio = best["confluent"] / best["kafka-python"]
    print(f"best: kafka-python {best['kafka-python']:.0f}/s, confluent-kafka {best['confluent']:.0f}/s "
          f"-> confluent-kafka is {ratio:.1f}x kafka-python")


if __name__ == "__main__":
    main()
