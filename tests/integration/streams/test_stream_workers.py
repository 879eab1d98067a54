"""Two workers: the second joins mid-stream, partitions rebalance, nothing is lost, and the
HTTP API answers for every category from either worker (forwarded to the state's owner)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.integration.streams.stream_support import (
    Producer, Setup, Worker, end_offset, flush_items, live_and_reference, seed_items, shuffled_within, synthetic,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_second_worker_mid_stream(kafka: object, tmp_path: Path) -> None:
    s = Setup(kafka.bootstrap, tmp_path, partitions=4)  # type: ignore[attr-defined]
    items = synthetic(seed_items(), 3000, seed=3, span_days=10)
    items += flush_items(max(items, key=lambda i: i.published_at), s.partitions)
    sent = shuffled_within(items, timedelta(hours=s.grace_hours / 2))
    producer = Producer(s.bootstrap)
    w1 = Worker(s, "w1").start()
    w2 = Worker(s, "w2")
    try:
        producer.items(s.topics.raw, sent[:1500])
        wait_for(lambda: end_offset(s.bootstrap, s.topics.classified) >= 300, 120, "w1 to be processing")
        w2.start()
        producer.items(s.topics.raw, sent[1500:])
        live, expected = live_and_reference(s, items, w1, 240)
        assert live == expected

        wait_for(lambda: "Setting newly assigned" in w2.log.read_text(errors="replace"), 60, "w2 to get partitions")
        categories = wait_for(lambda: _ok(w2, "/api/categories"), 60, "w2's API")["categories"]
        assert "overall" in categories and len(categories) == 6
        for worker in (w1, w2):
            for category in categories:
                status, body = worker.get(f"/api/index/{category}?window=24h")
                assert status == 200 and body["rows"], (worker.name, category, body)
                assert all(r["category"] == category for r in body["rows"])
                assert all(r["evidence"] == r["n_total"] and r["interval_level"] == 0.95 and
                           r["share_low"] <= r["share"] <= r["share_high"] for r in body["rows"])  # v2 interval
            # panes older than the retention behind the (flush-advanced) watermark have expired
            status, body = worker.get("/api/items?limit=2")
            assert status == 200 and len(body["items"]) == 2
            status, body = worker.get("/api/items?category=tariffs&limit=5")
            assert status == 200 and all("tariffs" in i["categories"] for i in body["items"])
            assert worker.get("/api/index/tariffs?window=7y")[0] == 400
            assert worker.get("/api/index/tariffs?from=yesterday")[0] == 400
            assert worker.get("/api/index/nonsense")[0] == 404
            assert worker.get("/api/items?limit=0")[0] == 400
            status, spec = worker.get("/api/openapi.json")
            assert status == 200 and "/api/index/{category}" in spec["paths"]
            assert {"index_low", "index_high", "sparse"} <= set(spec["components"]["schemas"]["IndexRow"]["properties"])
    finally:
        w2.stop()
        w1.stop()
    assert "t.raw-" in w2.log.read_text(errors="replace")  # w2 owned some raw partitions after the rebalance


def _ok(worker: Worker, path: str) -> dict | None:
    try:
        status, body = worker.get(path)
    except OSError:
        return None
    return body if status == 200 else None
