"""The fault cases' pipeline on a shared three-node cluster (used by bench/faults.py and
tests/integration/devenv/localkafka/test_cluster_faults.py): replicated topics, worker and sink subprocesses,
a steady feeder, a watcher of the outputs, and the comparison with the offline reference.

Kept apart from bench/faults.py (the cases and the table) so each module stays short.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.models import NewsItem
from schemas.serde import AvroDeserializer
from streams.config import IndexConfig, StreamConfig, TopicConfig
from streams.processing import classify_news
from streams.topics import topic_specs
from tension.admin import apply_specs
from devenv.localkafka import LocalCluster
from tests.helpers import unique, wait_for
from tests.integration.connectors.sinks.sink_support import SinkProcess, Topics, fully_committed, sink_env
from tests.integration.streams.stream_support import (
    ROW_FIELDS, Producer, Setup, Worker, caught_up, flush_items, reference_finals, seed_items,
    shuffled_within, synthetic,
)


@dataclass
class ReplicatedSetup(Setup):
    """The stream tests' Setup at replication 3, with a worker session timeout and standby count."""

    replication: int = 3
    session_timeout_s: float = 6.0
    standby: int = 1

    def __post_init__(self) -> None:
        tag = self.app_id.rsplit("-", 1)[-1]
        self.topics = TopicConfig(raw=f"t.raw-{tag}", classified=f"t.classified-{tag}", index=f"t.index-{tag}",
                                  alerts=f"t.alerts-{tag}", deadletter=f"t.dead-{tag}",
                                  partitions=self.partitions, replication=self.replication)
        self.cfg = StreamConfig(bootstrap=self.bootstrap, app_id=self.app_id, topics=self.topics,
                                index=IndexConfig(grace_hours=self.grace_hours))
        apply_specs(self.bootstrap, topic_specs(self.cfg).values())

    def env(self, web_port: int, state: str) -> dict[str, str]:
        env = super().env(web_port, state)
        env.update({"TENSION_KAFKA__REPLICATION": str(self.replication),
                    "TENSION_STREAM__STANDBY_REPLICAS": str(self.standby),
                    "TENSION_STREAM__SESSION_TIMEOUT_S": str(self.session_timeout_s)})
        return env


class Watcher:
    """Reads the classified and index topics as they grow: arrival time of every record."""

    def __init__(self, s: ReplicatedSetup) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.s = s
        self.c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": unique("watch"),
                           "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        self.c.assign([TopicPartition(t, p, 0) for t in (s.topics.classified, s.topics.index)
                       for p in range(s.partitions)])
        self.decode = AvroDeserializer("ClassifiedItem")
        self.seen: list[tuple[float, str, int, int, str | None]] = []  # (t, topic, partition, offset, item id)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            for msg in self.c.consume(500, timeout=0.2):
                if msg.error():
                    continue
                item_id = self.decode(msg.value())["item"]["id"] if msg.topic() == self.s.topics.classified else None
                with self.lock:
                    self.seen.append((time.monotonic(), msg.topic(), msg.partition(), msg.offset(), item_id))
        self.c.close()

    def ends(self) -> dict[tuple[str, int], int]:
        """End offsets now: the line between records written before and after a fault."""
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.s.bootstrap, "group.id": unique("ends")})
        try:
            return {(t, p): c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
                    for t in (self.s.topics.classified, self.s.topics.index) for p in range(self.s.partitions)}
        finally:
            c.close()

    def resumed_after(self, fault_at: float, ends: dict[tuple[str, int], int],
                      raw_partition: dict[str, int]) -> float | None:
        """Seconds from the fault until every raw partition and the index stage wrote again (or None)."""
        first: dict[str, float] = {}
        with self.lock:
            for t, topic, part, off, item_id in self.seen:
                if off < ends[(topic, part)]:
                    continue
                stage = "index" if item_id is None else f"raw-{raw_partition.get(item_id, -1)}"
                first.setdefault(stage, t)
        wanted = {"index"} | {f"raw-{p}" for p in range(self.s.partitions)}
        return max(first[k] for k in wanted) - fault_at if wanted <= first.keys() else None

    def stop(self) -> None:
        self.done.set()
        self.thread.join(10)


