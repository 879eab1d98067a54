"""Prometheus metrics of the worker, and its /metrics, /healthz and /readyz pages.

Cheap on the hot path (the worker is benchmarked, issue 15): the stages count
once per batch (``observe_batch``), the outbox once per batch and topic; what
can be read at scrape time (consumer lag, watermark) is read then, by a
collector, never on the way of a record. Every metric lives in the default
``prometheus_client`` registry, defined once per process at import; the app a
collector reads is bound by :func:`register` (the last app created wins, which
is the one a worker process runs).

Names are listed in docs/operations.md; the Grafana dashboard
(``deploy/grafana/tension.json``) reads only these (a unit test checks).
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.config import StreamConfig
from streams.state import TableState
from streams.windows import Windows, cut_of

log = logging.getLogger(__name__)

# Event time → index row: seconds for a live feed, up to weeks for a back-fill.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400,
                   30 * 86_400, float("inf"))
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

RECORDS_IN = Counter("tension_stage_records_in", "records a stage took from a topic", ["stage", "topic"])
RECORDS_OUT = Counter("tension_stage_records_out", "records a stage published (acked by Kafka)", ["stage", "topic"])
DEAD_LETTERS = Counter("tension_stage_dead_letters", "records a stage dead-lettered", ["stage", "reason"])
BATCH_SECONDS = Histogram("tension_stage_batch_seconds", "wall time of one batch of a stage, from taking it to "
                          "its outputs and dead letters acked", ["stage"], buckets=BATCH_BUCKETS)
CLASSIFY_SECONDS = Counter("tension_classify_seconds", "time spent in the classifier (added once per batch); "
                           "per item: divide by the classify stage's records in")
EVENT_TO_INDEX = Histogram("tension_event_to_index_seconds", "published_at of an item → the index rows counting it "
                           "acked by Kafka", buckets=LATENCY_BUCKETS)


def count_in(stage: str, events: Iterable[faust.EventT]) -> None:
    """Count a batch of records in, by topic (one label lookup per topic, not per record)."""
    tally = Tally(e.message.topic for e in events)
    for topic, n in tally.items():
        RECORDS_IN.labels(stage, topic).inc(n)


def count_out(stage: str, per_topic: Tally[str]) -> None:
    for topic, n in per_topic.items():
        RECORDS_OUT.labels(stage, topic).inc(n)


class WorkerCollector(Collector):
    """Scrape-time gauges: consumer lag per partition, index watermark and per-category event-time delay."""

    def __init__(self) -> None:
        self.app: faust.App | None = None
        self.table: Any = None  # the index_state table, read through a TableState of its own at scrape
        self.cfg: StreamConfig | None = None
        self.latest_ms: dict[str, int] = {}  # category → newest event time the index stage folded

    def note_events(self, facts: Iterable[Any]) -> None:
        """Remember each category's newest event time (called once per index batch)."""
        latest = self.latest_ms
        for f in facts:
            for c in f.categories:
                if f.ts > latest.get(c, -(2**62)):
                    latest[c] = f.ts

    def offsets(self) -> list[tuple[str, int, int | None, int | None]]:
        """(topic, partition, committed, end) of every partition an agent of this worker consumes.

        Changelog partitions (read by table recovery and standbys, never committed) and
        Faust's assignor-leader topic are assigned too, but are no consumer lag.
        """
        app = self.app
        if app is None:
            return []
        try:
            consumer = app.consumer
            assigned = sorted(consumer.assignment())
            skip = set(app.tables.changelog_topics) | {f"{app.conf.id}-__assignor-__leader"}
        except Exception:  # not started or already stopped
            return []
        out = []
        for tp in (tp for tp in assigned if tp.topic not in skip):
            committed = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]  # Faust has no public accessor
            try:
                end = consumer.highwater(tp)
            except Exception:
                end = None
            out.append((tp.topic, tp.partition, committed, end))
        return out

    def lags(self) -> list[tuple[str, int, int | None]]:
        """(topic, partition, lag) where lag = end offset − committed offset (None while unknown)."""
        result = []
        for topic, partition, committed, end in self.offsets():
            lag = None if end is None or end < 0 else max(0, end - (committed or 0))
            result.append((topic, partition, lag))
        return result

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily("tension_consumer_lag", "end offset − committed offset of an assigned partition",
                                labels=["topic", "partition"])
        for topic, partition, n in self.lags():
            if n is not None:
                lag.add_metric([topic, str(partition)], n)
        yield lag
        now = time.time()
        delay = GaugeMetricFamily("tension_watermark_delay_seconds", "wall clock − the newest event time "
                                  "folded into the index, per category", labels=["category"])
        for category, ms in sorted(self.latest_ms.items()):
            delay.add_metric([category], now - ms / 1000)
        yield delay
        mark = GaugeMetricFamily("tension_index_watermark_seconds", "the index watermark (event time, unix s): "
                                 "windows ending before it are final")
        cut = self._watermark()
        if cut is not None:
            mark.add_metric([], cut / 1000)
        yield mark

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # names only: collect() would read the app at registration time
        yield GaugeMetricFamily("tension_consumer_lag", "", labels=["topic", "partition"])
        yield GaugeMetricFamily("tension_watermark_delay_seconds", "", labels=["category"])
        yield GaugeMetricFamily("tension_index_watermark_seconds", "")

    def _watermark(self) -> int | None:
        """The index watermark, read like the API reads it: a fresh read-only state, never the stage's own."""
        if self.table is None or self.cfg is None:
            return None
        try:
            return cut_of(TableState(self.table, self.cfg.index).meta(), Windows.from_config(self.cfg.index))
        except Exception:  # this worker does not own the index partition, or it is not recovered yet
            return None


COLLECTOR = WorkerCollector()
REGISTRY.register(COLLECTOR)


def readiness(app: faust.App, max_lag: int) -> tuple[bool, dict[str, Any]]:
    """Ready: partitions assigned, tables recovered, not rebalancing, every partition within ``max_lag``."""
    from streams.web import ready as app_ready

    lags = COLLECTOR.lags()
    detail: dict[str, Any] = {"assigned": len(lags), "max_lag": max_lag,
                              "lag": {f"{t}[{p}]": n for t, p, n in lags}}
    behind = [k for k, n in detail["lag"].items() if n is None or n > max_lag]
    ok = bool(lags) and app_ready(app) and not behind
    if not ok:
        detail["why"] = ("no partitions assigned" if not lags else "starting or rebalancing" if not app_ready(app)
                         else f"behind by more than {max_lag}: {behind[:5]}")
    return ok, detail


def register(app: faust.App, cfg: StreamConfig, table: Any = None) -> None:
    """Serve /metrics, /healthz and /readyz on the worker's web port; bind the collector to ``app``."""
    COLLECTOR.app, COLLECTOR.cfg, COLLECTOR.table = app, cfg, table

    async def metrics(view: View, request: Request) -> Response:
        return view.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    async def healthz(view: View, request: Request) -> Response:
        return view.json({"status": "alive"})

    async def readyz(view: View, request: Request) -> Response:
        ok, detail = readiness(app, cfg.ready_max_lag)
        return view.json({"status": "ready" if ok else "not ready", **detail}, status=200 if ok else 503)

    app.page("/metrics")(metrics)
    app.page("/healthz")(healthz)
    app.page("/readyz")(readyz)
