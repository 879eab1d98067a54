"""Consumer lag of the product's groups, read from the cluster (what `tension lag` prints).

The embedded classpath has no ``kafka-consumer-groups.sh``, and a deployment
should not need one: the admin client (librdkafka, the same connection settings
as every other client) lists the groups, their committed offsets and the end
offsets of those partitions. Lag is end − committed; a partition of a consumed
topic with nothing committed counts from its log start (what a new member
would read with ``auto.offset.reset=earliest``, as every product consumer is set).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas.connection import KafkaConnection
from tension.admin import admin_client

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: this group never committed an offset for the partition
    end: int
    lag: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def product_groups(listed: Iterable[str], app_id: str, sink_prefix: str) -> list[str]:
    """The groups of this product among ``listed``: the worker's (``app_id``) and every sink's (``<prefix>-*``)."""
    return sorted(g for g in set(listed) if g == app_id or g.startswith(f"{sink_prefix}-"))


def _committed(admin: AdminClient, group: str, timeout: float) -> dict[tuple[str, int], int]:
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=timeout)
    result = futures[group].result(timeout=timeout)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions or [] if tp.offset >= 0}


def _offsets(admin: AdminClient, tps: Sequence[tuple[str, int]], spec: OffsetSpec,
             timeout: float) -> dict[tuple[str, int], int]:
    if not tps:
        return {}
    futures = admin.list_offsets({TopicPartition(t, p): spec for t, p in tps}, request_timeout=timeout)
    return {(tp.topic, tp.partition): fut.result(timeout=timeout).offset for tp, fut in futures.items()}


def group_lags(connection: KafkaConnection | str, *, groups: Sequence[str] | None = None,
               app_id: str = "tension-stream", sink_prefix: str = "tension-sink",
               timeout_s: float = TIMEOUT_S) -> list[PartitionLag]:
    """Committed offset, end offset and lag per group and partition, sorted by group, topic, partition.

    ``groups`` None: every product group the cluster knows (:func:`product_groups`).
    """
    admin = admin_client(connection, "tension-lag")
    if groups is None:
        listed = admin.list_consumer_groups(request_timeout=timeout_s).result(timeout=timeout_s)
        groups = product_groups((g.group_id for g in listed.valid), app_id, sink_prefix)
    committed = {g: _committed(admin, g, timeout_s) for g in groups}
    topics = sorted({t for offsets in committed.values() for t, _ in offsets})
    partitions: dict[str, list[int]] = {}
    if topics:
        meta = admin.list_topics(timeout=timeout_s)
        partitions = {t: sorted(meta.topics[t].partitions) for t in topics if t in meta.topics}
    every = [(t, p) for t, ps in partitions.items() for p in ps]
    ends = _offsets(admin, every, OffsetSpec.latest(), timeout_s)
    starts = _offsets(admin, every, OffsetSpec.earliest(), timeout_s)
    out = []
    for group in groups:
        for t in sorted({t for t, _ in committed[group]}):
            for p in partitions.get(t, []):
                done = committed[group].get((t, p))
                end = ends[(t, p)]
                out.append(PartitionLag(group, t, p, done, end, max(0, end - (starts[(t, p)] if done is None else done))))
    return out


def table(rows: Sequence[PartitionLag]) -> str:
    """The rows as an aligned plain-text table (a total per group below its partitions)."""
    head = ("GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG")
    cells = [head]
    for group in sorted({r.group for r in rows}):
        mine = [r for r in rows if r.group == group]
        cells += [(r.group, r.topic, str(r.partition), "-" if r.committed is None else str(r.committed), str(r.end),
                   str(r.lag)) for r in mine]
        cells.append((group, "(total)", "", "", "", str(sum(r.lag for r in mine))))
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in cells)
