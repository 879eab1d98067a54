"""Crash: 10,000 items, the worker SIGKILLed twice mid-stream, final rows still equal the reference.

Durable setup as documented in docs/streams.md: rocksdb:// store (rocksdict)
+ changelog topic, at-least-once delivery with idempotent aggregation.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.integration.streams.stream_support import (
    Producer, Setup, Worker, end_offset, flush_items, live_and_reference, seed_items, shuffled_within, synthetic,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_twice_mid_stream_loses_nothing_and_counts_nothing_twice(kafka: object, tmp_path: Path) -> None:
    s = Setup(kafka.bootstrap, tmp_path)  # type: ignore[attr-defined]
    items = synthetic(seed_items(), 10_000, span_days=20)
    items += flush_items(max(items, key=lambda i: i.published_at), s.partitions)
    sent = shuffled_within(items, timedelta(hours=s.grace_hours / 2))
    producer = Producer(s.bootstrap)
    classified = s.topics.classified  # one record per item (facts travel packed, streams.facts)
    worker = Worker(s).start()
    try:
        chunks = [sent[:4000], sent[4000:7000], sent[7000:]]
        for round_, chunk in enumerate(chunks[:2]):
            before = end_offset(s.bootstrap, classified)
            producer.items(s.topics.raw, chunk)
            # kill while the worker is busy with this chunk: some but not all of it classified
            wait_for(lambda: end_offset(s.bootstrap, classified) >= before + len(chunk) // 4, 120,
                     f"worker to be mid-way through chunk {round_}", interval_s=0.05)
            assert end_offset(s.bootstrap, classified) < before + len(chunk), "chunk finished before the kill"
            worker.kill(signal.SIGKILL)
            worker.start()
        producer.items(s.topics.raw, chunks[2])
        live, expected = live_and_reference(s, items, worker, 240)
    finally:
        worker.stop()
    assert worker.runs == 3
    assert live == expected
