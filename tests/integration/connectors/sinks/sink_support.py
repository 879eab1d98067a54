"""Records, producers, sink processes and store readers shared by the sink integration tests.

Kafka access goes through confluent-kafka (librdkafka), like the sinks themselves: every
compression codec, and the same client the product uses, so a helper cannot disagree with
the code under test about offsets or codecs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.serde import AvroDeserializer, AvroSerializer
from tension.settings import PROJECT_ROOT
from tests.helpers import unique

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)
from schemas.models import CATEGORIES  # noqa: E402  (the one list; re-exported to the sink tests)
_enc_item = AvroSerializer("ClassifiedItem")
_enc_index = AvroSerializer("TensionIndexUpdate")
_enc_alert = AvroSerializer("Alert")


def item(i: int, *, tension: float | None = None, classified_at: datetime | None = None,
         categories: list[str] | None = None) -> dict[str, Any]:
    """Deterministic ClassifiedItem number `i` (published over ~10 days, so several dt= folders)."""
    t = ((i * 37) % 201 - 100) / 100 if tension is None else tension
    cats = categories if categories is not None else [CATEGORIES[i % 5]] + ([CATEGORIES[(i + 2) % 5]] if i % 3 == 0 else [])
    published = T0 + timedelta(minutes=i)
    return {
        "item": {"id": f"item-{i:06d}", "source": "test", "url": f"https://example.test/{i}", "title": f"Headline {i}",
                 "body": f"Body of item {i}: tariffs, export controls.", "language": "en", "published_at": published,
                 "ingested_at": published, "attributes": {}, "source_ref": None},
        "categories": cats, "scores": {c: 0.9 for c in cats}, "tension": t,
        "direction": "escalation" if t > 0 else "deescalation" if t < 0 else "neutral",
        "cues": [{"phrase": "tariffs", "category": cats[0] if cats else None, "direction": "escalation", "weight": t}],
        "actors": ["US", "China"], "classifier_version": "rules-test",
        "classified_at": classified_at or published + timedelta(seconds=5),
    }


def index_update(window: int, n: int, *, emitted_s: float, final: bool = False,
                 category: str = "tariffs") -> dict[str, Any]:
    start = T0 + timedelta(hours=window)
    return {"category": category, "window_kind": "hopping", "window_size_s": 86400, "window_start": start,
            "window_end": start + timedelta(days=1), "n_total": 10 * n, "n_category": n, "n_escalating": n,
            "n_deescalating": 0, "share": n / (10 * n), "index": 100.0 * n, "signed_mean": 0.5, "balance": 1.0,
            "final": final, "top_items": [f"item-{n:06d}"], "emitted_at": T0 + timedelta(seconds=emitted_s)}


def alert(i: int) -> dict[str, Any]:
    start = T0 + timedelta(hours=i)
    return {"id": f"alert-{i}", "category": "tariffs", "rule": "level", "window_start": start,
            "window_end": start + timedelta(days=1), "value": 250.0 + i, "threshold": 200.0,
            "message": f"tariffs index above 200 ({i})", "items": [f"item-{i:06d}"], "created_at": start}


def encode_item(v: dict[str, Any]) -> tuple[bytes, bytes]:
    return v["item"]["id"].encode(), _enc_item(v)


def encode_index(v: dict[str, Any]) -> tuple[bytes, bytes]:
    return v["category"].encode(), _enc_index(v)


def encode_alert(v: dict[str, Any]) -> tuple[bytes, bytes]:
    return v["category"].encode(), _enc_alert(v)


class DeliveryFailed(AssertionError):
    """A record the broker did not acknowledge: the test's input is incomplete."""


def new_producer(bootstrap: str, **conf: Any) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "batch.size": 256 * 1024,
                     "enable.idempotence": True, **conf})


