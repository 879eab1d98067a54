"""A sink's dead letters: built in one place, sent as they occur, durable before their offsets commit.

Two parts of a sink find records it cannot store — the runner (undecodable
bytes, ``reason="decode"``) and the writer (records the store rejects on their
own, ``reason="constraint"``) — and both hand them here, so the letter's fields,
the producer and the rule "a dead letter is delivered before the offset of its
record is committed" exist once. The record itself comes from the product's one
builder, :func:`schemas.deadletters.build` (the same limits and reasons as the
producer's and the worker's letters).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException

from connectors.exceptions import DeadLetterError
from connectors.sinks.clients import DeadLetterProducer
from connectors.sinks.metrics import SinkMetrics
from schemas.deadletters import build as build_dead_letter
from schemas.deadletters import cut_key

log = logging.getLogger(__name__)

Coordinates = tuple[str, int, int]  # (topic, partition, offset) of the record a letter is for


class DeadLetters:
    """The dead letters of one sink runner; ``open`` gives it the producer's librdkafka settings."""

    def __init__(self, topic: str, serialize: Callable[[dict[str, Any]], bytes], stage: str,
                 metrics: SinkMetrics) -> None:
        self.topic = topic
        self.serialize = serialize
        self.stage = stage  # e.g. "sink:sqlite", carried by every letter
        self.metrics = metrics
        self.producer: Any = None  # a DeadLetterProducer once opened (tests put a fake here)
        self.pending: list[tuple[Any, Coordinates]] = []  # (delivery, coordinates) not yet settled
        self.count = 0

    def open(self, conf: dict[str, Any]) -> None:
        self.producer = DeadLetterProducer(conf)

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close()

    def letter(self, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes, reason: str,
               error_class: str, message: str) -> dict[str, Any]:
        """The ``DeadLetter`` record for one source record, as the serializer's dict."""
        return build_dead_letter(raw, reason=reason, stage=self.stage, error_class=error_class, error_message=message,
                                 key=key, topic=topic, partition=partition, offset=offset).to_avro()

    def send(self, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes, reason: str,
             error_class: str, message: str) -> None:
        """Log and send one letter (keyed like its record); :meth:`settle` waits for its delivery."""
        log.warning("dead-lettering %s[%d]@%d (%s): %s", topic, partition, offset, reason, message[:300],
                    extra={"topic": topic, "partition": partition, "offset": offset, "reason": reason})
        value = self.serialize(self.letter(topic, partition, offset, key, raw, reason, error_class, message))
        self.pending.append((self.producer.send(self.topic, key=cut_key(key), value=value), (topic, partition, offset)))
        self.count += 1
        self.metrics.dead_lettered(reason)

    def rejected(self) -> set[Coordinates]:
        """Coordinates of the records lettered since the last :meth:`settle` (the batch under way)."""
        return {coords for _, coords in self.pending}

    def settle(self) -> None:
        """Wait until every pending letter is delivered; raise :class:`DeadLetterError` for one that is not.

        Called before the batch's offsets are committed: a record whose letter is not durable
        must be read again after a restart, never skipped.
        """
        if not self.pending:
            return
        self.producer.flush(30)
        for delivery, (topic, partition, offset) in self.pending:
            try:
                delivery.get(timeout=30)
            except KafkaException as exc:
                raise DeadLetterError(topic, partition, offset, exc) from exc
        self.pending = []
