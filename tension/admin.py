"""Kafka administration at the edge: create the product's topics idempotently."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def apply_specs(bootstrap: str, specs: Iterable[object], client_id: str = "tension-admin") -> tuple[list[str], list[str]]:
    """Create each missing topic of ``streams.topics.topic_specs`` (name, partitions, replication)."""
    created: list[str] = []
    present: list[str] = []
    for spec in specs:
        c, p = apply_topics(bootstrap, [spec.name], spec.partitions, spec.replication,  # type: ignore[attr-defined]
                            client_id=client_id, config=getattr(spec, "config", None))
        created += c
        present += p
    return created, present


def apply_topics(bootstrap: str, names: Iterable[str], partitions: int, replication: int,
                 client_id: str = "tension-admin", config: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Create each missing topic; return (created, already_present). Safe to run repeatedly."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        wanted = [n for n in names]
        missing = [n for n in wanted if n not in existing]
        created: list[str] = []
        for name in missing:
            try:
                admin.create_topics([NewTopic(name, partitions, replication, topic_configs=config or {})])
                created.append(name)
                log.info("created topic %s (%d partitions, replication %d)", name, partitions, replication)
            except TopicAlreadyExistsError:
                pass  # a concurrent apply won the race: fine
        return created, [n for n in wanted if n in existing]
    finally:
        admin.close()
