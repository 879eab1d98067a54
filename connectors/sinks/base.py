"""The store contract of the sink framework: what a store implements and the records it is given.

A store only implements :class:`Sink` (open, write a batch in one transaction,
flush, close, and say which errors are worth retrying) over :class:`SinkRecord`
values. Everything on the Kafka side lives elsewhere, so a store module
imports this contract and nothing of the consumer loop:

* :mod:`connectors.sinks.runner` — consume → decode → batch → commit, rebalances, backpressure;
* :mod:`connectors.sinks.writer` — one batch into the store: retries while the store is away,
  bisecting when it blames the data;
* :mod:`connectors.sinks.deadletters` — the dead letters, built in one place and made durable
  before the offsets they cover are committed.

The guarantees every store gets from them are listed in :mod:`connectors.sinks.runner`.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.catalog import TOPIC_RECORDS

#: record kind → the topic role it is read from (``schemas.catalog.TOPIC_RECORDS`` names its record)
KIND_ROLES: Mapping[str, str] = {"item": "classified", "index": "index", "alert": "alerts"}
#: record kind → Avro record name on the wire
KIND_SCHEMAS: Mapping[str, str] = {kind: TOPIC_RECORDS[role] for kind, role in KIND_ROLES.items()}


@dataclass(frozen=True)
class SinkRecord:
    """One decoded record with the coordinates (and raw bytes, for dead letters) it came from."""

    kind: str  # "item", "index" or "alert": which table it belongs to
    value: dict[str, Any]
    topic: str
    partition: int
    offset: int
    key: bytes | None = field(default=None, repr=False)
    raw: bytes = field(default=b"", repr=False)


class Sink(abc.ABC):
    """A store the runner writes to. Implementations hold no Kafka logic."""

    name: str = "sink"

    @abc.abstractmethod
    def open(self) -> None:
        """Called once, before the consumer joins its group: connect, check or create the schema.

        Raise to refuse to start (e.g. migrations missing); the runner then never commits anything.
        """

    @abc.abstractmethod
    def write_batch(self, records: list[SinkRecord]) -> None:
        """Called with each batch (never empty): write every record in ONE transaction and commit it.

        Must be idempotent (upserts or offset-keyed files): after a crash the
        runner replays records whose offsets were not committed, and after a
        failure it calls again with the same or a smaller batch. Raise on
        failure and leave the store as it was; :meth:`is_transient` decides
        whether the runner retries the whole batch or looks for a bad record.
        """

    def flush(self) -> None:
        """Called after ``write_batch`` returned and before the offsets are committed.

        For stores whose ``write_batch`` leaves data in OS buffers (files): make
        it durable here. Databases commit in ``write_batch`` and need nothing.
        """

    def close(self) -> None:
        """Called once at shutdown, after the last batch was committed (or the runner failed)."""

    def on_assign(self, partitions: Collection[tuple[str, int]]) -> None:
        """Called when the group gives this member partitions, before any of their records is written.

        Stores that keep per-partition state (the files sink's high-water marks) reload it here,
        because another member may have written those partitions since.
        """

    def is_transient(self, exc: Exception) -> bool:
        """Called when ``write_batch`` raised. True: the store is unavailable, retry the same batch
        with backoff. False: the data is at fault; the runner splits the batch and dead-letters
        the records that fail on their own. Default: OS/connection errors are transient."""
        return isinstance(exc, (OSError, ConnectionError, TimeoutError))

    def describe_error(self, exc: Exception) -> str:
        """Called to put a store error into logs and dead letters; override to strip secrets."""
        return f"{type(exc).__name__}: {exc}"[:2000]
