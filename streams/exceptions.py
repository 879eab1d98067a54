"""Errors inside the topology, with the Kafka coordinates needed to find the record."""

from __future__ import annotations


class StreamError(Exception):
    """Base class of processing errors that send a record to the dead-letter topic."""

    reason = "stream"

    def __init__(self, message: str, *, topic: str | None = None, partition: int | None = None,
                 offset: int | None = None) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition
        self.offset = offset

    def __str__(self) -> str:
        where = f" (at {self.topic}[{self.partition}]@{self.offset})" if self.topic else ""
        return f"{self.args[0]}{where}"


class UndecodableRecord(StreamError):
    reason = "decode"


class LateEvent(StreamError):
    """An item older than the watermark (max event time − grace): counted and dead-lettered."""

    reason = "late"


class BadEventTime(StreamError):
    """A fact whose event time is not a finite integer inside the product's range (see EVENT_TIME_RANGE_MS)."""

    reason = "date"


class OutputTooLarge(StreamError):
    """An output record bigger than the producer's request limit: Kafka would refuse it."""

    reason = "oversize"


class DeliveryFailed(StreamError):
    """The producer or the broker refused an output record (its delivery future failed)."""

    reason = "delivery"


class DeadLetterUndeliverable(StreamError):
    """A dead letter itself could not be delivered: the worker must stop before acking its record."""

    reason = "deadletter"


class InvalidRecord(StreamError):
    """A decoded record the producer would have rejected (e.g. a blank title)."""

    reason = "validation"
