"""Metric names, the Grafana dashboard's queries, the health/metrics endpoint, readiness and `tension lag`'s
pure parts (issue 16 points 1-3). The live behaviour is in tests/integration/streams/test_metrics_live.py."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import connectors.sinks.metrics as sink_metrics
import streams.metrics as worker_metrics
import dashboard.metrics as dash_metrics
from connectors.sources.follow import FollowMetrics
from tension.lag import PartitionLag, product_groups, table
from tension.observe import FOLLOW_METRICS, ObserveServer, SamplesCollector
from tension.settings import PROJECT_ROOT

GRAFANA = PROJECT_ROOT / "deploy" / "grafana" / "tension.json"
OPS_DOC = PROJECT_ROOT / "docs" / "operations.md"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gauge": ("",), "unknown": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
                "unless", "inf", "nan"}


def families() -> dict[str, str]:
    """Every tension_* metric family the processes can export: name → type."""
    follow = CollectorRegistry()
    metrics = FollowMetrics()
    metrics.error("http_500")
    follow.register(SamplesCollector(metrics.samples, FOLLOW_METRICS))
    assert worker_metrics and sink_metrics and dash_metrics  # imported: their metrics are in REGISTRY
    return {f.name: f.type for reg in (REGISTRY, follow) for f in reg.collect() if f.name.startswith("tension_")}


def sample_names() -> set[str]:
    return {name + suffix for name, kind in families().items() for suffix in SUFFIXES[kind]}


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers outside label sets, grouping and ranges."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        follows = text[m.end():].lstrip()[:1]
        if word.lower() in PROMQL_WORDS or follows == "(" or word.startswith("$"):
            continue
        names.add(word)
    return names


def grafana_exprs() -> list[str]:
    dash = json.loads(GRAFANA.read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("expr", grafana_exprs())
def test_grafana_queries_name_only_metrics_that_exist(expr: str) -> None:
    named = metric_names_in(expr)
    assert named, f"a query naming no metric: {expr}"
    assert named <= sample_names(), f"{expr}: unknown metric(s) {sorted(named - sample_names())}"


@pytest.mark.parametrize("expr,names", [
    ('sum by (stage, topic) (rate(tension_stage_records_in_total{stage="x"}[5m]))', {"tension_stage_records_in_total"}),
    ("time() - max(tension_index_watermark_seconds)", {"tension_index_watermark_seconds"}),
    ("histogram_quantile(0.5, sum by (le) (rate(nope_bucket[1m])))", {"nope_bucket"}),
    ("a_total / on (x) group_left b_total", {"a_total", "b_total"}),
])
def test_the_query_reader_finds_every_metric(expr: str, names: set[str]) -> None:
    assert metric_names_in(expr) == names


def test_the_existence_check_bites_on_made_up_and_misspelt_names() -> None:
    known = sample_names()
    assert {"tension_stage_records_in_total", "tension_event_to_index_seconds_bucket"} <= known
    for wrong in ("nope_total", "tension_stage_records_in", "tension_sink_rows_bucket", "tension_consumer_lags"):
        assert metric_names_in(f"sum(rate({wrong}[5m]))") - known == {wrong}


def test_the_grafana_dashboard_shows_every_metric() -> None:
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for e in grafana_exprs() for n in metric_names_in(e)}
    assert set(families()) <= shown, sorted(set(families()) - shown)


def test_every_metric_is_documented_and_the_doc_names_no_other() -> None:
    doc = OPS_DOC.read_text()
    listed = set(re.findall(r"`(tension_[a-z0-9_]+)`", doc))
    exported = {n + ("_total" if k == "counter" else "") for n, k in families().items()}
    assert exported == listed, (sorted(exported - listed), sorted(listed - exported))


# -- the endpoint of sinks and followers ----------------------------------------------------------------

def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def server() -> Iterator[tuple[ObserveServer, dict[str, Any]]]:
    answer: dict[str, Any] = {"alive": (True, {}), "ready": (False, {"why": "x"})}

    def check(kind: str) -> Any:
        def run() -> tuple[bool, dict[str, Any]]:
            value = answer[kind]
            if isinstance(value, Exception):
                raise value
            return value
        return run

    registry = CollectorRegistry()
    metrics = FollowMetrics()
    metrics.count("polls", 3)
    registry.register(SamplesCollector(metrics.samples, FOLLOW_METRICS))
    srv = ObserveServer("127.0.0.1", 0, alive=check("alive"), ready=check("ready"), registry=registry).start()
    try:
        yield srv, answer
    finally:
        srv.stop()


@pytest.mark.parametrize("path,outcome,code", [
    ("/healthz", (True, {}), 200), ("/healthz", (False, {"why": "stuck"}), 503),
    ("/healthz", RuntimeError("boom"), 503), ("/readyz", (True, {"lag": {}}), 200),
    ("/readyz", (False, {"why": "behind"}), 503), ("/readyz", ValueError("no"), 503),
])
def test_health_paths_answer_their_check(server: Any, path: str, outcome: Any, code: int) -> None:
    srv, answer = server
    answer["alive" if path == "/healthz" else "ready"] = outcome
    status, body = get(srv.port, path + "?x=1")
    assert status == code
    doc = json.loads(body)
    assert doc["status"] in (("alive", "ready") if code == 200 else ("dead", "not ready"))
    if isinstance(outcome, Exception):
        assert type(outcome).__name__ in doc["why"]


def test_metrics_path_serves_the_registry_and_unknown_paths_404(server: Any) -> None:
    srv, _ = server
    status, body = get(srv.port, "/metrics")
    assert status == 200
    values = {s.name: s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples}
    assert values["tension_follow_polls_total"] == 3
    assert values["tension_follow_new_entries_total"] == 0
    assert get(srv.port, "/nope")[0] == 404


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(["timeout", "http_500", "parse", "http_404"]), st.integers(1, 50)),
       st.integers(0, 20))
def test_follow_samples_become_counters(errors: dict[str, int], polls: int) -> None:
    metrics = FollowMetrics()
    metrics.count("polls", polls)
    for reason, n in errors.items():
        for _ in range(n):
            metrics.error(reason)
    registry = CollectorRegistry()
    registry.register(SamplesCollector(metrics.samples, FOLLOW_METRICS))
    assert registry.get_sample_value("tension_follow_polls_total") == polls
    for reason, n in errors.items():
        assert registry.get_sample_value("tension_follow_errors_total", {"reason": reason}) == n


# -- sink readiness ------------------------------------------------------------------------------------

class _TP:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


class FakeConsumer:
    """assignment/position/get_watermark_offsets of confluent-kafka's Consumer, from (position, high) pairs."""

    def __init__(self, parts: dict[int, tuple[int, int]]) -> None:
        self.parts = parts

    def assignment(self) -> list[_TP]:
        return [_TP("t", p, -1001) for p in self.parts]

    def position(self, tps: list[_TP]) -> list[_TP]:
        return [_TP(tp.topic, tp.partition, self.parts[tp.partition][0]) for tp in tps]

    def get_watermark_offsets(self, tp: _TP, cached: bool = False) -> tuple[int, int]:
        assert cached, "the loop must not ask the broker"
        return 0, self.parts[tp.partition][1]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 5), st.tuples(st.integers(-1001, 500), st.integers(-1001, 500)), max_size=6),
       st.integers(0, 100), st.booleans())
