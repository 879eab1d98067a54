"""Stage 1: news.raw.v1 → classify → news.classified.v1 (+ one index fact per item).

Every step of every record — decode, validate, classify, encode, send, and the
delivery ack — is guarded per record: what fails becomes a dead letter with its
reason and coordinates (``streams.agents.outbox``), and the batch goes on. No
exception leaves the agent for a record, since Faust would ack the batch and
restart the agent past records it never processed.

Throughput: records are taken in batches (``take_events``) and their outputs
handed to the producer in order without waiting for each delivery; the batch's
delivery futures are awaited once, at its end (``Outbox.settle``), before Faust
acks its offsets. Order per partition is kept because one producer sends in order.
The index facts of a batch travel *packed*: one facts record holds the facts of
many items (a JSON array, ``streams.facts``), so the index stage pays Faust's
per-record consumer machinery and the producer its per-record work once per pack,
not once per item (docs/streams.md, "Throughput").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import faust

from schemas.exceptions import DecodeError, UnknownSchemaError
from streams import metrics
from streams.agents.checks import check_event_time, check_item
from streams.agents.outbox import Outbox, reason_of
from streams.config import StreamConfig
from streams.exceptions import OutputTooLarge, StreamError
from streams.facts import FactPacker
from streams.processing import classify_news, fact_of
from streams.sending import Sender
from streams.tables import Tables
from streams.topics import Topics

log = logging.getLogger(__name__)

STAGE = "classify"


def register(app: faust.App, topics: Topics, tables: Tables, cfg: StreamConfig) -> None:
    stage = ClassifyStage(topics, cfg, Sender(app))

    @app.agent(topics.raw, name="classify")
    async def classify_items(stream: faust.StreamT) -> None:
        async for events in stream.take_events(cfg.batch_max, within=cfg.classify_within_s):
            await stage.process(events)


def reason_for(exc: BaseException, step: str) -> str:
    """Dead-letter reason of a failure in one step of the classify stage."""
    if isinstance(exc, DecodeError):
        return "decode"
    if isinstance(exc, UnknownSchemaError):
        return "schema"
    if isinstance(exc, StreamError):
        return exc.reason
    return {"decode": "decode", "classify": "classifier", "encode": "encode"}.get(step, reason_of(exc, "classifier"))


class ClassifyStage:
    """Decode → validate → classify → encode for a batch of raw records, then enqueue the outputs in order."""

    def __init__(self, topics: Topics, cfg: StreamConfig, sender: Sender) -> None:
        self.topics = topics
        self.cfg = cfg
        self.sender = sender
        serdes = cfg.serdes  # one setting decides the wire format of every output, dead letters included
        self.decode = serdes.deserializer("raw")
        self.encode = serdes.serializer("classified")
        self.encode_letter = serdes.serializer("deadletter")
        self.classify_s = 0.0  # classifier time of the batch under way (streams.metrics.CLASSIFY_SECONDS)

    async def process(self, events: Sequence[faust.EventT]) -> int:
        """Process one batch; returns how many records were dead-lettered."""
        started = time.perf_counter()
        metrics.count_in(STAGE, events)
        self.classify_s = 0.0
        outbox = Outbox(self.sender, self.topics.deadletter, STAGE, self.encode_letter)
        packer = FactPacker(self.sender.max_record_bytes)
        for event in events:
            try:
                await self._one(event, outbox, packer)
            except Exception as exc:  # a bug in a step not guarded below is still this record's failure
                await outbox.reject(event, exc, reason_for(exc, "classify"))
        # facts only of items whose classified record Kafka acked: the index never counts an
        # item that was dead-lettered instead of published (one round trip per batch)
        await outbox.settle_outputs()
        for owners, value in packer.packs(skip=outbox.rejected):
            await outbox.output_many(owners, self.topics.facts, None, value)
        dead = await outbox.settle()
        metrics.BATCH_SECONDS.labels(STAGE).observe(time.perf_counter() - started)
        metrics.CLASSIFY_SECONDS.inc(self.classify_s)
        return dead

    async def _one(self, event: faust.EventT, outbox: Outbox, packer: FactPacker) -> None:
        msg = event.message
        step = "decode"
        try:
            item = self.decode(event.value)
            check_item(item)
            step = "classify"
            t0 = time.perf_counter()
            record = classify_news(item, engine=self.cfg.classifier_engine)
            self.classify_s += time.perf_counter() - t0
            fact = fact_of(record, part=msg.partition)
            check_event_time(fact.ts)
            step = "encode"
            value = self.encode(record)
            fact_value = packer.encode(fact)
        except Exception as exc:  # bad input is data: dead-letter it and go on
            self._locate(exc, msg)
            await outbox.reject(event, exc, reason_for(exc, step))
            return
        key = fact.id.encode()
        for out in (value, fact_value):  # both outputs or none: check before sending either
            if not self.sender.fits(key, out):
                await outbox.reject(event, self._too_big(key, out, msg))
                return
        if await outbox.output(event, self.topics.classified, key, value, timestamp_s=fact.ts / 1000):
            # sent packed at the batch's end, timestamped with processing time (not event time:
            # old event times would let retention delete unread facts)
            packer.add(event, fact_value)

    def _too_big(self, key: bytes, value: bytes, msg: faust.types.Message) -> StreamError:
        return OutputTooLarge(f"output of {len(key) + len(value)} bytes exceeds the "
                              f"{self.sender.max_record_bytes}-byte record limit",
                              topic=msg.topic, partition=msg.partition, offset=msg.offset)

    @staticmethod
    def _locate(exc: BaseException, msg: faust.types.Message) -> None:
        """Give a StreamError raised without coordinates those of the record (for the log and the letter)."""
        if isinstance(exc, StreamError) and exc.topic is None:
            exc.topic, exc.partition, exc.offset = msg.topic, msg.partition, msg.offset
