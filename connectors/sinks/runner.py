"""The sink's consumer loop: consume → decode → batch → write → commit, done once for every store.

:class:`SinkRunner` owns the Kafka side of a :class:`connectors.sinks.base.Sink`,
so every store gets the same guarantees:

* **Commit after write.** Offsets are committed only after the batch was
  written and flushed (:mod:`connectors.sinks.writer`), i.e. after the store's
  transaction committed, and after the batch's dead letters were delivered
  (:mod:`connectors.sinks.deadletters`). The commit is sent asynchronously (a
  synchronous one waited a broker round trip per batch, a sixth of the sink's
  time) and a clean stop commits synchronously; a crash replays at most the
  batches whose commit had not completed, and idempotent upserts absorb the replay.
* **Bounded batches.** A batch closes at ``batch_size`` records or after
  ``batch_seconds``, whichever comes first; nothing else is buffered.
* **Backpressure.** While the store refuses a batch the runner pauses every
  assigned partition, retries with exponential backoff (capped) and keeps the
  group membership alive; it never fetches ahead of what was written.
* **Bad input never blocks.** Undecodable records, and records the store
  rejects on their own (constraint or data errors, found by splitting the
  batch), go to the dead-letter topic with the reason; the sink keeps going.
* **Rebalance safety.** Records of partitions revoked mid-batch are dropped
  from the batch, never committed by this member: the new owner replays them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from connectors.exceptions import KafkaAccessError, SinkConfigError
from connectors.sinks.base import KIND_ROLES, KIND_SCHEMAS, Sink, SinkRecord
from connectors.sinks.clients import REBALANCED as _REBALANCED
from connectors.sinks.clients import REFUSALS as _REFUSALS
from connectors.sinks.deadletters import DeadLetters
from connectors.sinks.metrics import SinkMetrics
from connectors.sinks.writer import BatchWriter
from schemas.connection import KafkaConnection
from schemas.registry import RegistryConfig
from schemas.serde import TopicSerdes

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    """The records being collected and the next offset of each partition they came from."""

    records: list[SinkRecord] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) → next offset

    def drop(self, revoked: Collection[TopicPartition]) -> int:
        gone = {(tp.topic, tp.partition) for tp in revoked}
        before = len(self.records)
        self.records = [r for r in self.records if (r.topic, r.partition) not in gone]
        for key in gone:
            self.offsets.pop(key, None)
        return before - len(self.records)


class SinkRunner:
    """Drives one Sink from Kafka topics; ``stop()`` from another thread or a signal handler.

    The Kafka side is confluent-kafka (librdkafka): it reads every compression
    codec (gzip, snappy, lz4, zstd) and takes the same security settings as the
    producer and the admin client (a speed comparison with kafka-python for this
    loop is not measured yet). ``connection`` carries the
    security settings; its bootstrap servers are replaced by ``bootstrap``.
    ``registry`` set: dead letters are Confluent-framed and registered under
    ``<deadletter_topic>-value``, like every other writer's (``TopicSerdes``).
    """

    def __init__(self, sink: Sink, *, bootstrap: str, topics: Mapping[str, str], group_id: str,
                 deadletter_topic: str, batch_size: int = 500, batch_seconds: float = 1.0,
                 retry_initial_s: float = 0.2, max_retry_s: float = 5.0, session_timeout_ms: int = 10_000,
                 group_instance_id: str | None = None, registry: RegistryConfig | str | None = None,
                 on_batch: Callable[[int], None] | None = None, progress_every_s: float = 30.0,
                 connection: KafkaConnection | None = None, metrics: SinkMetrics | None = None) -> None:
        if batch_size < 1 or batch_seconds <= 0:
            raise SinkConfigError("batch_size must be >= 1 and batch_seconds > 0")
        if not 0 < retry_initial_s <= max_retry_s:
            raise SinkConfigError("need 0 < retry_initial_s <= max_retry_s")
        if not topics or not group_id or not deadletter_topic:
            raise SinkConfigError("topics, group_id and deadletter_topic are required")
        unknown = set(topics.values()) - set(KIND_SCHEMAS)
        if unknown:
            raise SinkConfigError(f"unknown record kinds {unknown}; expected {sorted(KIND_SCHEMAS)}")
        if deadletter_topic in topics:
            raise SinkConfigError("the dead-letter topic cannot also be a source topic")
        self.sink = sink
        self.topics = dict(topics)  # topic name → kind
        self.bootstrap = bootstrap
        self.connection = (connection or KafkaConnection()).with_bootstrap(bootstrap)
        self.group_id = group_id
        self.deadletter_topic = deadletter_topic
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.retry_initial_s = retry_initial_s
        self.max_retry_s = max_retry_s
        self.session_timeout_ms = session_timeout_ms
        self.group_instance_id = group_instance_id
        self.on_batch = on_batch
        self.progress_every_s = progress_every_s
        self._progress_at = (time.monotonic(), 0)  # (when, rows written then) of the last progress line
        serdes = TopicSerdes({"deadletter": deadletter_topic,
                              **{KIND_ROLES[kind]: topic for topic, kind in self.topics.items()}}, registry)
        self._decoders = {kind: serdes.deserializer(role) for kind, role in KIND_ROLES.items()}
        self._stop = threading.Event()
        self._batch = _Batch()
        self._sent: dict[tuple[str, int], int] = {}  # next offsets whose commit was sent, of partitions owned
        self._refused: KafkaAccessError | None = None  # set by librdkafka's error callback
        self._warned: set[tuple[str, int]] = set()
        self.written = 0
        self.metrics = metrics or SinkMetrics(sink.name)  # Prometheus counters and /healthz, /readyz state
        self.dead_letters = DeadLetters(deadletter_topic, serdes.serializer("deadletter"), f"sink:{sink.name}",
                                        self.metrics)
        self.writer = BatchWriter(sink, self.dead_letters, self.metrics, retry_initial_s=retry_initial_s,
                                  max_retry_s=max_retry_s, stop=self._stop)

    @property
    def dead_lettered(self) -> int:
        return self.dead_letters.count

    @property
    def retries(self) -> int:
        return self.writer.retries

    def stop(self) -> None:
        """Finish the current batch (write and commit it), then return from :meth:`run`."""
        self._stop.set()

    def _client_conf(self, **properties: Any) -> dict[str, Any]:
        return self.connection.librdkafka(**properties, logger=logging.getLogger("librdkafka"),
                                          error_cb=self._on_client_error)

    def _on_client_error(self, err: KafkaError) -> None:
        """librdkafka's error callback: remember refusals (raised by the loop), log the rest once per kind."""
        if err.code() in _REFUSALS or err.fatal():
            self._refused = KafkaAccessError(f"{self.sink.name} sink", self.connection.redact(err.str()))
        elif (err.code(), 0) not in self._warned:
            self._warned.add((err.code(), 0))
            log.warning("%s sink: Kafka client error (retrying): %s", self.sink.name,
                        self.connection.redact(err.str()))

    def run(self) -> None:
        self.sink.open()
        conf = {
            "group.id": self.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(self.session_timeout_ms // 5, 100),
            "client.id": f"{self.group_id}-{self.sink.name}",
        }
        if self.group_instance_id:
            conf["group.instance.id"] = self.group_instance_id
        conf["on_commit"] = self._on_commit
        consumer = Consumer(self._client_conf(**conf))
        self.dead_letters.open(self._client_conf(
            **{"acks": "all", "enable.idempotence": True, "linger.ms": 5, "client.id": f"{self.group_id}-dead"}))
        consumer.subscribe(list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke,
                           on_lost=self._on_revoke)
        log.info("%s sink consuming %s as group %s from %s", self.sink.name, sorted(self.topics), self.group_id,
                 self.connection.describe())
        clean = False
        self.metrics.running = True
        try:
            while not self._stop.is_set():
                self._collect(consumer)
                if self._batch.offsets:
                    self._write(consumer)
                    self.dead_letters.settle()
                    self._commit(consumer)
                self._batch = _Batch()  # committed: nothing left for a revocation to drop
                self.metrics.tick(consumer)
                self._progress(consumer)
            clean = True
        finally:
            self.metrics.running = False
            if clean:
                self._final_commit(consumer)
            # librdkafka never sends LeaveGroup for a static member (group_instance_id): its partitions
            # wait for the session timeout, so the same instance can take them back at once.
            consumer.close()
            self.dead_letters.close()
            self.sink.close()
            log.info("%s sink stopped%s: %d rows written, %d dead letters, %d retries", self.sink.name,
                     "" if clean else " on an error", self.written, self.dead_lettered, self.retries)

    def _progress(self, consumer: Consumer) -> None:
        """Every ``progress_every_s``: rows written, their rate since the last line, and the lag left.

        A sink that only logs at start and stop looks the same stuck as busy; this line tells them apart.
        """
        now = time.monotonic()
        then, rows_then = self._progress_at
        if now - then < self.progress_every_s:
            return
        self._progress_at = (now, self.written)
        lag: int | None = None
        try:
            assigned = consumer.assignment()
            if assigned:
                lag = 0
                for tp in consumer.position(assigned):
                    _low, high = consumer.get_watermark_offsets(tp, timeout=2, cached=False)
                    lag += max(0, high - tp.offset) if tp.offset >= 0 else max(0, high - _low)
        except Exception as exc:  # noqa: BLE001 - a progress line must not stop the sink
            log.debug("%s: lag unknown: %s", self.sink.name, exc)
        rate = (self.written - rows_then) / (now - then)
        log.info("%s: %d rows written (%.1f rows/s), %d dead letters, %d retries, lag %s", self.sink.name,
                 self.written, rate, self.dead_lettered, self.retries, "unknown" if lag is None else lag,
                 extra={"sink": self.sink.name, "rows": self.written, "rate": round(rate, 2), "lag": lag})

    # -- rebalances ---------------------------------------------------------------------------------

    def _on_revoke(self, _consumer: Consumer, revoked: list[TopicPartition]) -> None:
        for tp in revoked:  # its next owner moves it on: a final commit of ours must never rewind it
            self._sent.pop((tp.topic, tp.partition), None)
        dropped = self._batch.drop(revoked)
        if dropped:
            log.info("%s: partitions %s revoked; %d uncommitted records left to their new owner",
                     self.sink.name, sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked), dropped)

    def _on_assign(self, _consumer: Consumer, assigned: list[TopicPartition]) -> None:
        self.sink.on_assign([(tp.topic, tp.partition) for tp in assigned])
        log.info("%s: assigned %s", self.sink.name, sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))

    # -- consume and decode -------------------------------------------------------------------------

    def _collect(self, consumer: Consumer) -> None:
        """Fill ``self._batch`` up to batch_size records or batch_seconds, whichever comes first."""
        self._batch = _Batch()
        deadline = time.monotonic() + self.batch_seconds
        while len(self._batch.records) < self.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            polled = consumer.consume(num_messages=self.batch_size - len(self._batch.records),
                                      timeout=max(remaining, 0.001))
            self._raise_refusal()
            self.metrics.consumed(polled)
            for msg in polled:
                if msg.error() is not None:
                    self._consumer_error(msg)
                else:
                    self._decode(msg)

    def _raise_refusal(self) -> None:
        if self._refused is not None:
            raise self._refused

    def _consumer_error(self, msg: Message) -> None:
        err = msg.error()
        if err.code() in _REFUSALS or err.fatal():
            raise KafkaAccessError(f"{self.sink.name} sink", self.connection.redact(err.str()), msg.topic())
        if (msg.topic() or "", err.code()) not in self._warned:  # e.g. a topic not created yet: keep waiting
            self._warned.add((msg.topic() or "", err.code()))
            log.warning("%s sink: %s: %s", self.sink.name, msg.topic(), err.str())

    def _decode(self, msg: Message) -> None:
        topic, partition, offset, key = msg.topic(), msg.partition(), msg.offset(), msg.key()
        kind = self.topics[topic]
        raw = msg.value() or b""
        try:
            value = self._decoders[kind](raw)
        except Exception as exc:
            self.dead_letters.send(topic, partition, offset, key, raw, "decode", type(exc).__name__, str(exc))
        else:
            self._batch.records.append(SinkRecord(kind, value, topic, partition, offset, key, raw))
        self._batch.offsets[(topic, partition)] = offset + 1

    # -- write (retries and bisecting live in the writer), then commit --------------------------------

    def _write(self, consumer: Consumer) -> None:
        """Write the batch; while the store refuses it, wait paused (backpressure), then resume."""
        written, attempts = self.writer.write(lambda: self._batch.records, lambda s: self._idle(consumer, s))
        if attempts > 1:
            consumer.resume(consumer.assignment())
        self.written += written
        if self.on_batch:
            self.on_batch(written)

    def _idle(self, consumer: Consumer, seconds: float) -> None:
        """Wait without fetching: pause every partition, keep polling so the group keeps us."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            consumer.pause(consumer.assignment())
            # Partitions assigned by a rebalance inside consume() start unpaused and may return
            # records: rewind to them so nothing is skipped, they are fetched again after the batch.
            first: dict[tuple[str, int], int] = {}
            for msg in consumer.consume(num_messages=self.batch_size, timeout=0):
                if msg.error() is None:
                    first.setdefault((msg.topic(), msg.partition()), msg.offset())
            for (topic, partition), offset in first.items():
                consumer.seek(TopicPartition(topic, partition, offset))
            self.metrics.tick(consumer)  # waiting on the store is alive, not stuck
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 0.5))

    def _commit(self, consumer: Consumer) -> None:
        """Send the batch's offsets (the store already holds its rows); the outcome arrives in ``_on_commit``."""
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._batch.offsets.items()]
        if not offsets:
            return
        self._sent.update(self._batch.offsets)
        self._commit_now(consumer, offsets, asynchronous=True)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's commit callback (served inside ``consume``): a failed commit is said, not retried:
        the next batch's commit carries the partition further, and a replay of what it missed is harmless."""
        if err is None:
            return
        if err.code() in _REBALANCED:
            log.warning("%s: commit refused after a rebalance (%s); records will be replayed", self.sink.name, err.str())
        elif err.code() != KafkaError._NO_OFFSET:
            log.warning("%s: commit failed (%s); the next commit or a replay covers it", self.sink.name, err.str())

    def _final_commit(self, consumer: Consumer) -> None:
        """On a clean stop: wait for the commit of everything written, for the partitions still owned."""
        try:
            owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        except KafkaException:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._sent.items() if (t, p) in owned]
        if offsets:
            self._commit_now(consumer, offsets, asynchronous=False)

    def _commit_now(self, consumer: Consumer, offsets: list[TopicPartition], *, asynchronous: bool) -> None:
        for attempt in range(1, 6):
            try:
                consumer.commit(offsets=offsets, asynchronous=asynchronous)
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if err is not None and err.code() in _REBALANCED:
                    # The group rebalanced: the rows are written; whoever owns the partitions now
                    # replays them from the last commit and the upserts make that harmless.
                    log.warning("%s: commit refused after a rebalance (%s); records will be replayed",
                                self.sink.name, err.str())
                    return
                log.warning("%s: commit failed (attempt %d): %s", self.sink.name, attempt, exc)
                self._stop.wait(min(self.retry_initial_s * 2 ** attempt, self.max_retry_s))
        log.error("%s: could not commit offsets; the last batch will be replayed after a restart", self.sink.name)