def case_items(n: int, partitions: int, seed: int) -> tuple[list[NewsItem], list[NewsItem]]:
    """(reference items, send order): n corpus items spread over 5 days, each pinned to a raw
    partition (round robin), then one flush item per partition to close every window."""
    items = [i.model_copy(update={"attributes": {**i.attributes, "partition": str(k % partitions)}})
             for k, i in enumerate(synthetic(seed_items(), n, seed=seed, span_days=5))]
    flush = flush_items(max(items, key=lambda i: i.published_at), partitions)
    return items + flush, shuffled_within(items, timedelta(hours=3), seed=seed) + flush


class Feeder:
    """Sends the items at a steady rate from a thread (idempotent, acks=all), flushes at the end.

    ``phases`` > 1 splits the items into that many equal parts; the first is sent at once,
    each next one only after :meth:`advance`. Why: a fault schedule with several steps (the
    rolling restart) must have items in flight at every step, however long the steps take on
    a loaded host; a feed paced by the clock alone can run dry before the last step, and then
    no resumption can be observed.
    """

    def __init__(self, s: ReplicatedSetup, items: list[NewsItem], rate_per_s: float, phases: int = 1) -> None:
        self.producer = Producer(s.bootstrap)
        self.error: BaseException | None = None
        size = -(-len(items) // phases)
        self.parts = [items[k:k + size] for k in range(0, len(items), size)]
        self.gates = [threading.Event() for _ in self.parts]
        self.gates[0].set()
        self._next = 1
        self.thread = threading.Thread(target=self._run, args=(s.topics.raw, rate_per_s), daemon=True)
        self.thread.start()

    def advance(self) -> None:
        """Let the next part go (a no-op once every part has been released)."""
        if self._next < len(self.gates):
            self.gates[self._next].set()
            self._next += 1

    def _run(self, topic: str, rate: float) -> None:
        try:
            for part, gate in zip(self.parts, self.gates):
                while not gate.wait(1.0):
                    pass
                started, step = time.monotonic(), 10
                for k in range(0, len(part), step):
                    self.producer.items(topic, part[k:k + step], flush=False)
                    pause = started + (k + step) / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)  # pacing the load, not waiting for a condition
            self.producer.flush()
        except BaseException as exc:  # surfaced by join()
            self.error = exc

    def join(self, timeout_s: float) -> None:
        for _ in self.gates:  # whatever the case did, every part is sent
            self.advance()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "feeder did not finish"
        if self.error:
            raise self.error


@dataclass
class Pipeline:
    """One case's topics, workers, sink and watcher on the shared cluster."""

    cluster: LocalCluster
    s: ReplicatedSetup
    workers: list[Worker]
    sink: SinkProcess
    sink_group: str
    db: Path
    watcher: Watcher

    killed: set[str] = field(default_factory=set)  # names of workers the case SIGKILLed

    def check_alive(self) -> None:
        for w in self.workers:
            assert w.alive() or w.name in self.killed, f"worker {w.name} exited:\n{w.tail()}"
        assert self.sink.alive(), f"sink exited:\n{self.sink.log()[-3000:]}"

    def sink_topics(self) -> dict[str, str]:
        t = self.s.topics
        return Topics(t.classified, t.index, t.alerts, t.deadletter).kinds()

    def classified(self) -> int:
        return len(self.classified_ids())

    def classified_ids(self) -> set[str]:
        with self.watcher.lock:
            return {row[4] for row in self.watcher.seen if row[4] is not None}


@contextmanager
def pipeline(cluster: LocalCluster, tmp: Path, n_workers: int, standby: int) -> Iterator[Pipeline]:
    tmp.mkdir(parents=True, exist_ok=True)
    s = ReplicatedSetup(cluster.bootstrap, tmp, standby=standby)
    db = tmp / "store.sqlite"
    group = unique("g.faults.sqlite")
    topics = Topics(s.topics.classified, s.topics.index, s.topics.alerts, s.topics.deadletter)
    env = sink_env(cluster.bootstrap, topics, TENSION_SINK__SQLITE_PATH=str(db), TENSION_SINK__BATCH_SIZE="100",
                   TENSION_SINK__BATCH_SECONDS="0.3", TENSION_SINK__SESSION_TIMEOUT_MS="6000")
    sink = SinkProcess("sqlite", ["--group", group], env, tmp / "sink.log")
    workers = [Worker(s, f"w{k + 1}") for k in range(n_workers)]
    watcher = Watcher(s)
    p = Pipeline(cluster, s, workers, sink, group, db, watcher)
    try:
        sink.start()
        for w in workers:
            w.start()
        yield p
    finally:
        watcher.stop()
        for w in workers:
            w.stop()
        sink.stop()


