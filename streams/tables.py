"""Every Faust table of the topology, declared in one place.

``category_counts`` is the first windowed table: items per category per
tumbling event-time day (the window follows each record's Kafka timestamp,
which producers set to the item's publication time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import faust

from streams.config import StreamConfig


@dataclass(frozen=True)
class Tables:
    category_counts: faust.types.tables.WindowWrapperT


def declare(app: faust.App, cfg: StreamConfig) -> Tables:
    counts = app.Table(
        "category_counts", default=int, partitions=cfg.topics.partitions,
        help="Items per category per tumbling event-time window.",
    ).tumbling(timedelta(days=cfg.tumbling_days), expires=timedelta(days=cfg.expires_days)).relative_to_stream()
    return Tables(category_counts=counts)
