"""The sink framework: consume → decode → batch → write → commit, done once for every store.

A store only implements :class:`Sink` (open, write a batch in one transaction,
close). :class:`SinkRunner` owns the Kafka side: offsets are committed only
after ``write_batch`` returned (the store's transaction committed), so a crash
replays at most the last batch, and idempotent upserts absorb the replay.
Records that cannot be decoded go to the dead-letter topic with their
coordinates; store errors are retried with backoff while the consumer is paused.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition

from connectors.exceptions import SinkWriteError
from schemas.serde import AvroDeserializer, AvroSerializer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkRecord:
    """One decoded record with the coordinates it came from."""

    kind: str  # "item", "index" or "alert": which table it belongs to
    value: dict[str, Any]
    topic: str
    partition: int
    offset: int


class Sink(abc.ABC):
    """A store the runner writes to. Implementations hold no Kafka logic."""

    name: str = "sink"

    @abc.abstractmethod
    def open(self) -> None:
        """Called once before the first batch: connect, create or migrate tables."""

    @abc.abstractmethod
    def write_batch(self, records: list[SinkRecord]) -> None:
        """Called with each batch: write every record in ONE transaction and commit it.

        Must be idempotent (upserts): after a crash the runner replays records
        whose offsets were not committed. Raise on failure; the runner retries.
        """

    def close(self) -> None:
        """Called once at shutdown, after the last batch was committed."""


#: record kind → Avro record name on the wire
KIND_SCHEMAS: Mapping[str, str] = {"item": "ClassifiedItem", "index": "TensionIndexUpdate", "alert": "Alert"}


class SinkRunner:
    """Drives one Sink from Kafka topics; stop() from another thread or a signal."""

    def __init__(self, sink: Sink, *, bootstrap: str, topics: Mapping[str, str], group_id: str,
                 deadletter_topic: str, batch_size: int = 500, batch_seconds: float = 1.0,
                 max_retry_s: float = 30.0, on_batch: Callable[[int], None] | None = None) -> None:
        if batch_size < 1 or batch_seconds <= 0:
            raise ValueError("batch_size must be >= 1 and batch_seconds > 0")
        unknown = set(topics.values()) - set(KIND_SCHEMAS)
        if unknown:
            raise ValueError(f"unknown record kinds {unknown}; expected {sorted(KIND_SCHEMAS)}")
        self.sink = sink
        self.topics = dict(topics)  # topic name → kind
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.deadletter_topic = deadletter_topic
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.max_retry_s = max_retry_s
        self.on_batch = on_batch
        self._decoders = {k: AvroDeserializer(v) for k, v in KIND_SCHEMAS.items()}
        self._dead = AvroSerializer("DeadLetter")
        self._stop = threading.Event()
        self.written = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        consumer = KafkaConsumer(
            *self.topics, bootstrap_servers=self.bootstrap, group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=self.batch_size,
            client_id=f"{self.group_id}-{self.sink.name}",
        )
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        self.sink.open()
        log.info("%s sink consuming %s as group %s", self.sink.name, sorted(self.topics), self.group_id)
        try:
            while not self._stop.is_set():
                batch, offsets = self._collect(consumer, producer)
                if batch or offsets:
                    self._write_with_retry(consumer, batch)
                    producer.flush()  # dead letters durable before their offsets are committed
                    consumer.commit(offsets)
                    self.written += len(batch)
                    if self.on_batch:
                        self.on_batch(len(batch))
        finally:
            consumer.close(autocommit=False)
            producer.close()
            self.sink.close()
            log.info("%s sink stopped: %d rows written, %d dead letters", self.sink.name,
                     self.written, self.dead_lettered)

    def _collect(self, consumer: KafkaConsumer, producer: KafkaProducer) -> tuple[list[SinkRecord], dict]:
        batch: list[SinkRecord] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            polled = consumer.poll(timeout_ms=int(remaining * 1000), max_records=self.batch_size - len(batch))
            for tp, messages in polled.items():
                for msg in messages:
                    kind = self.topics[msg.topic]
                    try:
                        value = self._decoders[kind](msg.value)
                    except Exception as exc:
                        self._dead_letter(producer, msg, exc)
                    else:
                        batch.append(SinkRecord(kind, value, msg.topic, msg.partition, msg.offset))
                    offsets[tp] = OffsetAndMetadata(msg.offset + 1, "", -1)
        return batch, offsets

    def _write_with_retry(self, consumer: KafkaConsumer, batch: list[SinkRecord]) -> None:
        """Retry until the store takes the batch; pause fetching meanwhile (backpressure)."""
        delay = 0.2
        attempt = 0
        while True:
            attempt += 1
            try:
                if batch:
                    self.sink.write_batch(batch)
                if attempt > 1:
                    consumer.resume(*consumer.assignment())
                return
            except Exception as exc:
                if self._stop.is_set():
                    raise SinkWriteError(self.sink.name, batch, exc) from exc
                log.warning("%s write of %d rows failed (attempt %d), retrying in %.1fs: %s",
                            self.sink.name, len(batch), attempt, delay, exc)
                consumer.pause(*consumer.assignment())
                self._stop.wait(delay)
                consumer.poll(timeout_ms=0)  # keep group membership alive while paused
                delay = min(delay * 2, self.max_retry_s)

    def _dead_letter(self, producer: KafkaProducer, msg: Any, exc: Exception) -> None:
        log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
        producer.send(self.deadletter_topic, key=msg.key, value=self._dead({
            "original": msg.value or b"", "original_key": msg.key, "source_topic": msg.topic,
            "source_partition": msg.partition, "source_offset": msg.offset, "source_ref": None,
            "error_class": type(exc).__name__, "error_message": str(exc)[:2000], "reason": "decode",
            "stage": f"sink:{self.sink.name}", "attempt": 1, "failed_at": datetime.now(timezone.utc),
        }))
        self.dead_lettered += 1
