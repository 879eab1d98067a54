"""Prometheus metrics and health of a sink runner (:class:`connectors.sinks.runner.SinkRunner`).

The runner calls these once per poll, batch or retry, never per record beyond a
C-level tally; the lag per partition is refreshed at most once a second from
librdkafka's cached watermarks (no broker round trip). The edge
(``tension sink``) serves them with :mod:`tension.observe` on
``TENSION_SINK__METRICS_PORT``: ``/metrics``, ``/healthz`` (the loop turns) and
``/readyz`` (partitions assigned and every one within ``ready_max_lag``).
Names are listed in docs/operations.md.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, float("inf"))

CONSUMED = Counter("tension_sink_records_in", "records a sink consumed, per topic", ["sink", "topic"])
ROWS = Counter("tension_sink_rows", "records a sink wrote to its store (committed transactions), per kind",
               ["sink", "kind"])
BATCHES = Counter("tension_sink_batches", "batches a sink wrote and committed", ["sink"])
RETRIES = Counter("tension_sink_retries", "batch writes the store refused and the sink retried", ["sink"])
DEAD_LETTERS = Counter("tension_sink_dead_letters", "records a sink dead-lettered", ["sink", "reason"])
WRITE_SECONDS = Histogram("tension_sink_write_seconds", "store write latency of one batch (write + flush)",
                          ["sink"], buckets=WRITE_BUCKETS)
LAG = Gauge("tension_sink_consumer_lag", "end offset − position of an assigned partition",
            ["sink", "topic", "partition"])

LAG_EVERY_S = 1.0
ALIVE_WITHIN_S = 120.0  # a loop that has not turned for this long is reported dead by /healthz


class SinkMetrics:
    """What one runner reports; also the state /healthz and /readyz answer from (thread-safe reads)."""

    def __init__(self, sink: str, ready_max_lag: int = 1000) -> None:
        self.sink = sink
        self.ready_max_lag = ready_max_lag
        self._lock = threading.Lock()
        self._lag: dict[tuple[str, int], int | None] = {}
        self._lag_at = 0.0
        self.tick_at = time.monotonic()
        self.running = False

    def consumed(self, messages: Iterable[Any]) -> None:
        for topic, n in Tally(m.topic() for m in messages if m.error() is None).items():
            CONSUMED.labels(self.sink, topic).inc(n)

    def written(self, records: Iterable[Any], seconds: float) -> None:
        for kind, n in Tally(r.kind for r in records).items():
            ROWS.labels(self.sink, kind).inc(n)
        BATCHES.labels(self.sink).inc()
        WRITE_SECONDS.labels(self.sink).observe(seconds)

    def retried(self) -> None:
        RETRIES.labels(self.sink).inc()

    def dead_lettered(self, reason: str) -> None:
        DEAD_LETTERS.labels(self.sink, reason).inc()

    def tick(self, consumer: Any, *, force: bool = False) -> None:
        """The loop turned; refresh the lag per partition at most every :data:`LAG_EVERY_S`."""
        now = time.monotonic()
        self.tick_at = now
        if not force and now - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = now
        lags: dict[tuple[str, int], int | None] = {}
        try:
            assigned = consumer.assignment()
            for tp in consumer.position(assigned) if assigned else []:
                low, high = consumer.get_watermark_offsets(tp, cached=True)
                if high is None or high < 0:
                    lags[(tp.topic, tp.partition)] = None  # nothing fetched yet
                else:
                    lags[(tp.topic, tp.partition)] = max(0, high - (tp.offset if tp.offset >= 0 else low))
        except Exception:  # noqa: BLE001 - a closed or rebalancing consumer: report what is known
            return
        with self._lock:
            gone = (set(self._lag) - set(lags)) | {k for k, n in lags.items() if n is None}
            self._lag = lags
        for topic, partition in gone:  # revoked or unknown now: no stale value stays exported
            try:
                LAG.remove(self.sink, topic, str(partition))
            except KeyError:
                pass
        for (topic, partition), n in lags.items():
            if n is not None:
                LAG.labels(self.sink, topic, str(partition)).set(n)

    def lag(self) -> dict[tuple[str, int], int | None]:
        with self._lock:
            return dict(self._lag)

    def total_lag(self) -> int | None:
        lags = self.lag()
        return None if not lags or any(n is None for n in lags.values()) else sum(n for n in lags.values() if n)

    def health(self) -> tuple[bool, dict[str, Any]]:
        age = time.monotonic() - self.tick_at
        return self.running and age < ALIVE_WITHIN_S, {"sink": self.sink, "running": self.running,
                                                        "loop_age_s": round(age, 1)}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        alive, detail = self.health()
        lags = self.lag()
        behind = sorted(f"{t}[{p}]" for (t, p), n in lags.items() if n is None or n > self.ready_max_lag)
        detail.update(assigned=len(lags), max_lag=self.ready_max_lag,
                      lag={f"{t}[{p}]": n for (t, p), n in sorted(lags.items())})
        ok = alive and bool(lags) and not behind
        if not ok:
            detail["why"] = ("not running" if not alive else "no partitions assigned" if not lags
                             else f"behind by more than {self.ready_max_lag}: {behind[:5]}")
        return ok, detail
