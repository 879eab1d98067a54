"""Every Kafka topic the topology reads or writes, declared in one place.

Values travel as raw bytes and are decoded inside the agents with the schema
serde: a record that fails to decode is then data (a dead letter) instead of
an exception deep inside Faust's consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import StreamConfig


@dataclass(frozen=True)
class Topics:
    raw: faust.TopicT
    classified: faust.TopicT
    index: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT


def declare(app: faust.App, cfg: StreamConfig) -> Topics:
    t = cfg.topics

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=t.partitions, replicas=t.replication)

    return Topics(
        raw=topic(t.raw),
        classified=topic(t.classified),
        index=topic(t.index),
        alerts=topic(t.alerts),
        deadletter=topic(t.deadletter),
    )
