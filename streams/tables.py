"""Every Faust table of the topology, declared in one place.

``index_state`` holds the window state of :mod:`streams.state` (keys ``meta``,
``a:<pane>``, ``i:<pane>:<k>``, ``s:<item id>``, ``undo``; values are bytes the
state encodes itself, so the table's serializer is ``raw``). It has one partition,
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
        INDEX_STATE, key_type=str, value_type=bytes,
        partitions=1, help="Event-time window panes, dedup index and watermark of the tension index.",
    )
    return Tables(index_state=state)
