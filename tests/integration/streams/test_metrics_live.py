"""Issue 16 "Must show": /metrics of a running worker and sink move by the expected amounts while items
flow, /healthz and /readyz answer, and `tension lag` reports 0 once drained and the backlog while the
sink is stopped.

One pipeline (worker + files sink, real subprocesses) serves every assertion, so the test costs one
worker start-up. Items are published two minutes in the past, so each one's event-time → index-row
latency must land in the histogram between the 30 s and the 300 s bucket.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT
from tests.helpers import unique, wait_for
from tests.integration.streams.stream_support import Producer, Setup, Worker, seed_items, synthetic

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample of a /metrics page, keyed by (sample name, labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def status(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:  # not listening yet
        return 0, {}


def lag(env: dict[str, str], *groups: str) -> list[dict[str, Any]]:
    args = [a for g in groups for a in ("--group", g)]
    out = subprocess.run([sys.executable, "-m", "tension", "lag", "--json", *args], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout)


def fresh(n: int, tag: str) -> list[Any]:
    """n corpus texts with new ids, published two minutes ago (a live feed's latency, not a back-fill's)."""
    when = datetime.now(timezone.utc) - timedelta(minutes=2)
    return [i.model_copy(update={"id": f"{tag}-{k}", "published_at": when})
            for k, i in enumerate(synthetic(seed_items(), n, seed=len(tag)))]


def test_metrics_health_and_lag_follow_the_items(kafka: Any, tmp_path: Path) -> None:
    setup = Setup(kafka.bootstrap, tmp_path, partitions=2)
    t = setup.topics
    worker = Worker(setup).start()
    sink_port = free_port_block(span=1)
    env = setup.env(worker.port, "unused")
    env.update(TENSION_SINK__GROUP_PREFIX=unique("g.metrics"), TENSION_SINK__METRICS_PORT=str(sink_port),
               TENSION_SINK__BATCH_SECONDS="0.3")
    sink_group = f"{env['TENSION_SINK__GROUP_PREFIX']}-files"
    sink_log = open(tmp_path / "sink.log", "wb")

    def start_sink() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tension", "sink", "files", "--dir", str(tmp_path / "files")],
                                env=env, cwd=PROJECT_ROOT, stdout=sink_log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    sink = start_sink()
    producer = Producer(kafka.bootstrap)
    try:
        assert wait_for(lambda: status(worker.port, "/healthz")[0] == 200, 60, "worker /healthz"), worker.tail()
        wait_for(lambda: status(sink_port, "/healthz")[0] == 200, 60, "sink /healthz")
        # the sink is ready once assigned and caught up (empty topics); the worker once assigned and recovered
        wait_for(lambda: status(sink_port, "/readyz")[0] == 200, 60, "sink /readyz")
        wait_for(lambda: status(worker.port, "/readyz")[0] == 200, 60, "worker /readyz")
        w0, s0 = scrape(worker.port), scrape(sink_port)

        n = 30
        producer.items(t.raw, fresh(n, "m1"))
        facts = setup.cfg.facts_topic

        def sink_wrote(rows: int) -> bool:
            return value(scrape(sink_port), "tension_sink_rows_total", sink="files", kind="item") >= rows

        wait_for(lambda: sink_wrote(n), 60, f"{n} items written by the sink")
        wait_for(lambda: value(scrape(worker.port), "tension_event_to_index_seconds_count")
                 - value(w0, "tension_event_to_index_seconds_count") >= n, 30, "the index stage counting them")
        w1, s1 = scrape(worker.port), scrape(sink_port)

        def moved(after: Samples, before: Samples, name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved(w1, w0, "tension_stage_records_in_total", stage="classify", topic=t.raw) == n
        assert moved(w1, w0, "tension_stage_records_out_total", stage="classify", topic=t.classified) == n
        assert moved(w1, w0, "tension_stage_records_out_total", stage="classify", topic=facts) == n
        assert moved(w1, w0, "tension_stage_records_in_total", stage="index", topic=facts) == n
        assert moved(w1, w0, "tension_stage_records_out_total", stage="index", topic=t.index) > 0
        assert moved(w1, w0, "tension_stage_batch_seconds_count", stage="classify") >= 1
        assert 0 < moved(w1, w0, "tension_classify_seconds_total") <= moved(w1, w0, "tension_stage_batch_seconds_sum",
                                                                            stage="classify")
        # latency: every item counted once, each between 30 s and 300 s after its published_at
        assert moved(w1, w0, "tension_event_to_index_seconds_count") == n
        assert moved(w1, w0, "tension_event_to_index_seconds_bucket", le="30.0") == 0
        assert moved(w1, w0, "tension_event_to_index_seconds_bucket", le="300.0") == n
        assert 120 * n <= moved(w1, w0, "tension_event_to_index_seconds_sum") <= 300 * n
        delays = {dict(k[1])["category"]: v for k, v in w1.items() if k[0] == "tension_watermark_delay_seconds"}
        assert delays and all(120 <= d <= 600 for d in delays.values()), delays  # the items are 2 minutes old
        assert not any(moved(w1, w0, "tension_stage_dead_letters_total", **dict(k[1])) for k in w1
                       if k[0] == "tension_stage_dead_letters_total")
        # the sink: every item consumed and written; one write latency observation per batch
        assert moved(s1, s0, "tension_sink_records_in_total", sink="files", topic=t.classified) == n
        assert moved(s1, s0, "tension_sink_rows_total", sink="files", kind="item") == n
        batches = moved(s1, s0, "tension_sink_batches_total", sink="files")
        assert batches >= 1
        assert moved(s1, s0, "tension_sink_write_seconds_count", sink="files") == batches

        # drained: every partition of both groups at lag 0 (Faust commits every few seconds)
        groups = (setup.app_id, sink_group)

        def drained() -> list[dict[str, Any]] | None:
            rows = lag(env, *groups)
            return rows if {r["group"] for r in rows} == set(groups) and all(r["lag"] == 0 for r in rows) else None

        rows = wait_for(drained, 60, "tension lag at 0 for the worker and the sink")
        shown = subprocess.run([sys.executable, "-m", "tension", "lag"], env=env, cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
        assert shown[0].split() == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]
        for group in groups:  # the table mode: each group's total line, at 0
            assert any(line.split()[:2] == [group, "(total)"] and line.split()[-1] == "0" for line in shown), shown
        assert {(r["group"], r["topic"]) for r in rows} >= {(setup.app_id, t.raw), (sink_group, t.classified)}
        def worker_lag() -> dict[str, float]:
            return {str(sorted(labels)): v for (name, labels), v in scrape(worker.port).items()
                    if name == "tension_consumer_lag"}

        gauges: dict[str, float] = {}
        try:
            wait_for(lambda: (gauges.update(worker_lag()) or gauges) and not any(gauges.values()), 30,
                     "the worker's own lag gauges at 0")
        except AssertionError:
            raise AssertionError(f"worker lag gauges: {gauges}") from None

        # the sink stopped: its backlog is exactly what the worker published since
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(timeout=30) == 0
        m = 12
        producer.items(t.raw, fresh(m, "m2"))
        wait_for(lambda: value(scrape(worker.port), "tension_stage_records_out_total", stage="classify",
                               topic=t.classified) - value(w1, "tension_stage_records_out_total", stage="classify",
                                                           topic=t.classified) >= m, 60, "the worker classifying")

        def backlog() -> int:
            return sum(r["lag"] for r in lag(env, sink_group) if r["topic"] == t.classified)

        assert wait_for(lambda: backlog() == m, 30, f"a backlog of {m} items for the stopped sink")
        # the worker commits every few seconds: its raw lag returns to 0 by itself, the stopped sink's stays
        assert wait_for(lambda: all(r["lag"] == 0 for r in lag(env, setup.app_id) if r["topic"] == t.raw), 30,
                        "the worker's raw lag back at 0")
    finally:
        producer.flush()
        if sink.poll() is None:
            sink.send_signal(signal.SIGTERM)
            sink.wait(timeout=30)
        sink_log.close()
        worker.stop()
    assert os.path.exists(tmp_path / "files")
