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


class SinkConfigError(ConnectorError, ValueError):
    """A sink or runner was configured with values it cannot work with (raised at construction)."""


class StoreNotReadyError(ConnectorError):
    """The store's schema is missing or older than this code expects (run the migrations)."""

    def __init__(self, store: str, have: int, want: int) -> None:
        super().__init__(f"{store}: schema is at migration {have}, this sink needs {want}; "
                         f"apply the migrations first (tension sink {store} --migrate)")
        self.store, self.have, self.want = store, have, want


class MigrationError(ConnectorError):
    """A versioned migration failed; nothing of it was applied (each runs in its own transaction)."""

    def __init__(self, store: str, version: int, name: str, cause: Exception) -> None:
        super().__init__(f"{store}: migration {version:04d}_{name} failed: {cause}")
        self.store, self.version, self.name, self.cause = store, version, name, cause


class DeadLetterError(ConnectorError):
    """A record could not be sent to the dead-letter topic, so its offset must not be committed."""

    def __init__(self, topic: str, partition: int, offset: int, cause: Exception) -> None:
        super().__init__(f"dead letter for {topic}[{partition}]@{offset} was not delivered: {cause}")
        self.topic, self.partition, self.offset, self.cause = topic, partition, offset, cause


class KafkaAccessError(ConnectorError):
    """The cluster refused this client: authentication, TLS or an ACL (retrying cannot help)."""

    def __init__(self, client: str, reason: str, topic: str | None = None) -> None:
        where = f" on {topic}" if topic else ""
        super().__init__(f"{client}: Kafka refused access{where}: {reason}")
        self.client, self.reason, self.topic = client, reason, topic
