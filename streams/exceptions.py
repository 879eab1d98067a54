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


class ClassifierFailure(StreamError):
    reason = "classifier"


class LateEvent(StreamError):
    """An item older than the watermark (max event time − grace): counted and dead-lettered."""

    reason = "late"
