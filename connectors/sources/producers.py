"""Two interchangeable idempotent Kafka producers behind one small interface.

The project depends on kafka-python; confluent-kafka (librdkafka) is an
optional extra. Both are configured the same way — ``acks=all`` and
idempotence on, so a retried send never duplicates or reorders a record — and
``bench/producer.py`` measures them. confluent-kafka measured several times
faster (about 38x on acks=all + idempotence, see docs/contracts.md), so ``auto`` picks it when installed and falls
back to kafka-python otherwise.

Both share the record-size limit (``max_message_bytes``: librdkafka's
``message.max.bytes``, kafka-python's ``max_request_size``) and report a
record they refuse before sending as :class:`RecordError`, so the publisher
can dead-letter that one record and go on. ``close`` waits (bounded) for the
outstanding deliveries and returns how many never completed.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

from connectors.sources import rejects
from connectors.sources.exceptions import BrokerUnreachableError, RecordError
from schemas.connection import KafkaConnection, as_connection

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[Exception | None], None]
BACKENDS = ("auto", "confluent", "kafka-python")
#: librdkafka's default message.max.bytes; below the broker's default max.message.bytes (1048588)
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
CLOSE_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 15.0  # how long the start waits for a first broker before giving up (exit 2)


class Producer(Protocol):
    """What the publisher needs from a Kafka client."""

    backend: str

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None:
        """Queue one record; raise :class:`RecordError` when the client refuses it outright."""
        ...

    def poll(self) -> None: ...

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding deliveries; return how many are still pending."""
        ...

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> int:
        """Wait up to ``timeout_s`` for outstanding deliveries, release the client; return how many are pending."""
        ...


class DeliveryError(Exception):
    """The broker refused (or never acknowledged) one record.

    ``unauthorized``: refused by an ACL (TOPIC_AUTHORIZATION_FAILED); every record of the
    topic will be, so the caller reports it as a misconfiguration, not as bad input.
    """

    def __init__(self, message: str, unauthorized: bool = False) -> None:
        super().__init__(message)
        self.unauthorized = unauthorized


class ConfluentProducer:
    """librdkafka: batches in C, delivery reports come back through ``poll``."""

    backend = "confluent"

    def __init__(self, connection: KafkaConnection | str, *, client_id: str, delivery_timeout_s: float,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        from confluent_kafka import Producer as _Producer

        conn = as_connection(connection)
        # librdkafka's reasons (TLS, SASL) behind a failed start; the last few are enough
        self._client_errors: deque[str] = deque(maxlen=20)
        self._producer = _Producer(conn.librdkafka(**{
            "error_cb": lambda err: self._client_errors.append(conn.redact(err.str())),
            "message.max.bytes": max_message_bytes,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",  # TENSION_KAFKA__EXTRA may override it (zstd, snappy, gzip)
            "message.timeout.ms": int(delivery_timeout_s * 1000),
        }), logger=logging.getLogger("librdkafka"))  # librdkafka's own log lines go through logging
        # librdkafka connects lazily and would retry for message.timeout.ms; fail fast instead.
        try:
            self._producer.list_topics(timeout=min(connect_timeout_s, delivery_timeout_s))
        except Exception as exc:  # KafkaException, with librdkafka's own error text
            quiet = logging.getLogger("librdkafka")
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)  # one line says why, not one per retry
            try:
                self._producer.poll(0)  # serves the error (and log) callbacks queued meanwhile
            finally:
                quiet.setLevel(level)
            raise BrokerUnreachableError(f"cannot reach Kafka over {conn.security_protocol}: "
                                         f"{self._why(conn, exc)}", bootstrap=conn.bootstrap, topic="-") from exc

    def _why(self, conn: KafkaConnection, exc: Exception) -> str:
        """The most telling reason a start failed: "timed out" alone hides a refused password or certificate."""
        reason = next((e for e in reversed(self._client_errors) if "authentication" in e.lower()
                       or "ssl" in e.lower()), None)
        if reason:
            return reason
        if any(_accepts_tcp(hp) for hp in conn.bootstrap.split(",")):
            return (f"the broker accepts connections but drops the Kafka handshake: check "
                    f"TENSION_KAFKA__SECURITY_PROTOCOL ({conn.security_protocol}), the listener may expect TLS or SASL")
        return self._client_errors[-1] if self._client_errors else conn.redact(str(exc))

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None:
        from confluent_kafka import KafkaError, KafkaException

        def report(err: KafkaError | None, _msg: object) -> None:
            if err is None:
                on_done(None)
            else:
                on_done(DeliveryError(str(err), err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED))

        kwargs = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=report, **kwargs)
                return
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(0.1)
            except KafkaException as exc:  # refused before sending, e.g. MSG_SIZE_TOO_LARGE
                code = exc.args[0].code() if exc.args and isinstance(exc.args[0], KafkaError) else None
                reason = rejects.OVERSIZE if code == KafkaError.MSG_SIZE_TOO_LARGE else rejects.DELIVERY
                raise RecordError(reason, f"librdkafka refused the record: {exc}", topic=topic) from exc
            except (TypeError, ValueError) as exc:
                raise RecordError(rejects.DELIVERY, f"librdkafka refused the record: {exc}", topic=topic) from exc

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout_s: float) -> int:
        return int(self._producer.flush(timeout_s))

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> int:
        return int(self._producer.flush(timeout_s))


