"""Stage 1: news.raw.v1 → classify → news.classified.v1 (+ per-category facts).

Undecodable records and classifier failures go to the dead-letter topic with
their coordinates; the agent keeps running.
"""

from __future__ import annotations

import json
import logging

import faust

from schemas.exceptions import DecodeError
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.config import StreamConfig
from streams.deadletters import dead_letter
from streams.processing import classify_news, event_time_ms, fanout
from streams.tables import Tables
from streams.topics import Topics

log = logging.getLogger(__name__)


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    decode = AvroDeserializer("NewsItem")
    encode = AvroSerializer("ClassifiedItem")
    facts = app.topic(f"{cfg.app_id}-category-facts", key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw", internal=True,
                      partitions=cfg.topics.partitions, replicas=cfg.topics.replication)

    @app.agent(topics.raw, name="classify")
    async def classify_items(stream: faust.StreamT) -> None:
        async for event in stream.events():
            msg = event.message
            try:
                item = decode(event.value)
                record = classify_news(item, engine=cfg.classifier_engine)
            except Exception as exc:  # bad input is data: dead-letter it and go on
                reason = "decode" if isinstance(exc, DecodeError) else "classifier"
                log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                await topics.deadletter.send(key=event.key, value=dead_letter(
                    event.value, event.key, exc, stage="classify", reason=reason,
                    topic=msg.topic, partition=msg.partition, offset=msg.offset))
                continue
            ts = event_time_ms(item) / 1000
            await topics.classified.send(key=item["id"].encode(), value=encode(record), timestamp=ts)
            for category, fact in fanout(record):
                await facts.send(key=category.encode(), value=json.dumps(fact).encode(), timestamp=ts)

    @app.agent(facts, name="count")
    async def count_categories(stream: faust.StreamT) -> None:
        async for event in stream.events():
            tables.category_counts[event.key.decode()] += 1
