"""Poison records cannot stop the worker: each is dead-lettered with its reason, the rest flows on.

A family of records that used to crash an agent (and made Faust commit past
the records behind them) is interleaved with good items on a real broker:
a raw value near 1 MB (its classified output is over the producer's limit), an
item whose id makes the outputs too big, undecodable bytes, trailing bytes
after the Avro body, a blank title, a published_at far in the future, and
index facts with ts inf / -inf / nan / 1e300 / -1e300. Every poison record
must be dead-lettered with its reason and coordinates, every good item
classified and indexed, and the group's committed offsets must reach the end
of the raw and facts topics.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from confluent_kafka import Producer as BigProducer

from schemas.serde import AvroSerializer
from schemas.deadletters import MAX_ORIGINAL_BYTES
from tests.integration.streams.stream_support import (
    Producer, Setup, Worker, read_topic, seed_items, wait_until_counted,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

encode = AvroSerializer("NewsItem")


def raw_poisons(template: dict) -> dict[bytes, tuple[bytes, str]]:
    """Key → (raw value, expected reason) of each poison record for news.raw.v1."""
    item = lambda **kw: {**template, **kw}  # noqa: E731
    return {
        # over the worker producer's 1 000 000-byte request limit, under the topic's 1 048 588 bytes
        b"poison-near-1mb": (encode(item(id="near-1mb", body="tariff " * 146_000)), "oversize"),
        b"poison-big-id": (encode(item(id="i" * 600_000)), "oversize"),
        b"poison-garbage": (b"\x00\x00\x00\x00\x07garbage", "decode"),
        b"poison-trailing": (encode(item(id="trailing")) + b"\x00\x01\x02", "decode"),
        b"poison-blank-title": (encode(item(id="blank", title="   ")), "validation"),
        b"poison-future": (encode(item(id="future", published_at=datetime(9000, 1, 1, tzinfo=timezone.utc))), "date"),
    }


FACT_POISONS = {f"fact-{name}".encode(): ts for name, ts in
                (("inf", float("inf")), ("-inf", float("-inf")), ("nan", float("nan")), ("1e300", 1e300),
                 ("-1e300", -1e300))}


def test_poison_records_are_dead_lettered_and_everything_else_is_processed(kafka: object, tmp_path: Path) -> None:
    s = Setup(kafka.bootstrap, tmp_path, partitions=1)  # type: ignore[attr-defined]
    good = sorted(seed_items(), key=lambda i: i.published_at)[:70]
    poisons = raw_poisons(good[0].to_avro())
    producer = Producer(s.bootstrap)
    producer.p = BigProducer({"bootstrap.servers": s.bootstrap, "enable.idempotence": True, "acks": "all",
                              "linger.ms": 5, "message.max.bytes": 1_048_000})  # what the broker takes
    assert 1_000_000 < len(poisons[b"poison-near-1mb"][0]) < 1_040_000
    worker = Worker(s).start()
    try:
        chunks = [good[k:k + 10] for k in range(0, len(good), 10)]
        assert len(chunks) == len(poisons) + 1
        for (key, (value, _reason)), chunk in zip(poisons.items(), chunks[:-1]):
            producer.items(s.topics.raw, chunk, flush=False)
            producer.bytes(s.topics.raw, key, value)  # broker time: "future" must not be refused by the broker
            producer.flush()
        for key, ts in FACT_POISONS.items():  # a foreign writer of facts: JSON with Infinity / NaN
            fact = {"id": key.decode(), "ts": ts, "cats": ["tariffs"], "t": 0.5, "dir": "escalation", "part": 0}
            producer.bytes(s.cfg.facts_topic, key, json.dumps(fact).encode())
        producer.flush()
        producer.items(s.topics.raw, chunks[-1])  # good items after every poison
        wait_until_counted(s, {i.id for i in good}, worker, 90)
        status, stats = worker.get("/api/categories")
        classified = read_topic(s.bootstrap, s.topics.classified, "ClassifiedItem")
        dead = read_topic(s.bootstrap, s.topics.deadletter, "DeadLetter")
    finally:
        worker.stop()
    assert "Traceback" not in worker.tail(400), worker.tail(60)

    ids = [r["item"]["id"] for r in classified]
    assert len(ids) == len(set(ids)) and set(ids) == {i.id for i in good}, set(ids) ^ {i.id for i in good}
    assert status == 200 and stats["counted"] == len(good), stats  # every good item indexed once
    by_key = {d["original_key"]: d for d in dead}
    assert len(dead) == len(poisons) + len(FACT_POISONS), [(d["original_key"][:30], d["reason"]) for d in dead]
    for key, (value, reason) in poisons.items():
        d = by_key[key]
        assert (d["reason"], d["stage"], d["source_topic"]) == (reason, "classify", s.topics.raw), d["error_message"]
        assert d["source_partition"] == 0 and d["source_offset"] is not None
        assert d["original"] == value[:MAX_ORIGINAL_BYTES]
        assert d["original_size"] == (len(value) if len(value) > MAX_ORIGINAL_BYTES else None)
    for key in FACT_POISONS:
        d = by_key[key]
        assert (d["reason"], d["stage"], d["source_topic"]) == ("date", "index", s.cfg.facts_topic), d["error_message"]