def test_a_sink_is_ready_when_assigned_and_every_partition_is_within_the_lag(
        parts: dict[int, tuple[int, int]], max_lag: int, running: bool) -> None:
    m = sink_metrics.SinkMetrics(f"unit-{len(parts)}", ready_max_lag=max_lag)
    m.running = running
    m.tick(FakeConsumer(parts), force=True)
    lags = {p: (None if high < 0 else max(0, high - (pos if pos >= 0 else 0))) for p, (pos, high) in parts.items()}
    expected = running and bool(parts) and all(n is not None and n <= max_lag for n in lags.values())
    ok, detail = m.readiness()
    assert ok == expected, detail
    assert detail["lag"] == {f"t[{p}]": n for p, n in sorted(lags.items())}
    assert m.health()[0] == running
    for p, n in lags.items():
        gauge = REGISTRY.get_sample_value("tension_sink_consumer_lag", {"sink": m.sink, "topic": "t",
                                                                         "partition": str(p)})
        assert gauge == (None if n is None else n)


# -- worker readiness ----------------------------------------------------------------------------------

class _FakeFaustConsumer:
    def __init__(self, offsets: dict[tuple[str, int], tuple[int | None, int]]) -> None:
        from faust.types import TP

        self.TP = TP
        self.offsets = offsets
        self._committed_offset = {TP(t, p): c for (t, p), (c, _) in offsets.items()}

    def assignment(self) -> set[Any]:
        return set(self._committed_offset)

    def highwater(self, tp: Any) -> int:
        return self.offsets[(tp.topic, tp.partition)][1]


