"""Stage 2: index facts → event-time window state → tension.index.v1 and tension.alerts.v1.

One agent on the single-partition facts topic folds batches of facts into
the ``index_state`` table with the pure :func:`streams.processing.index_batch`.
Sends go straight to the app's producer (:class:`streams.sending.Sender`);
every delivery future of a batch is awaited before its state is written.
Guarantee: at-least-once with idempotent aggregation. A batch's offsets are
acked only after its state is written, and the state's dedup index makes a
replayed fact a no-op; rows, alerts and dead letters are acked by Kafka
before the watermark that closed them is written, so a crash can repeat them
(idempotent upserts by key) but never lose them.

No record can stop the stage: a fact that does not decode or whose event time
is out of range (``streams.agents.checks``) is dead-lettered before the fold;
if folding or encoding a batch raises, its facts are folded one at a time and
the one that raises is dead-lettered (reason ``index``) with its state
changes discarded (a batch begun and never flushed makes the next
``TableState.begin`` drop the cache and re-read the table); an output the
producer or broker refuses dead-letters the fact whose fold produced it
(reason ``oversize``/``delivery``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import faust

from streams import faust_fixes, metrics
from streams.agents.checks import check_event_time
from streams.agents.outbox import Outbox
from streams.config import StreamConfig
from streams.exceptions import LateEvent, StreamError, UndecodableRecord
from streams.facts import unpack
from streams.processing import Emission, index_batch
from streams.sending import Sender
from streams.state import TableState
from streams.tables import Tables
from streams.topics import Topics
from streams.windows import Fact, Windows

log = logging.getLogger(__name__)

STAGE = "index"
Output = tuple[faust.TopicT, bytes, bytes]
Pairs = list[tuple[faust.EventT, Fact]]


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    stage = IndexStage(topics, tables, cfg, Sender(app))

    @app.agent(topics.facts, name="index")
    async def index_facts(stream: faust.StreamT) -> None:
        # one state per agent run: pane totals stay decoded in memory between batches
        # (re-read if another worker wrote the table meanwhile, see TableState.begin)
        stage.new_state()
        async for events in stream.take_events(cfg.batch_max, within=cfg.batch_within_s):
            # take_events runs this body outside the per-event context Faust's table
            # writes need (changelog and store partition): give this task the batch's last.
            faust_fixes.set_current_event(events[-1])
            await stage.process(events)


def parse_fact(value: bytes) -> Fact:
    """A fact from a one-fact record, or :class:`UndecodableRecord` / :class:`BadEventTime` (``date``)."""
    try:
        d = json.loads(value)
    except ValueError as exc:
        raise UndecodableRecord(f"bad index fact: {exc!r}") from None
    return fact_of_json(d)


def fact_of_json(d: Any) -> Fact:
    """A decoded fact object, checked: :class:`UndecodableRecord` or :class:`BadEventTime` (``date``)."""
    try:
        ts = d["ts"]
    except (KeyError, TypeError) as exc:
        raise UndecodableRecord(f"bad index fact: {exc!r}") from None
    check_event_time(ts)
    try:
        fact = Fact.from_json(d)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise UndecodableRecord(f"bad index fact: {exc!r}") from None
    if not fact.id or not math.isfinite(fact.tension) or not -1.0 <= fact.tension <= 1.0:
        raise UndecodableRecord(f"bad index fact: empty id or tension {fact.tension!r} outside [-1, 1]")
    return fact


class PackedFact:
    """One fact of a pack, standing in for an event where a fact is dead-lettered or owns an output.

    It carries the pack record's coordinates (``message``) and the fact's own JSON as
    its value, so a dead letter holds the one fact that failed, not the whole pack.
    The pack record itself is acked by Faust with its batch, like any event.
    """

    __slots__ = ("message", "key", "_obj")

    def __init__(self, message: Any, obj: Any) -> None:
        self.message, self._obj = message, obj
        fid = obj.get("id") if isinstance(obj, dict) else None
        self.key = str(fid).encode() if fid is not None else None

    @property
    def value(self) -> bytes:
        return json.dumps(self._obj).encode()  # only for dead letters: rare


class IndexStage:
    """Decode, fold, encode and publish one batch of facts; dead-letter what cannot be used."""

    def __init__(self, topics: Topics, tables: Tables, cfg: StreamConfig, sender: Sender) -> None:
        self.topics = topics
        self.table = tables.index_state
        self.cfg = cfg
        self.windows = Windows.from_config(cfg.index)
        self.sender = sender
        serdes = cfg.serdes  # one setting decides the wire format of every output, dead letters included
        self.encode_row = serdes.serializer("index")
        self.encode_alert = serdes.serializer("alerts")
        self.encode_letter = serdes.serializer("deadletter")
        self.state = TableState(self.table, cfg.index)

    def new_state(self) -> None:
        """A fresh in-memory state over the table (called when the agent (re)starts)."""
        self.state = TableState(self.table, self.cfg.index)

    async def process(self, events: Sequence[faust.EventT]) -> int:
        """Process one batch; returns how many records were dead-lettered."""
        started = time.perf_counter()
        outbox = Outbox(self.sender, self.topics.deadletter, STAGE, self.encode_letter)
        pairs = await self.decode(events, outbox)  # counts the facts in (a pack holds many)
        if pairs:
            state = self.state
            try:
                out = index_batch(state, [f for _, f in pairs], self.windows, self.cfg.index)
                outputs = self.encode(out)
            except Exception as exc:  # one fact broke the fold: find it, keep the others
                log.warning("index batch of %d facts failed (%r); folding them one at a time", len(pairs), exc)
                return await self._one_by_one(pairs, outbox)
            await self._publish(out, outputs, pairs, pairs[-1][0], outbox)
        dead = await outbox.settle()
        if pairs:
            state.flush()
            self._observe([f for _, f in pairs], out)
        metrics.BATCH_SECONDS.labels(STAGE).observe(time.perf_counter() - started)
        return dead

    @staticmethod
    def _observe(facts: list[Fact], out: Emission) -> None:
        """Event time → index row latency of the facts this batch counted (not late, not duplicates).

        Called once the batch's rows are acked and its state written. Batches folded one fact
        at a time (after a failed fold) are not observed: that path is for broken input.
        """
        skip = {id(f) for f in (*out.late, *out.duplicates)}
        counted = [f for f in facts if id(f) not in skip]
        metrics.COLLECTOR.note_events(counted)
        now_ms = time.time() * 1000
        for f in counted:
            metrics.EVENT_TO_INDEX.observe(max(0.0, (now_ms - f.ts) / 1000))

    async def decode(self, events: Sequence[faust.EventT], outbox: Outbox) -> Pairs:
        """(owner, fact) of every usable fact of the batch's records (packs and one-fact records)."""
        pairs: Pairs = []
        taken: Counter[str] = Counter()  # facts per topic, for tension_stage_records_in
        for event in events:
            m = event.message
            try:
                objs = unpack(event.value)
            except Exception as exc:
                taken[m.topic] += 1
                await self._reject(event, UndecodableRecord(f"bad index fact: {exc!r}"), outbox)
                continue
            taken[m.topic] += len(objs)
            if len(objs) == 1 and not event.value.lstrip().startswith(b"["):
                owners: list[Any] = [event]  # a one-fact record stands for itself
            else:
                owners = [PackedFact(m, obj) for obj in objs]
            for owner, obj in zip(owners, objs):
                try:
                    pairs.append((owner, fact_of_json(obj)))
                except Exception as exc:
                    await self._reject(owner, exc, outbox)
        for topic, n in taken.items():
            metrics.RECORDS_IN.labels(STAGE, topic).inc(n)
        return pairs

    @staticmethod
    async def _reject(owner: Any, exc: BaseException, outbox: Outbox) -> None:
        m = owner.message
        if isinstance(exc, StreamError):
            exc.topic, exc.partition, exc.offset = m.topic, m.partition, m.offset
        await outbox.reject(owner, exc, exc.reason if isinstance(exc, StreamError) else "decode")

    def encode(self, out: Emission) -> list[Output]:
        """Every row and alert of a batch, encoded, in publishing order (before anything is sent)."""
        now = datetime.now(timezone.utc)
        t = self.topics
        rows = [(t.index, r["category"].encode(), self.encode_row({**r, "emitted_at": now}))
                for r in (*out.updates, *out.finals)]
        alerts = [(t.alerts, a["category"].encode(), self.encode_alert({**a, "created_at": now}))
                  for a in out.alerts]
        return rows + alerts

    async def _publish(self, out: Emission, outputs: list[Output], pairs: Pairs, owner: faust.EventT,
                       outbox: Outbox) -> None:
        """Send the outputs (charged to ``owner`` if refused) and dead-letter the batch's late facts."""
        for topic, key, value in outputs:
            await outbox.output(owner, topic, key, value)
        late = {id(f) for f in out.late}
        for event, fact in pairs:
            if id(fact) in late:
                m = event.message
                await outbox.reject(event, LateEvent(f"item {fact.id} at {fact.ts} is older than the watermark",
                                                     topic=m.topic, partition=m.partition, offset=m.offset), "late")
        if out.late or out.duplicates:
            log.info("index batch: %d late, %d duplicates", len(out.late), len(out.duplicates))

    async def _one_by_one(self, pairs: Pairs, outbox: Outbox) -> int:
        """Fold, publish and write each fact on its own; a fact whose fold or encoding raises is dead-lettered."""
        dead = 0
        state = self.state
        for event, fact in pairs:
            try:
                out = index_batch(state, [fact], self.windows, self.cfg.index)
                outputs = self.encode(out)
            except Exception as exc:  # never flushed: the next begin() drops what it changed
                m = event.message
                await outbox.reject(event, StreamError(f"index fold failed for {fact.id}: {exc!r}", topic=m.topic,
                                                       partition=m.partition, offset=m.offset), "index")
                continue
            await self._publish(out, outputs, [(event, fact)], event, outbox)
            dead += await outbox.settle()  # this fact's finals and letters acked before its state is written
            state.flush()
        return dead + await outbox.settle()
