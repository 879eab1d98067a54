"""The sink's librdkafka pieces: the dead-letter producer and how consumer errors are classified.

Kept apart from :mod:`connectors.sinks.runner` so the runner reads as the
consume → write → commit loop it is.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka import Producer as _RdProducer


class Delivery:
    """The outcome of one dead letter, filled in by librdkafka's delivery report."""

    def __init__(self) -> None:
        self.done = False
        self.error: KafkaError | None = None

    def __call__(self, err: KafkaError | None, _msg: Message) -> None:
        self.done, self.error = True, err

    def get(self, timeout: float) -> None:
        """Raise unless delivered; ``flush`` must have served the reports before (``timeout`` unused)."""
        if not self.done:
            raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, "no delivery report"))
        if self.error is not None:
            raise KafkaException(self.error)


class DeadLetterProducer:
    """The dead-letter producer: idempotent, acks=all; ``send`` returns a :class:`Delivery`."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self._producer = _RdProducer(conf)

    def send(self, topic: str, key: bytes | None, value: bytes) -> Delivery:
        delivery = Delivery()
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=delivery)
                return delivery
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(0.1)

    def flush(self, timeout: float = 30.0) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush(30.0)


#: consumer errors that retrying cannot fix: the cluster refuses this principal or this TLS setup
REFUSALS = {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
             KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaError._AUTHENTICATION, KafkaError._SSL,
             KafkaError.SASL_AUTHENTICATION_FAILED}
#: commit errors meaning the group rebalanced under us: the new owner replays from the last commit
REBALANCED = {KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID,
               KafkaError.FENCED_INSTANCE_ID, KafkaError._ASSIGNMENT_LOST}
