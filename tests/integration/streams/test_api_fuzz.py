"""Fuzzing both HTTP APIs: no path, method or query may produce a 5xx or show a traceback.

* The dashboard API (``dashboard/api.py``): the real aiohttp app over a
  temporary SQLite store, through aiohttp's test client.
* The worker API (``streams/web.py``): a real ``tension worker`` subprocess
  against the session's broker. It is hit from the moment it is spawned, so
  the start-up window is fuzzed too (every answer then is 200/4xx, or 503
  with ``Retry-After``).

Each test prints its example count and how many 5xx answers it saw (zero), for
the record (``pytest -s`` shows them).
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponseError
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.server import create_app
from dashboard.store import open_store
from dashboard.synthetic import SyntheticSpec, write_store

EXAMPLES = 300
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/')
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]

nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "0", "-1", "1", "20", "1000", "1001", "9" * 5000, "1" * 4301, "²", "٣", "１２",
                     "1e3", "0x10", "NaN", "inf", "-0", "+5", " 7", "7 ", "\x00", "%00", "../..", "..%2f",
                     "2025-03-01", "2025-03-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01", "-9" * 30,
                     "99999999999999999", "-99999999999999999", "2025-13-45", "now", "24h", "1d", "7y",
                     "tariffs", "overall", "hopping", "tumbling", "all", "tariffs,visas", ",,,", "a" * 3000]),
)


def query(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Known parameter names (with any values, sometimes repeated) and unknown ones."""
    name = st.one_of(st.sampled_from(names), st.sampled_from(names), st.text(min_size=1, max_size=8))
    return st.lists(st.tuples(name, nasty_text), max_size=4)


def path_of(prefixes: list[str]) -> st.SearchStrategy[str]:
    segment = st.one_of(nasty_text, st.sampled_from(["api", "index", "items", "categories", "router", "table",
                                                     "index_state", "meta", "openapi.json", "static"]))
    tail = st.lists(segment, max_size=3).map(lambda parts: "/".join(urllib.parse.quote(p, safe="") for p in parts))
    joined = st.builds(lambda pre, t: (pre.rstrip("/") + "/" + t) if t else pre, st.sampled_from(prefixes), tail)
    return joined.map(lambda path: "/" + path.lstrip("/"))  # "//x" would be a URL to host x


def assert_clean(status: int, body: str, where: str, seen: Counter[str], *, allow_503: bool = False) -> None:
    """No 5xx (but a 503 while starting when ``allow_503``) and no traceback text; counts by status."""
    seen["examples"] += 1
    seen[str(status)] += 1
    if status >= 500 and not (allow_503 and status == 503):
        seen["5xx"] += 1
    assert status < 500 or (allow_503 and status == 503), f"{status} for {where}: {body[:300]}"
    assert not any(mark in body for mark in TRACEBACK_MARKS), f"traceback text for {where}: {body[:300]}"


# -- the dashboard API ---------------------------------------------------------------------------
DASH_PATHS = ["/api/health", "/api/overview", "/api/series", "/api/point", "/api/alerts", "/api/live", "/api",
              "/", "/static", "/api/series/"]
DASH_PARAMS = ["category", "kind", "size", "since", "until", "limit", "window_start"]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient]]:
    path = tmp_path_factory.mktemp("fuzz") / "store.sqlite"
    write_store(path, SyntheticSpec(days=2))
    loop = asyncio.new_event_loop()
    client = TestClient(TestServer(create_app(open_store(f"sqlite:///{path}"))), loop=loop)
    loop.run_until_complete(client.start_server())
    yield loop, client
    loop.run_until_complete(client.close())
    loop.close()


DASH_SEEN: Counter[str] = Counter()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(METHODS), path=path_of(DASH_PATHS), params=query(DASH_PARAMS))
def test_dashboard_api_never_answers_5xx(dashboard: tuple[asyncio.AbstractEventLoop, TestClient], method: str,
                                         path: str, params: list[tuple[str, str]]) -> None:
    loop, client = dashboard

    async def go() -> tuple[int, str]:
        try:
            async with client.request(method, path, params=params) as response:
                return response.status, await response.text(errors="replace")
        except ClientResponseError as exc:  # aiohttp's own answer to an overlong request line (400)
            return exc.status, exc.message

    status, body = loop.run_until_complete(go())
    assert_clean(status, body, f"{method} {path} {params!r}", DASH_SEEN)


