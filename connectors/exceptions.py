"""Errors of the connectors, carrying the Kafka or store context needed to act on them."""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    """Base class of source and sink errors."""


class SinkWriteError(ConnectorError):
    """A batch could not be written to the store (raised only when stopping mid-retry)."""

    def __init__(self, sink: str, batch: list[Any], cause: Exception) -> None:
        first = batch[0] if batch else None
        where = f" starting at {first.topic}[{first.partition}]@{first.offset}" if first else ""
        super().__init__(f"{sink}: could not write {len(batch)} rows{where}: {cause}")
        self.sink = sink
        self.cause = cause
