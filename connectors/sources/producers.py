"""Two interchangeable idempotent Kafka producers behind one small interface.

The project depends on kafka-python; confluent-kafka (librdkafka) is an
optional extra. Both are configured the same way — ``acks=all`` and
idempotence on, so a retried send never duplicates or reorders a record — and
``bench/producer.py`` measures them. confluent-kafka measured several times
faster (about 38x on acks=all + idempotence, see docs/contracts.md), so ``auto`` picks it when installed and falls
back to kafka-python otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from connectors.sources.exceptions import PublishError

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[Exception | None], None]
BACKENDS = ("auto", "confluent", "kafka-python")


class Producer(Protocol):
    """What the publisher needs from a Kafka client."""

    backend: str

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None: ...

    def poll(self) -> None: ...

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding deliveries; return how many are still pending."""
        ...

    def close(self) -> None: ...


class DeliveryError(Exception):
    """The broker refused (or never acknowledged) one record."""


class ConfluentProducer:
    """librdkafka: batches in C, delivery reports come back through ``poll``."""

    backend = "confluent"

    def __init__(self, bootstrap: str, *, client_id: str, delivery_timeout_s: float) -> None:
        from confluent_kafka import Producer as _Producer

        self._producer = _Producer({
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            "message.timeout.ms": int(delivery_timeout_s * 1000),
        }, logger=logging.getLogger("librdkafka"))  # librdkafka's own log lines go through logging
        # librdkafka connects lazily and would retry for message.timeout.ms; fail fast instead.
        try:
            self._producer.list_topics(timeout=min(15.0, delivery_timeout_s))
        except Exception as exc:  # KafkaException, with librdkafka's own error text
            raise PublishError(f"cannot reach Kafka: {exc}", bootstrap=bootstrap, topic="-") from exc

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None:
        def report(err: object, _msg: object) -> None:
            on_done(DeliveryError(str(err)) if err is not None else None)

        kwargs = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=report, **kwargs)
                return
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(0.1)

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout_s: float) -> int:
        return int(self._producer.flush(timeout_s))

    def close(self) -> None:
        self._producer.flush(0)


class KafkaPythonProducer:
    """kafka-python: pure Python, always installed."""

    backend = "kafka-python"

    def __init__(self, bootstrap: str, *, client_id: str, delivery_timeout_s: float) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap.split(","),
                client_id=client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                delivery_timeout_ms=int(delivery_timeout_s * 1000),
                request_timeout_ms=min(30_000, int(delivery_timeout_s * 1000)),
            )
        except KafkaError as exc:
            raise PublishError(f"cannot connect: {exc}", bootstrap=bootstrap, topic="-") from exc
        self._pending = 0

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None:
        self._pending += 1

        def ok(_metadata: object) -> None:
            self._pending -= 1
            on_done(None)

        def failed(exc: Exception) -> None:
            self._pending -= 1
            on_done(DeliveryError(f"{type(exc).__name__}: {exc}"))

        future = self._producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms)
        future.add_callback(ok)
        future.add_errback(failed)

    def poll(self) -> None:
        """Callbacks run on kafka-python's sender thread; nothing to serve here."""

    def flush(self, timeout_s: float) -> int:
        from kafka.errors import KafkaTimeoutError

        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaTimeoutError:
            log.warning("kafka-python flush timed out after %.0fs", timeout_s)
        return self._pending

    def close(self) -> None:
        self._producer.close(timeout=5)


def open_producer(bootstrap: str, *, backend: str = "auto", client_id: str = "tension-produce",
                  delivery_timeout_s: float = 60.0) -> Producer:
    """Build the chosen backend; ``auto`` prefers confluent-kafka (faster) when installed."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown producer backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        try:
            import confluent_kafka  # noqa: F401
            backend = "confluent"
        except ImportError:
            backend = "kafka-python"
    cls = ConfluentProducer if backend == "confluent" else KafkaPythonProducer
    log.debug("producer backend: %s", backend)
    return cls(bootstrap, client_id=client_id, delivery_timeout_s=delivery_timeout_s)