def _accepts_tcp(host_port: str, timeout_s: float = 1.0) -> bool:
    host, _, port = host_port.strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


class KafkaPythonProducer:
    """kafka-python: pure Python, always installed."""

    backend = "kafka-python"

    def __init__(self, connection: KafkaConnection | str, *, client_id: str, delivery_timeout_s: float,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        conn = as_connection(connection)
        try:
            self._producer = KafkaProducer(
                **conn.kafka_python(),
                max_request_size=max_message_bytes,
                bootstrap_timeout_ms=int(min(connect_timeout_s, delivery_timeout_s) * 1000),
                client_id=client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                delivery_timeout_ms=int(delivery_timeout_s * 1000),
                request_timeout_ms=min(30_000, int(delivery_timeout_s * 1000)),
            )
        except KafkaError as exc:
            raise BrokerUnreachableError(f"cannot connect: {conn.redact(str(exc))}", bootstrap=conn.bootstrap,
                                         topic="-") from exc
        self._pending = 0
        self._lock = threading.Lock()  # callbacks run on the sender thread

    def _settle(self) -> None:
        with self._lock:
            self._pending -= 1

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: DeliveryCallback) -> None:
        from kafka.errors import KafkaError, MessageSizeTooLargeError

        def ok(_metadata: object) -> None:
            self._settle()
            on_done(None)

        def failed(exc: Exception) -> None:
            self._settle()
            on_done(DeliveryError(f"{type(exc).__name__}: {exc}", type(exc).__name__ == "TopicAuthorizationFailedError"))

        try:
            future = self._producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms)
        except MessageSizeTooLargeError as exc:
            raise RecordError(rejects.OVERSIZE, f"kafka-python refused the record: {exc}", topic=topic) from exc
        except (KafkaError, TypeError, ValueError, AssertionError) as exc:  # e.g. metadata wait timed out
            raise RecordError(rejects.DELIVERY, f"kafka-python refused the record: {exc}", topic=topic) from exc
        with self._lock:
            self._pending += 1
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
        with self._lock:
            return self._pending

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> int:
        pending = self.flush(timeout_s)
        self._producer.close(timeout=min(5.0, timeout_s) if pending else timeout_s)
        return pending


def topic_max_message_bytes(connection: KafkaConnection | str, topics: list[str],
                            timeout_s: float = 5.0) -> int | None:
    """The smallest ``max.message.bytes`` of the given topics, or None when it cannot be read.

    Best effort, through confluent-kafka's admin client when it is installed: a
    topic that does not exist yet (auto-created later with the broker default)
    or a broker that does not answer in time simply yields no limit, and the
    configured ``max_message_bytes`` alone applies.
    """
    try:
        from confluent_kafka.admin import AdminClient, ConfigResource
    except ImportError:
        return None
    admin = AdminClient(as_connection(connection).librdkafka(), logger=logging.getLogger("librdkafka"))
    limits: list[int] = []
    for topic in topics:
        try:
            [future] = admin.describe_configs([ConfigResource("topic", topic)],
                                              request_timeout=timeout_s).values()
            limits.append(int(future.result(timeout=timeout_s)["max.message.bytes"].value))
        except Exception as exc:  # noqa: BLE001 - unknown topic, old broker, timeout: no limit learnt
            log.debug("max.message.bytes of %s unknown: %s", topic, exc)
    return min(limits) if limits else None


def open_producer(connection: KafkaConnection | str, *, backend: str = "auto", client_id: str = "tension-produce",
                  delivery_timeout_s: float = 60.0,
                  max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                  connect_timeout_s: float = CONNECT_TIMEOUT_S) -> Producer:
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
    return cls(connection, client_id=client_id, delivery_timeout_s=delivery_timeout_s,
               max_message_bytes=max_message_bytes, connect_timeout_s=connect_timeout_s)
