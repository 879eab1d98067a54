"""Kafka administration at the edge: create the product's topics idempotently.

Through confluent-kafka's AdminClient (librdkafka), like the producer and the
sinks, so one connection description (:class:`schemas.connection.KafkaConnection`)
configures security for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.connection import KafkaConnection, as_connection
from streams.topics import TopicSpec

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0


class AdminError(RuntimeError):
    """The cluster refused or did not answer an administrative request; names the topic when there is one."""


class ReplicationTooHigh(AdminError, ValueError):
    """A topic asks for more replicas than the cluster has brokers: no broker retry can fix that."""

    def __init__(self, topic: str, replication: int, brokers: int, bootstrap: str) -> None:
        super().__init__(f"replication factor {replication} of topic {topic} is above the {brokers} broker(s) "
                         f"of the cluster at {bootstrap}: set TENSION_KAFKA__REPLICATION to at most {brokers}")
        self.topic, self.replication, self.brokers = topic, replication, brokers


def admin_client(connection: KafkaConnection | str, client_id: str = "tension-admin") -> AdminClient:
    conn = as_connection(connection)
    return AdminClient(conn.librdkafka(**{"client.id": client_id}), logger=logging.getLogger("librdkafka"))


def apply_specs(connection: KafkaConnection | str, specs: Iterable[TopicSpec],
                client_id: str = "tension-admin") -> tuple[list[str], list[str]]:
    """Create each missing topic (``streams.topics.topic_specs``); return (created, already present).

    Safe to run repeatedly and concurrently: a topic created meanwhile by
    another `apply` counts as present.
    """
    conn = as_connection(connection)
    admin = admin_client(conn, client_id)
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S)
        existing, brokers = set(metadata.topics), len(metadata.brokers)
    except KafkaException as exc:
        raise AdminError(f"cannot list topics at {conn.bootstrap}: {conn.redact(str(exc.args[0]))}") from exc
    created: list[str] = []
    present: list[str] = []
    wanted = []
    for spec in specs:
        if spec.name in existing:
            present.append(spec.name)
        else:
            wanted.append(spec)
    if not wanted:
        return created, present
    for spec in wanted:  # checked before anything is created, so a failed apply leaves no half
        if brokers and spec.replication > brokers:
            raise ReplicationTooHigh(spec.name, spec.replication, brokers, conn.bootstrap)
    futures = admin.create_topics(
        [NewTopic(s.name, s.partitions, s.replication, config=dict(s.config))
         for s in wanted],
        request_timeout=TIMEOUT_S, operation_timeout=TIMEOUT_S)
    for spec in wanted:
        try:
            futures[spec.name].result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            err = exc.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                present.append(spec.name)
                continue
            raise AdminError(f"cannot create topic {spec.name}: {conn.redact(str(err))}") from exc
        created.append(spec.name)
        log.info("created topic %s (%d partitions, replication %d)", spec.name, spec.partitions, spec.replication)
    return created, present