class _FakeApp:
    def __init__(self, offsets: dict[tuple[str, int], tuple[int | None, int]]) -> None:
        self.consumer = _FakeFaustConsumer(offsets)
        self.tables = type("T", (), {"changelog_topics": {"app-state-changelog"}})()
        self.conf = type("C", (), {"id": "app"})()


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from(["raw", "facts", "app-state-changelog", "app-__assignor-__leader"]),
                                 st.integers(0, 3)),
                       st.tuples(st.one_of(st.none(), st.integers(0, 200)), st.integers(0, 400)), max_size=8))
def test_worker_lag_counts_only_agent_partitions(offsets: dict[tuple[str, int], tuple[int | None, int]]) -> None:
    collector = worker_metrics.WorkerCollector()
    collector.app = _FakeApp(offsets)  # type: ignore[assignment]
    got = {(t, p): n for t, p, n in collector.lags()}
    want = {k: max(0, end - (c or 0)) for k, (c, end) in offsets.items() if k[0] in ("raw", "facts")}
    assert got == want
    fams = {f.name: f for f in collector.collect()}
    assert {(s.labels["topic"], int(s.labels["partition"])): s.value
            for s in fams["tension_consumer_lag"].samples} == want


# -- tension lag ---------------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(st.sampled_from("abts-.x"), max_size=14), max_size=12))
def test_product_groups_are_the_worker_and_the_sinks(names: list[str]) -> None:
    got = product_groups(names, "ts", "sk")
    assert got == sorted({n for n in names if n == "ts" or n.startswith("sk-")})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["g1", "g2"]), st.integers(0, 3), st.integers(0, 1000),
                          st.integers(0, 1000)), max_size=8, unique_by=lambda r: (r[0], r[1])))
def test_the_lag_table_has_a_row_per_partition_and_a_total_per_group(rows: list[tuple[str, int, int, int]]) -> None:
    lags = [PartitionLag(g, "t", p, c, max(c, e), max(c, e) - c) for g, p, c, e in rows]
    lines = table(lags).splitlines()
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]
    groups = {r.group for r in lags}
    assert len(lines) == 1 + len(lags) + len(groups)
    for g in groups:
        total = next(line for line in lines if line.startswith(g) and "(total)" in line)
        assert int(total.split()[-1]) == sum(r.lag for r in lags if r.group == g)


# -- the dashboard -------------------------------------------------------------------------------------

def test_dashboard_counts_requests_by_route_and_serves_metrics(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from dashboard.server import create_app
    from dashboard.store import open_store
    from dashboard.synthetic import SyntheticSpec, write_store

    db = tmp_path / "d.sqlite"
    write_store(db, SyntheticSpec(days=2))

    def count(route: str, status: str) -> float:
        return REGISTRY.get_sample_value("tension_dashboard_requests_total", {"route": route, "status": status}) or 0

    before = count("/api/overview", "200"), count("unmatched", "404")

    async def go() -> tuple[int, str, int]:
        async with TestClient(TestServer(create_app(open_store(f"sqlite:///{db}")))) as client:
            for _ in range(3):
                assert (await client.get("/api/overview")).status == 200
            for k in range(2):
                assert (await client.get(f"/no/such/{k}")).status == 404
            metrics = await client.get("/metrics")
            health = await client.get("/healthz")
            return metrics.status, await metrics.text(), health.status

    status, text, health = asyncio.run(go())
    assert status == 200 and health == 200
    assert "tension_dashboard_request_seconds_bucket" in text
    assert (count("/api/overview", "200") - before[0], count("unmatched", "404") - before[1]) == (3, 2)


# -- the sink runner's counters ------------------------------------------------------------------------

class _Idle:
    """The consumer calls SinkRunner._write and _idle make while a store refuses a batch."""

    def assignment(self) -> list[Any]:
        return []

    def pause(self, _tps: Any) -> None: ...

    def resume(self, _tps: Any) -> None: ...

    def consume(self, num_messages: int = 1, timeout: float = 0) -> list[Any]:
        return []


@pytest.mark.parametrize("failures,bad", [(0, ()), (1, ()), (3, (2,)), (0, (0, 4, 5))])
def test_sink_runner_counts_rows_batches_retries_dead_letters_and_write_time(failures: int, bad: tuple[int, ...]) -> None:
    from connectors.sinks.base import SinkRecord
    from connectors.sinks.runner import SinkRunner, _Batch
    from tests.unit.connectors.sinks.test_sinks import _Producer, _Picky

    class Flaky(_Picky):
        name = f"flaky{failures}{len(bad)}"

        def __init__(self) -> None:
            super().__init__()
            self.left = failures

        def write_batch(self, records: list[SinkRecord]) -> None:
            if self.left:
                self.left -= 1
                raise ConnectionError("store away")
            super().write_batch(records)

    sink = Flaky()
    runner = SinkRunner(sink, bootstrap="x", topics={"t": "item"}, group_id="g", deadletter_topic="dlq",
                        retry_initial_s=0.001, max_retry_s=0.002)
    runner.dead_letters.producer = _Producer()
    runner._batch = _Batch(records=[SinkRecord("item", {"tension": -0.5 if i in bad else 0.5}, "t", 0, i)
                                    for i in range(6)])

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"sink": sink.name, **labels}) or 0.0

    runner._write(_Idle())  # type: ignore[arg-type]
    assert value("tension_sink_retries_total") == failures
    assert value("tension_sink_batches_total") == 1
    assert value("tension_sink_write_seconds_count") == 1
    assert value("tension_sink_rows_total", kind="item") == 6 - len(bad)  # what the store took
    assert value("tension_sink_dead_letters_total", reason="constraint") == len(bad)
    assert sorted(sink.stored) == [i for i in range(6) if i not in bad]