def test_dashboard_fuzz_summary() -> None:
    """Runs after the fuzz test (file order): the counts for the record."""
    print(f"\ndashboard API fuzz: {dict(DASH_SEEN)}")
    assert DASH_SEEN["examples"] >= EXAMPLES or DASH_SEEN["examples"] == 0  # 0 when the fuzz test was deselected
    assert DASH_SEEN["5xx"] == 0


# -- the worker API ------------------------------------------------------------------------------
WORKER_PATHS = ["/api/categories", "/api/index/tariffs", "/api/index/overall", "/api/index", "/api/items",
                "/api/openapi.json", "/", "/router", "/router/index_state/", "/table", "/table/index_state/",
                "/table/index_state/meta/", "/table/nonsense/x/", "/graph", "/stats", "/api/index/tariffs/x"]
WORKER_PARAMS = ["window", "from", "to", "category", "limit"]


def http(port: int, method: str, path: str, params: list[tuple[str, str]] = ()) -> tuple[int, str, dict[str, str]]:
    url = f"http://127.0.0.1:{port}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read().decode(errors="replace"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


WORKER_SEEN: Counter[str] = Counter()
START_SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module")
def worker(kafka: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real worker, hit from the moment it is spawned; a second app id starts on the same data dir."""
    from tests.integration.streams.stream_support import Setup, Worker

    tmp = tmp_path_factory.mktemp("worker-fuzz")
    one, two = Setup(kafka.bootstrap, tmp, partitions=1), Setup(kafka.bootstrap, tmp, partitions=1)
    w1, w2 = Worker(one, "w"), Worker(two, "w")  # same name → same TENSION_STREAM__DATA_DIR
    w2.log = tmp / "w-second-app.log"
    w1.start()
    w2.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert w1.alive(), w1.tail()
            for path in ("/api/categories", "/api/items", "/api/index/tariffs", "/table/index_state/meta/"):
                try:
                    status, body, headers = http(w1.port, "GET", path)
                except OSError:  # not listening yet
                    START_SEEN["refused"] += 1
                    continue
                assert_clean(status, body, f"GET {path} while starting", START_SEEN, allow_503=True)
                if status == 503:
                    assert headers.get("Retry-After"), f"503 without Retry-After for {path}"
            if START_SEEN["200"]:
                break
            time.sleep(0.05)
        assert START_SEEN["200"], f"worker API never answered 200:\n{w1.tail()}"
        for w in (w1, w2):  # the second app id on the same data dir starts and serves as well
            status = 0
            while time.monotonic() < deadline and status != 200:
                assert w.alive(), f"worker {w.log.name} exited:\n{w.tail()}"
                try:
                    status = http(w.port, "GET", "/api/categories")[0]
                except OSError:
                    time.sleep(0.2)
            assert status == 200, w.tail()
        yield w1
    finally:
        w1.stop()
        w2.stop()
    print(f"\nworker API while starting: {dict(START_SEEN)}")
    assert START_SEEN["5xx"] == 0


@pytest.mark.integration
@pytest.mark.slow
def test_worker_builtin_views_are_off(worker: Any) -> None:
    for path in ("/table/index_state/meta/", "/table/index_state/", "/router/index_state/", "/router"):
        status, body, _ = http(worker.port, "GET", path)
        assert status == 404, f"{path}: {status} {body[:200]}"
        assert "counted" not in body and "panes" not in body


@pytest.mark.integration
@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(METHODS), path=path_of(WORKER_PATHS), params=query(WORKER_PARAMS))
def test_worker_api_never_answers_5xx(worker: Any, method: str, path: str, params: list[tuple[str, str]]) -> None:
    status, body, headers = http(worker.port, method, path, params)
    assert_clean(status, body, f"{method} {path} {params!r}", WORKER_SEEN)
    assert status != 503, f"503 from a started worker for {method} {path}: {body[:200]}"
    line = len(path) + len(urllib.parse.urlencode(params))
    if path.startswith("/api/") and method == "GET" and line < 8000:  # aiohttp's parser answers a request
        # line over 8190 bytes itself (400, plain text, no traceback) before any handler runs
        assert headers.get("Content-Type", "").startswith("application/json"), f"{path}: {headers}"


@pytest.mark.integration
@pytest.mark.slow
def test_worker_fuzz_summary(worker: Any) -> None:
    print(f"\nworker API fuzz: {dict(WORKER_SEEN)}")
    assert WORKER_SEEN["examples"] >= EXAMPLES or WORKER_SEEN["examples"] == 0
    assert WORKER_SEEN["5xx"] == 0
