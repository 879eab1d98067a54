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


class RecordError(SourceError):
    """The client refused one record before sending it (too large, unencodable); it is dead-lettered.

    ``reason`` is the dead-letter reason code (``oversize`` or ``delivery``).
    """

    def __init__(self, reason: str, message: str, *, topic: str) -> None:
        super().__init__(f"{message} (topic={topic})")
        self.reason = reason
        self.topic = topic


class PublishError(SourceError):
    """The producer could not deliver records (broker down, flush timed out)."""

    def __init__(self, message: str, *, bootstrap: str, topic: str, undelivered: int = 0) -> None:
        super().__init__(f"{message} (bootstrap={bootstrap}, topic={topic}, undelivered={undelivered})")
        self.bootstrap = bootstrap
        self.topic = topic
        self.undelivered = undelivered


class BrokerUnreachableError(PublishError):
    """No broker answered when the producer started: nothing was sent (``tension produce`` exits 2)."""


class UndeliveredError(PublishError):
    """Records were still unacknowledged when the bounded close gave up (``tension produce`` exits 1).

    ``report`` is the run's :class:`~connectors.sources.publisher.PublishReport`, so
    the caller can still say what was sent and what was dead-lettered.
    """

    def __init__(self, message: str, *, bootstrap: str, topic: str, undelivered: int, report: object) -> None:
        super().__init__(message, bootstrap=bootstrap, topic=topic, undelivered=undelivered)
        self.report = report
