"""Every Faust table of the topology, declared in one place.

``index_state`` holds the pure window state of :mod:`streams.windows` (keys
``meta``, ``p:<pane>``, ``s:<item id>``, JSON values). It has one partition,
co-partitioned with the single-partition facts topic, and is backed by the
configured store (``rocksdb://`` uses rocksdict) plus its changelog topic;
``standby_replicas`` other workers keep a warm copy for fast fail-over.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import StreamConfig

INDEX_STATE = "index_state"


@dataclass(frozen=True)
class Tables:
    index_state: faust.Table


def declare(app: faust.App, cfg: StreamConfig) -> Tables:
    state = app.Table(
        INDEX_STATE, key_type=str, value_type=None,
        partitions=1, help="Event-time window panes, dedup index and watermark of the tension index.",
    )
    return Tables(index_state=state)