def send(producer: Producer, topic: str, key: bytes | None, value: bytes, errors: list[str]) -> None:
    """Enqueue one record (waiting while the local queue is full); delivery errors land in ``errors``."""
    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=report)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.1)


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    producer = new_producer(bootstrap)
    errors: list[str] = []
    n = 0
    for key, value in records:
        send(producer, topic, key, value, errors)
        n += 1
    left = producer.flush(60)
    if left or errors:
        raise DeliveryFailed(f"{left} record(s) unacknowledged, errors: {sorted(set(errors))[:3]}")
    return n


@dataclass
class Topics:
    classified: str
    index: str
    alerts: str
    deadletter: str

    def env(self) -> dict[str, str]:
        return {"TENSION_TOPICS__CLASSIFIED": self.classified, "TENSION_TOPICS__INDEX": self.index,
                "TENSION_TOPICS__ALERTS": self.alerts, "TENSION_TOPICS__DEADLETTER": self.deadletter}

    def kinds(self) -> dict[str, str]:
        return {self.classified: "item", self.index: "index", self.alerts: "alert"}


@dataclass
class SinkProcess:
    """`python -m tension sink <store> …` as a child process with its own log file."""

    store: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tension", "sink", self.store, *self.args],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=PROJECT_ROOT)
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def sink_env(bootstrap: str, topics: Topics, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env.update(topics.env())
    env.update({"TENSION_KAFKA_BOOTSTRAP": bootstrap, "TENSION_LOG_LEVEL": "INFO", **extra})
    return env


def committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets (partitions without a commit left out)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(30)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}


def _consumer(bootstrap: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g.reader"), "enable.auto.commit": False,
                     "auto.offset.reset": "earliest"})


def _partitions(consumer: Consumer, topic: str) -> list[TopicPartition]:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    if meta.error is not None:
        raise KafkaException(meta.error)
    return [TopicPartition(topic, p) for p in sorted(meta.partitions)]


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 30) -> list[Any]:
    """Up to ``expected`` records of ``topic`` from its beginning (fewer if the deadline passes first)."""
    import time

    consumer = _consumer(bootstrap)
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, 0) for tp in _partitions(consumer, topic)])
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            out += [m for m in consumer.consume(500, timeout=0.5) if m.error() is None]
        return out[:expected]
    finally:
        consumer.close()


def dead_letters(bootstrap: str, topic: str, expected: int) -> list[dict[str, Any]]:
    decode = AvroDeserializer("DeadLetter")
    return [decode(m.value()) for m in read_topic(bootstrap, topic, expected)]


# -- store readers: rows as comparable tuples --------------------------------------------------------

def sqlite_items(path: Path) -> list[tuple[Any, ...]]:
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=10) as db:
        try:
            return db.execute("SELECT item_id, title, tension, categories FROM items").fetchall()
        except sqlite3.OperationalError:
            return []


def sqlite_count(path: Path, table: str = "items") -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=10) as db:
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def files_lines(root: Path, table: str) -> list[dict[str, Any]]:
    rows = []
    for path in sorted((root / table).glob("dt=*/part-*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return rows


def expected_item_row(v: dict[str, Any]) -> tuple[Any, ...]:
    return (v["item"]["id"], v["item"]["title"], v["tension"], v["categories"])


class RunnerThread:
    """A SinkRunner in a background thread of the test process (faster than a child process)."""

    def __init__(self, runner: Any) -> None:
        import threading

        self.runner = runner
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.runner.run()
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        self.runner.stop()
        self.thread.join(60)
        assert not self.thread.is_alive(), "runner did not stop"
        if self.error:
            raise self.error


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """End offset of every non-empty partition of ``topics``."""
    consumer = _consumer(bootstrap)
    try:
        ends = {}
        for topic in topics:
            for tp in _partitions(consumer, topic):
                _low, high = consumer.get_watermark_offsets(tp, timeout=10)
                if high > 0:
                    ends[(tp.topic, tp.partition)] = high
        return ends
    finally:
        consumer.close()


def fully_committed(bootstrap: str, group: str, topics: Iterable[str]) -> bool:
    """True when the group's committed offsets reached the end of every non-empty partition."""
    ends = end_offsets(bootstrap, topics)
    done = committed(bootstrap, group)
    return all(done.get(tp, -1) >= end for tp, end in ends.items())