def test_a_following_producer_serves_its_counters_on_its_metrics_port() -> None:
    from tension.cli.produce_cmd import _follow_metrics
    from tension.settings import Settings

    follower = type("F", (), {"metrics": FollowMetrics()})()
    follower.metrics.count("new_entries", 4)
    follower.metrics.error("http_500")
    off = Settings(_env_file=None)  # type: ignore[call-arg]
    assert _follow_metrics(follower, off) is None  # no port: nothing served, nothing registered
    server = _follow_metrics(follower, Settings(_env_file=None, producer={"metrics_port": 0}))  # type: ignore[call-arg]
    try:
        status, body = get(server.port, "/metrics")
        values = {(s.name, tuple(s.labels.items())): s.value
                  for f in text_string_to_metric_families(body.decode()) for s in f.samples}
        assert status == 200
        assert values[("tension_follow_new_entries_total", ())] == 4
        assert values[("tension_follow_errors_total", (("reason", "http_500"),))] == 1
        assert get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
        for collector in [c for c in list(REGISTRY._collector_to_names) if isinstance(c, SamplesCollector)]:
            REGISTRY.unregister(collector)


@pytest.mark.parametrize("offsets,app_ready,max_lag,ok,why", [
    ({}, True, 10, False, "no partitions assigned"),
    ({("raw", 0): (5, 5)}, False, 10, False, "starting or rebalancing"),
    ({("raw", 0): (5, 5), ("facts", 0): (None, 30)}, True, 10, False, "behind by more than 10"),
    ({("raw", 0): (5, 15), ("facts", 0): (30, 30)}, True, 10, True, None),
    ({("raw", 0): (0, 0), ("app-state-changelog", 0): (None, 999)}, True, 0, True, None),
])
def test_worker_readiness(monkeypatch: pytest.MonkeyPatch, offsets: Any, app_ready: bool, max_lag: int, ok: bool,
                          why: str | None) -> None:
    import streams.web

    monkeypatch.setattr(worker_metrics, "COLLECTOR", worker_metrics.WorkerCollector())
    worker_metrics.COLLECTOR.app = _FakeApp(offsets)  # type: ignore[assignment]
    monkeypatch.setattr(streams.web, "ready", lambda _app: app_ready)
    got, detail = worker_metrics.readiness(worker_metrics.COLLECTOR.app, max_lag)  # type: ignore[arg-type]
    assert got == ok, detail
    assert (detail.get("why") or "").startswith(why or "")
    assert ("why" in detail) == (not ok)


@pytest.mark.parametrize("command", [["sink", "sqlite"], ["sink", "files"]])
def test_a_taken_metrics_port_stops_a_sink_with_one_line_naming_the_setting(tmp_path: Path, command: list[str]) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as fake_kafka, socket.socket() as taken:
        fake_kafka.bind(("127.0.0.1", 0))
        fake_kafka.listen()  # the edge's reachability check is a TCP connect: this passes it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
        env.update(TENSION_KAFKA_BOOTSTRAP=f"127.0.0.1:{fake_kafka.getsockname()[1]}",
                   TENSION_SINK__METRICS_PORT=str(port),
                   TENSION_SINK__SQLITE_PATH=str(tmp_path / "s.sqlite"), TENSION_SINK__FILES_DIR=str(tmp_path / "f"))
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "tension", *command], capture_output=True, text=True, env=env,
                              cwd=PROJECT_ROOT, timeout=60)
        took = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "TENSION_SINK__METRICS_PORT" in last and f":{port} " in last
    assert "Traceback" not in proc.stderr
    assert took < 10
