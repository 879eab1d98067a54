"""Every Kafka topic the topology reads or writes, declared in one place.

:func:`topic_specs` is the single source of names, partitions and replication:
the Faust app declares its topics from it and `tension topics apply` creates
them from it. Values travel as raw bytes and are decoded inside the agents
with the schema serde: a record that fails to decode is then data (a dead
letter) instead of an exception deep inside Faust's consumer.

The facts topic feeding the index stage has ONE partition: the window state
that computes S_c = E_c / N(W) sees every item, and its records are packs of
the small facts of one classify batch (``streams.facts``), which keeps that
stage cheap. docs/streams.md says what scaling it out would take (designed,
not built).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import StreamConfig


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    key: str  # what the record key is, for docs and `tension topics list`
    retention_ms: int = -1

    @property
    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms)}


@dataclass(frozen=True)
class Topics:
    raw: faust.TopicT
    classified: faust.TopicT
    facts: faust.TopicT
    index: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT


def topic_specs(cfg: StreamConfig) -> dict[str, TopicSpec]:
    """Role → topic for every topic of the product (what `tension topics apply` creates)."""
    t = cfg.topics
    spec = lambda name, key, partitions=t.partitions: TopicSpec(  # noqa: E731
        name, partitions, t.replication, key, t.retention_ms)
    return {
        "raw": spec(t.raw, "item id"),
        "classified": spec(t.classified, "item id"),
        "facts": spec(cfg.facts_topic, "item id", 1),
        "index": spec(t.index, "category"),
        "alerts": spec(t.alerts, "category"),
        "deadletter": spec(t.deadletter, "original key"),
    }


def declare(app: faust.App, cfg: StreamConfig) -> Topics:
    specs = topic_specs(cfg)

    def topic(role: str) -> faust.TopicT:
        s = specs[role]
        return app.topic(s.name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=s.partitions, replicas=s.replication,
                         internal=role == "facts", config=s.config)

    return Topics(**{role: topic(role) for role in specs})
