"""Duplicates, late events and undecodable bytes inside the stream, against a real worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.streams.stream_support import (
    Producer, Setup, Worker, flush_items, read_topic, reference_finals, seed_items, wait_for_finals,
    wait_until_counted,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_duplicates_late_and_garbage(kafka: object, tmp_path: Path) -> None:
    s = Setup(kafka.bootstrap, tmp_path)  # type: ignore[attr-defined]
    corpus = sorted(seed_items(), key=lambda i: i.published_at)[:200]
    first, second = corpus[:100], corpus[100:]
    late = first[0].model_copy(update={"id": "late-item", "published_at": corpus[-1].published_at - timedelta(days=30)})
    flush = flush_items(corpus[-1], s.partitions)
    producer = Producer(s.bootstrap)
    worker = Worker(s).start()
    try:
        producer.items(s.topics.raw, first)
        producer.items(s.topics.raw, first[:40])  # the same ids again: must not count twice
        for junk in (b"\x00\x00garbage", b"not avro at all", b"\xc3\x01" + b"\xff" * 12):
            producer.bytes(s.topics.raw, b"junk", junk)
        producer.items(s.topics.raw, second)  # valid items keep flowing after the garbage
        producer.items(s.topics.raw, [late])  # 30 days behind the watermark
        producer.items(s.topics.raw, flush)
        ids = {i.id for i in corpus + flush}
        wait_until_counted(s, ids, worker, 120)
        status, stats = worker.get("/api/categories")
        classified = [r for r in read_topic(s.bootstrap, s.topics.classified, "ClassifiedItem")
                      if r["item"]["id"] != late.id]
        expected = reference_finals(classified, s.cfg.index)
        live = wait_for_finals(s, expected, [worker], 60)
        dead = read_topic(s.bootstrap, s.topics.deadletter, "DeadLetter")
    finally:
        worker.stop()
    assert status == 200
    assert stats["counted"] == len(ids)
    assert stats["duplicates"] >= 40
    assert stats["late"] == 1
    assert live == expected

    decode = [d for d in dead if d["reason"] in ("decode", "schema")]  # unknown fingerprint → schema
    assert sorted(d["reason"] for d in decode) == ["decode", "decode", "schema"]
    assert all(d["stage"] == "classify" for d in decode)
    assert {d["original"] for d in decode} == {b"\x00\x00garbage", b"not avro at all", b"\xc3\x01" + b"\xff" * 12}
    assert all(d["source_topic"] == s.topics.raw and d["source_offset"] is not None for d in decode)
    late_letters = [d for d in dead if d["reason"] == "late"]
    assert len(late_letters) == 1 and late_letters[0]["stage"] == "index"
    assert late_letters[0]["original_key"] == b"late-item"
    assert late_letters[0]["source_topic"] == s.cfg.facts_topic
