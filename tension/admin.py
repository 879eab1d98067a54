"""Kafka administration at the edge: create the product's topics idempotently."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.topics import TopicSpec

log = logging.getLogger(__name__)


class ReplicationTooHigh(ValueError):
    """A topic asks for more replicas than the cluster has brokers: no broker retry can fix that."""

    def __init__(self, topic: str, replication: int, brokers: int, bootstrap: str) -> None:
        super().__init__(f"replication factor {replication} of topic {topic} is above the {brokers} broker(s) "
                         f"of the cluster at {bootstrap}: set TENSION_KAFKA__REPLICATION to at most {brokers}")
        self.topic, self.replication, self.brokers = topic, replication, brokers


def apply_specs(bootstrap: str, specs: Iterable[TopicSpec],
                client_id: str = "tension-admin") -> tuple[list[str], list[str]]:
    """Create each missing topic (``streams.topics.topic_specs``); return (created, already present).

    Safe to run repeatedly and concurrently: a topic created meanwhile by
    another `apply` counts as present.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=30000)
    try:
        existing = set(admin.list_topics())
        brokers = len(admin.describe_cluster().get("brokers") or [])
        specs = list(specs)
        for spec in specs:  # checked before anything is created, so a failed apply leaves no half
            if spec.name not in existing and brokers and spec.replication > brokers:
                raise ReplicationTooHigh(spec.name, spec.replication, brokers, bootstrap)
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
