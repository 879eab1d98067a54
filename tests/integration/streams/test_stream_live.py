"""Live equals replay: the seed corpus, shuffled within the grace, through a real worker.

The final index rows published by the live topology must equal, value for
value, the offline reference (`tension index`) computed from the same items.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.streams.stream_support import (
    Producer, Setup, Worker, flush_items, live_and_reference, seed_items, shuffled_within,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_live_final_rows_equal_offline_reference(kafka: object, tmp_path: Path) -> None:
    s = Setup(kafka.bootstrap, tmp_path)  # type: ignore[attr-defined]
    items = seed_items()
    ordered = sorted(items, key=lambda i: i.published_at)
    items += flush_items(ordered[-1], s.partitions)

    worker = Worker(s).start()
    try:
        # at most half the grace late: nothing may be dropped as late
        sent = shuffled_within(items, timedelta(hours=s.grace_hours / 2))
        assert sent != sorted(items, key=lambda i: i.published_at)
        Producer(s.bootstrap).items(s.topics.raw, sent)
        live, expected = live_and_reference(s, items, worker, 150)
    finally:
        worker.stop()
    assert len(expected) > 1000
    assert live == expected
