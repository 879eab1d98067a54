"""Kafka administration at the edge: create the product's topics idempotently."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.topics import TopicSpec

log = logging.getLogger(__name__)


def apply_specs(bootstrap: str, specs: Iterable[TopicSpec],
                client_id: str = "tension-admin") -> tuple[list[str], list[str]]:
    """Create each missing topic (``streams.topics.topic_specs``); return (created, already present).

    Safe to run repeatedly and concurrently: a topic created meanwhile by
    another `apply` counts as present.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        present: list[str] = []
        for spec in specs:
            if spec.name in existing:
                present.append(spec.name)
                continue
            try:
                admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication,
                                              topic_configs=spec.config)])
                created.append(spec.name)
                log.info("created topic %s (%d partitions, replication %d)",
                         spec.name, spec.partitions, spec.replication)
            except TopicAlreadyExistsError:
                present.append(spec.name)
        return created, present
    finally:
        admin.close()
