"""Stage 2: index facts → event-time window state → tension.index.v1 and tension.alerts.v1.

One agent on the single-partition facts topic folds batches of facts into
the ``index_state`` table with the pure :func:`streams.processing.index_batch`.
Sends go straight to the app's producer (:class:`streams.sending.Sender`: produce
now, not "attached" until the next offset commit, and without Faust's
per-message objects); Faust flushes that producer before every offset commit,
so nothing acked is unsent.
Guarantee: at-least-once with idempotent aggregation. A batch's offsets are
acked only after its state is written, and the state's dedup index makes a
replayed fact a no-op; final rows and alerts are awaited (acked by
Kafka) before the watermark that closed them is written, so a crash can
repeat them (idempotent upserts by key) but never lose them.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import faust
from faust.streams import _current_event

from schemas.serde import AvroSerializer
from streams.config import StreamConfig
from streams.deadletters import dead_letter
from streams.exceptions import LateEvent, UndecodableRecord
from streams.processing import Emission, index_batch
from streams.sending import Sender
from streams.state import TableState
from streams.tables import Tables
from streams.topics import Topics
from streams.windows import Fact, Windows

log = logging.getLogger(__name__)


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    windows = Windows.from_config(cfg.index)
    publisher = Publisher(topics, Sender(app))

    @app.agent(topics.facts, name="index")
    async def index_facts(stream: faust.StreamT) -> None:
        # one state per agent run: pane totals stay decoded in memory between batches
        # (re-read if another worker wrote the table meanwhile, see TableState.begin)
        state = TableState(tables.index_state, cfg.index)
        async for events in stream.take_events(cfg.batch_max, within=cfg.batch_within_s):
            # take_events runs this body outside the per-event context Faust's table
            # writes need (changelog and store partition): give this task the batch's last.
            _current_event.set(weakref.ref(events[-1]))
            pairs = await publisher.decode(events)
            out = index_batch(state, [f for _, f in pairs], windows, cfg.index)
            await publisher.publish(out, pairs)
            state.flush()


class Publisher:
    """Encodes and sends what a batch produced; dead-letters what it could not use."""

    def __init__(self, topics: Topics, sender: Sender) -> None:
        self.topics = topics
        self.sender = sender
        self.encode_row = AvroSerializer("TensionIndexUpdate")
        self.encode_alert = AvroSerializer("Alert")

    async def decode(self, events: Sequence[faust.EventT]) -> list[tuple[faust.EventT, Fact]]:
        pairs = []
        for event in events:
            try:
                pairs.append((event, Fact.from_json(json.loads(event.value))))
            except (ValueError, KeyError, TypeError) as exc:
                m = event.message
                err = UndecodableRecord(f"bad index fact: {exc}", topic=m.topic, partition=m.partition,
                                        offset=m.offset)
                await self._dead_letter(event, err, "decode")
        return pairs

    async def publish(self, out: Emission, pairs: list[tuple[faust.EventT, Fact]]) -> None:
        now = datetime.now(timezone.utc)
        for row in out.updates:
            await self._send_row(row, now)
        acks = [await self._send_row(row, now) for row in out.finals]
        for alert in out.alerts:
            acks.append(await self.sender.send(self.topics.alerts, alert["category"].encode(),
                                               self.encode_alert({**alert, "created_at": now})))
        late = {id(f) for f in out.late}
        for event, fact in pairs:
            if id(fact) in late:
                m = event.message
                err = LateEvent(f"item {fact.id} at {fact.ts} is older than the watermark", topic=m.topic,
                                partition=m.partition, offset=m.offset)
                acks.append(await self._dead_letter(event, err, "late"))
        for fut in acks:  # closed windows and late letters must be in Kafka before the watermark moves
            await fut
        if out.late or out.duplicates:
            log.info("index batch: %d late, %d duplicates", len(out.late), len(out.duplicates))

    async def _send_row(self, row: dict[str, Any], now: datetime) -> Any:
        return await self.sender.send(self.topics.index, row["category"].encode(),
                                      self.encode_row({**row, "emitted_at": now}))

    async def _dead_letter(self, event: faust.EventT, err: Exception, reason: str) -> Any:
        m = event.message
        log.warning("dead-lettering %s[%d]@%d: %s", m.topic, m.partition, m.offset, err)
        return await self.topics.deadletter.send(key=event.key, value=dead_letter(
            event.value, event.key, err, stage="index", reason=reason, topic=m.topic,
            partition=m.partition, offset=m.offset), force=True)
