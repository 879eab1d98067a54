"""Errors of the source connectors.

Most bad input never raises: it becomes a :class:`~connectors.sources.rejects.Rejection`
that is published to the dead-letter topic, so one malformed file cannot stop
a run. These exceptions are for what the run itself cannot get past (an
unreachable broker, deliveries that never complete) and, internally, for the
reader code to say *why* a record was rejected.
"""

from __future__ import annotations


class SourceError(Exception):
    """Base class for source-connector errors."""


class InputError(SourceError):
    """One input record is unusable; ``reason`` is the dead-letter reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PublishError(SourceError):
    """The producer could not deliver records (broker down, flush timed out)."""

    def __init__(self, message: str, *, bootstrap: str, topic: str, undelivered: int = 0) -> None:
        super().__init__(f"{message} (bootstrap={bootstrap}, topic={topic}, undelivered={undelivered})")
        self.bootstrap = bootstrap
        self.topic = topic
        self.undelivered = undelivered
