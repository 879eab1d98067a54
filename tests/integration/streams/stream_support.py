"""Shared machinery of the stream integration tests (no tests here).

Workers run as real subprocesses (`python -m tension worker`) configured by
environment variables, so SIGKILL is a real crash; every test gets its own
uuid-named topics, app id (hence consumer group and changelog) and state dir.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from schemas.models import NewsItem
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.config import IndexConfig, StreamConfig, TopicConfig
from streams.processing import classify_news, fact_of
from streams.topics import topic_specs
from streams.windows import Fact
from tension.admin import apply_specs
from streams.offline import reference
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT
from tests.helpers import unique, wait_for

ROW_FIELDS = ("n_total", "n_category", "n_escalating", "n_deescalating", "share", "index", "signed_mean",
              "balance", "top_items", "evidence", "sparse", "interval_level", "share_low", "share_high", "index_low",
              "index_high")


@dataclass
class Setup:
    """One test's private topology: topic names, app id, ports, state dir."""

    bootstrap: str
    tmp: Path
    app_id: str = field(default_factory=lambda: unique("tension-test"))
    partitions: int = 2
    grace_hours: float = 6.0
    store: str = "rocksdb://"
    batch_max: int = 500

    def __post_init__(self) -> None:
        tag = self.app_id.rsplit("-", 1)[-1]
        self.topics = TopicConfig(raw=f"t.raw-{tag}", classified=f"t.classified-{tag}", index=f"t.index-{tag}",
                                  alerts=f"t.alerts-{tag}", deadletter=f"t.dead-{tag}",
                                  partitions=self.partitions, replication=1)
        self.cfg = StreamConfig(bootstrap=self.bootstrap, app_id=self.app_id, topics=self.topics,
                                index=IndexConfig(grace_hours=self.grace_hours))
        apply_specs(self.bootstrap, topic_specs(self.cfg).values())

    def env(self, web_port: int, state: str) -> dict[str, str]:
        t = self.topics
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
        env.update({
            "TENSION_KAFKA_BOOTSTRAP": self.bootstrap, "TENSION_KAFKA__PARTITIONS": str(self.partitions),
            "TENSION_TOPICS__RAW": t.raw, "TENSION_TOPICS__CLASSIFIED": t.classified, "TENSION_TOPICS__INDEX": t.index,
            "TENSION_TOPICS__ALERTS": t.alerts, "TENSION_TOPICS__DEADLETTER": t.deadletter,
            "TENSION_STREAM__APP_ID": self.app_id, "TENSION_STREAM__STORE": self.store,
            "TENSION_STREAM__DATA_DIR": str(self.tmp / state), "TENSION_STREAM__WEB_PORT": str(web_port),
            "TENSION_STREAM__GRACE_HOURS": str(self.grace_hours), "TENSION_STREAM__BATCH_MAX": str(self.batch_max),
            "TENSION_STREAM__STANDBY_REPLICAS": "1", "TENSION_STREAM__SESSION_TIMEOUT_S": "8",
        })
        return env


