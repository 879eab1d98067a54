"""Stage 1: news.raw.v1 → classify → news.classified.v1 (+ one index fact per item).

Undecodable records and classifier failures go to the dead-letter topic with
their coordinates; the agent keeps running.

Throughput: records are taken in batches (``take_events``) and their outputs
handed to the producer in order without waiting for each delivery. Faust acks
a batch's offsets only after the body returns and flushes the producer before
it commits them, so the guarantee is the one of a per-record ``await send``
(at-least-once; order per partition kept because one producer sends in order).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import faust

from schemas.exceptions import DecodeError, UnknownSchemaError
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.config import StreamConfig
from streams.deadletters import dead_letter
from streams.processing import classify_news, fact_of
from streams.sending import Sender
from streams.tables import Tables
from streams.topics import Topics

log = logging.getLogger(__name__)


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    stage = ClassifyStage(topics, cfg, Sender(app))

    @app.agent(topics.raw, name="classify")
    async def classify_items(stream: faust.StreamT) -> None:
        async for events in stream.take_events(cfg.batch_max, within=cfg.classify_within_s):
            await stage.process(events)


class ClassifyStage:
    """Decode → classify → encode for a batch of raw records, then enqueue the outputs in order."""

    def __init__(self, topics: Topics, cfg: StreamConfig, sender: Sender) -> None:
        self.topics = topics
        self.cfg = cfg
        self.sender = sender
        self.decode = AvroDeserializer("NewsItem")
        self.encode = AvroSerializer("ClassifiedItem")

    async def process(self, events: Sequence[faust.EventT]) -> None:
        classified, facts = self.topics.classified, self.topics.facts
        for event in events:
            msg = event.message
            try:
                record = classify_news(self.decode(event.value), engine=self.cfg.classifier_engine)
                fact = fact_of(record, part=msg.partition)
                value = self.encode(record)
            except Exception as exc:  # bad input is data: dead-letter it and go on
                await self._dead_letter(event, exc)
                continue
            key = fact.id.encode()
            await self.sender.send(classified, key, value, timestamp_s=fact.ts / 1000)
            # processing time, not event time: old event times would let retention delete unread facts
            await self.sender.send(facts, key, json.dumps(fact.to_json()).encode())

    async def _dead_letter(self, event: faust.EventT, exc: Exception) -> None:
        msg = event.message
        reason = ("decode" if isinstance(exc, DecodeError) else
                  "schema" if isinstance(exc, UnknownSchemaError) else "classifier")
        log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
        await self.topics.deadletter.send(key=event.key, value=dead_letter(
            event.value, event.key, exc, stage="classify", reason=reason,
            topic=msg.topic, partition=msg.partition, offset=msg.offset), force=True)