def topic_isr(cluster: LocalCluster, tag: str) -> dict[tuple[str, int], list[int]]:
    """In-sync replicas of every partition of the topics whose name contains `tag`."""
    from confluent_kafka.admin import AdminClient

    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)
    return {(name, pid): sorted(part.isrs) for name, t in md.topics.items() if tag in name
            for pid, part in t.partitions.items()}


def leader_of(cluster: LocalCluster, topic: str, partition: int = 0) -> int:
    from confluent_kafka.admin import AdminClient

    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10)
    return md.topics[topic].partitions[partition].leader


def wait_full_isr(cluster: LocalCluster, tag: str, timeout_s: float) -> None:
    def full() -> bool:
        isr = topic_isr(cluster, tag)
        return bool(isr) and all(len(r) == 3 for r in isr.values())

    wait_for(full, timeout_s, f"every partition of *{tag}* back to 3 in-sync replicas", interval_s=0.5)


def index_owner(p: Pipeline) -> Worker:
    """The worker whose latest assignment holds the facts partition (hence the index table)."""
    def owner() -> Worker | None:
        for w in p.workers:
            text = w.log.read_text(errors="replace") if w.log.exists() else ""
            last = text.rfind("newly assigned")
            if last >= 0 and p.s.cfg.facts_topic in text[last:last + 4000]:
                return w
        return None

    return wait_for(owner, 60, "a worker to own the facts partition")  # type: ignore[return-value]


def sqlite_state(db: Path) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str, int], dict[str, Any]]]:
    """(item id -> (categories, tension), final index rows keyed like the reference)."""
    if not db.exists():
        return {}, {}
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            items = {i: (json.loads(c), t) for i, c, t in conn.execute("SELECT item_id, categories, tension FROM items")}
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM index_rows WHERE final = 1").fetchall()
        except sqlite3.OperationalError:
            return {}, {}
    finals = {}
    for r in rows:
        start = int(datetime.fromisoformat(r["window_start"]).timestamp() * 1000)
        values = {k: (json.loads(r[k]) if k == "top_items" else r["index" if k == "index" else k]) for k in ROW_FIELDS}
        finals[(r["category"], r["window_kind"], start)] = values
    return items, finals


def settle(p: Pipeline, items: list[NewsItem], timeout_s: float) -> tuple[int, int, list[str]]:
    """Wait until everything is processed and stored; return (lost, doubled, differences)."""
    offline = {i.id: classify_news(i.to_avro()) for i in items}
    expected_items = {i: (r["categories"], r["tension"]) for i, r in offline.items()}
    expected = reference_finals(list(offline.values()), p.s.cfg.index)

    progress: dict[str, object] = {}

    def stored() -> bool:
        p.check_alive()
        got_items, got_finals = sqlite_state(p.db)
        progress.update(items=f"{len(got_items.keys() & expected_items.keys())}/{len(expected_items)}",
                        finals=f"{len(got_finals.keys() & expected.keys())}/{len(expected)}",
                        app_committed=caught_up(p.s),
                        sink_committed=fully_committed(p.s.bootstrap, p.sink_group, p.sink_topics()))
        # The feed is over: once both groups committed every end offset, nothing more will come
        # (Faust flushes outputs before it commits), so a shortfall then is a loss, not a lag.
        return bool(progress["app_committed"]) and bool(progress["sink_committed"])

    try:
        wait_for(stored, timeout_s, "every item and final row stored, every group committed", interval_s=1.0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; progress {progress}; classified {p.classified()}") from None
    got_items, got_finals = sqlite_state(p.db)
    lost = len(expected_items.keys() - got_items.keys())
    diffs = [f"item {i}: {got_items.get(i)} != {v}" for i, v in expected_items.items() if got_items.get(i) != v]
    diffs += [f"unexpected item {i}" for i in got_items.keys() - expected_items.keys()]
    doubled = 0
    for key, want in expected.items():
        got = got_finals.get(key)
        if got != want:
            diffs.append(f"row {key}: {got} != {want}")
        if key[0] == "overall" and key[1] == "tumbling":
            delta = (got or {"n_total": 0})["n_total"] - want["n_total"]
            doubled += max(delta, 0)
            lost += max(-delta, 0)
    return lost, doubled, diffs