class Worker:
    """`python -m tension worker` as a subprocess with its own port, state dir and log."""

    def __init__(self, setup: Setup, name: str = "w1") -> None:
        self.setup = setup
        self.name = name
        self.port = free_port_block(span=2)
        self.log = setup.tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> "Worker":
        self.runs += 1
        with open(self.log, "ab") as out:
            out.write(f"\n===== start #{self.runs}\n".encode())
            self.proc = subprocess.Popen([sys.executable, "-m", "tension", "worker", "--loglevel", "info"],
                                         env=self.setup.env(self.port, f"state-{self.name}"), cwd=PROJECT_ROOT,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                return exc.code, json.loads(body or b"null")
            except ValueError:  # a 500 from aiohttp before the router knows the changelog topic
                return exc.code, body.decode(errors="replace")


def seed_items() -> list[NewsItem]:
    """The seed corpus and the London text, read exactly as `tension produce` reads them."""
    from connectors.sources.inputs import read_inputs
    from connectors.sources.normalize import ReadOptions

    paths = [str(p) for p in sorted((PROJECT_ROOT / "seeds" / "corpus").glob("*.jsonl"))]
    paths.append(str(PROJECT_ROOT / "seeds" / "london-trade-talks.txt"))
    return [p for p in read_inputs(paths, ReadOptions()) if isinstance(p, NewsItem)]


def synthetic(base: list[NewsItem], n: int, seed: int = 7, span_days: int = 20) -> list[NewsItem]:
    """n new items: texts from the corpus, fresh ids, event times spread over span_days."""
    rng = random.Random(seed)
    start = min(i.published_at for i in base)
    out = []
    for k in range(n):
        src = base[k % len(base)]
        when = start + timedelta(seconds=rng.randrange(span_days * 86400))
        out.append(src.model_copy(update={"id": f"syn-{seed}-{k:06d}", "published_at": when, "url": None}))
    return out


def shuffled_within(items: list[NewsItem], max_delay: timedelta, seed: int = 11) -> list[NewsItem]:
    """Event-time order disturbed by at most max_delay: each item is sent as if up to max_delay late."""
    rng = random.Random(seed)
    keyed = [(i.published_at + max_delay * rng.random(), k, i) for k, i in enumerate(items)]
    return [i for _, _, i in sorted(keyed, key=lambda t: (t[0], t[1]))]


def flush_items(after: NewsItem, partitions: int) -> list[NewsItem]:
    """One neutral item per source partition, recent enough to close every corpus window.

    The watermark is the minimum over source partitions, so each partition
    needs one. Never in the future: brokers refuse timestamps over an hour ahead.
    """
    when = datetime.now(timezone.utc) - timedelta(minutes=2)
    assert when > after.published_at, "newest seed item is too recent to flush"
    return [NewsItem(id=f"flush-{p}-{unique('x')}", source="test", title="Weather report for the weekend",
                     body="Sunny with light winds.", published_at=when, attributes={"partition": str(p)})
            for p in range(partitions)]


class Producer:
    """confluent-kafka producer of NewsItems (Kafka timestamp = published_at) and raw bytes."""

    def __init__(self, bootstrap: str) -> None:
        from confluent_kafka import Producer as _P

        self.p = _P({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
        self.encode = AvroSerializer("NewsItem")
        self.failed: list[tuple[Any, ...]] = []

    def items(self, topic: str, items: list[NewsItem], flush: bool = True) -> None:
        """Send items; one whose attributes name a ``partition`` goes to that partition."""
        for item in items:
            part = item.attributes.get("partition")
            self.bytes(topic, item.id.encode(), self.encode(item.to_avro()),
                       int(item.published_at.timestamp() * 1000), None if part is None else int(part))
        if flush:
            self.flush()

    def bytes(self, topic: str, key: bytes | None, value: bytes, ts_ms: int | None = None,
              partition: int | None = None) -> None:
        def report(err: object, _msg: object) -> None:
            if err is not None:
                self.failed.append((topic, key, value, ts_ms, partition, str(err)))

        extra: dict[str, int] = {"timestamp": ts_ms} if ts_ms else {}
        if partition is not None:
            extra["partition"] = partition
        while True:
            try:
                self.p.produce(topic, value=value, key=key, on_delivery=report, **extra)
                self.p.poll(0)
                return
            except BufferError:
                self.p.poll(0.1)

    def flush(self) -> None:
        """Wait for every delivery; re-send what failed (e.g. while the broker was still loading)."""
        errors: set[str] = set()
        for _ in range(5):
            assert self.p.flush(60) == 0
            retry, self.failed = self.failed, []
            if not retry:
                return
            errors |= {r[-1] for r in retry}
            for topic, key, value, ts_ms, partition, _err in retry:
                self.bytes(topic, key, value, ts_ms, partition)
        raise AssertionError(f"could not deliver records: {errors}")


def read_topic(bootstrap: str, topic: str, schema: str) -> list[dict[str, Any]]:
    """Every record of a topic up to its current end, decoded (no consumer group)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    decode = AvroDeserializer(schema)
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        tps, ends = [], {}
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                tps.append(TopicPartition(topic, p, lo))
                ends[p] = hi
        c.assign(tps)
        out: list[dict[str, Any]] = []
        done: dict[int, int] = {p: 0 for p in ends}
        deadline = time.monotonic() + 120
        while any(done[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for msg in c.consume(5000, timeout=1.0):
                if msg.error():
                    continue
                done[msg.partition()] = msg.offset() + 1
                out.append(decode(msg.value()))
        return out
    finally:
        c.close()


def row_key(row: dict[str, Any]) -> tuple[str, str, int]:
    start = row["window_start"]
    return row["category"], row["window_kind"], start if isinstance(start, int) else int(start.timestamp() * 1000)


def final_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Final rows by (category, kind, start); a repeated final (after a crash) must be identical."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in rows:
        if not row["final"]:
            continue
        values = {k: row[k] for k in ROW_FIELDS}
        key = row_key(row)
        assert out.setdefault(key, values) == values, f"two different finals for {key}"
    return out


def reference_finals(classified: list[dict[str, Any]], cfg: IndexConfig) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The offline reference (`tension index` over classified items): dedup by id, sort, fold.

    `classified` are ClassifiedItem records, from the topic or classified offline.
    """
    by_id = {}
    for record in classified:
        by_id.setdefault(record["item"]["id"], record)
    facts: list[Fact] = sorted((fact_of(r) for r in by_id.values()), key=lambda f: (f.ts, f.id))
    return {row_key(r): {k: r[k] for k in ROW_FIELDS} for r in reference(facts, cfg).finals}


def wait_until_counted(s: Setup, ids: set[str], worker: Worker, timeout_s: float) -> None:
    """Wait until the worker processed everything sent: its consumer group committed the end of
    news.raw.v1 and of the facts topic, and its HTTP API answers.

    Not ``meta.counted`` of the API: a SIGKILL between a batch's pane writes and its ``meta``
    write loses that batch's counter increments (the replay finds the items stored and treats
    them as duplicates), so after a crash ``counted`` can stay below the items counted in the
    windows (docs/streams.md). Faust flushes outputs before committing, so committed ends mean
    every output of every record is in Kafka.
    """
    def done() -> bool:
        assert worker.alive(), f"worker {worker.name} exited:\n{worker.tail()}"
        try:
            status, _body = worker.get("/api/categories")
        except OSError:
            return False
        return status == 200 and caught_up(s)

    wait_for(done, timeout_s, f"{len(ids)} items processed", interval_s=0.5)


def caught_up(s: Setup) -> bool:
    """The app's consumer group has committed the end offset of every raw and facts partition."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": s.app_id, "enable.auto.commit": False})
    try:  # never subscribes: reads the group's committed offsets without joining it
        tps = [TopicPartition(topic, p) for topic in (s.topics.raw, s.cfg.facts_topic)
               for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
        committed = c.committed(tps, timeout=10)
        ends = [c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
        return all(tp.offset >= end for tp, end in zip(committed, ends))
    finally:
        c.close()


def live_and_reference(s: Setup, items: list[NewsItem], worker: Worker,
                       timeout_s: float) -> tuple[dict, dict]:
    """Wait for the worker; return the live final rows and the offline reference for `items`.

    The reference classifies the very items offline (the function `tension
    classify` uses) and folds them with the offline index (`tension index`), so
    it shares nothing with the live run but the code under test.
    """
    ids = {i.id for i in items}
    wait_until_counted(s, ids, worker, timeout_s)
    offline = {i.id: classify_news(i.to_avro()) for i in items}
    live_classified = read_topic(s.bootstrap, s.topics.classified, "ClassifiedItem")
    assert {r["item"]["id"] for r in live_classified} == ids, "classified items differ from those sent"
    for record in live_classified:
        want = offline[record["item"]["id"]]
        assert (record["categories"], record["tension"]) == (want["categories"], want["tension"])
    expected = reference_finals(list(offline.values()), s.cfg.index)
    live = wait_for_finals(s, expected, [worker], 60)
    return live, expected


def wait_for_finals(s: Setup, expected: dict[tuple[str, str, int], Any], workers: list[Worker],
                    timeout_s: float) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Poll the index topic until every expected final row is there (or a worker died)."""
    def ready() -> Any:
        for w in workers:
            assert w.alive(), f"worker {w.name} exited:\n{w.tail()}"
        got = final_rows(read_topic(s.bootstrap, s.topics.index, "TensionIndexUpdate"))
        return got if expected.keys() <= got.keys() else None

    return wait_for(ready, timeout_s, "every final index row", interval_s=2.0)  # type: ignore[return-value]


def end_offset(bootstrap: str, topic: str) -> int:
    """Sum of the end offsets of every partition of a topic."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("offsets")})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        c.close()
