"""Stage 1: news.raw.v1 → classify → news.classified.v1 (+ one index fact per item).

Undecodable records and classifier failures go to the dead-letter topic with
their coordinates; the agent keeps running.
"""

from __future__ import annotations

import json
import logging

import faust

from schemas.exceptions import DecodeError, UnknownSchemaError
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.config import StreamConfig
from streams.deadletters import dead_letter
from streams.processing import classify_news, fact_of
from streams.tables import Tables
from streams.topics import Topics

log = logging.getLogger(__name__)


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    decode = AvroDeserializer("NewsItem")
    encode = AvroSerializer("ClassifiedItem")

    @app.agent(topics.raw, name="classify")
    async def classify_items(stream: faust.StreamT) -> None:
        async for event in stream.events():
            msg = event.message
            try:
                item = decode(event.value)
                record = classify_news(item, engine=cfg.classifier_engine)
                fact = fact_of(record, part=msg.partition)
            except Exception as exc:  # bad input is data: dead-letter it and go on
                reason = ("decode" if isinstance(exc, DecodeError) else
                          "schema" if isinstance(exc, UnknownSchemaError) else "classifier")
                log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                await topics.deadletter.send(key=event.key, value=dead_letter(
                    event.value, event.key, exc, stage="classify", reason=reason,
                    topic=msg.topic, partition=msg.partition, offset=msg.offset), force=True)
                continue
            key = fact.id.encode()
            await topics.classified.send(key=key, value=encode(record), timestamp=fact.ts / 1000, force=True)
            # processing time, not event time: old event times would let retention delete unread facts
            await topics.facts.send(key=key, value=json.dumps(fact.to_json()).encode(), force=True)
