"""The dashboard's JSON API over real SQLite stores: happy paths and every error case.

Stores are written through the sink (``SQLiteSink``) so the tables are the
sink's own; the server is the real aiohttp application on a loopback port.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.sinks.sqlite import SQLiteSink
from dashboard.api import ApiConfig
from dashboard.server import create_app
from dashboard.store import Store, open_store
from dashboard.synthetic import CATEGORIES, SyntheticSpec, write_store

SPEC = SyntheticSpec(days=3)


def call(store: Store | str, path: str, method: str = "GET",
         config: ApiConfig | None = None) -> tuple[int, Any, dict[str, str]]:
    """One request against a fresh server; returns status, decoded JSON (or text) and headers."""
    st = open_store(store) if isinstance(store, str) else store

    async def go() -> tuple[int, Any, dict[str, str]]:
        async with TestClient(TestServer(create_app(st, config))) as client:
            response = await client.request(method, path)
            text = await response.text()
            body: Any = await response.json() if response.content_type == "application/json" else text
            return response.status, body, dict(response.headers)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("dash") / "filled.sqlite"
    write_store(path, SPEC)
    return f"sqlite:///{path}"


@pytest.fixture
def empty(tmp_path: Path) -> str:
    sink = SQLiteSink(tmp_path / "empty.sqlite")
    sink.open()  # tables, no rows
    sink.close()
    return f"sqlite:///{tmp_path / 'empty.sqlite'}"


# -- happy paths --------------------------------------------------------------------------------
def test_health_counts_rows_and_gives_a_version(filled: str) -> None:
    status, body, headers = call(filled, "/api/health")
    assert status == 200
    assert body["index_rows"] == 6 * (SPEC.hourly_points + SPEC.days) and body["alerts"] == SPEC.alerts
    assert body["empty"] is False and body["version"] and body["store"] == "sqlite"
    assert headers["Cache-Control"] == "no-store"


def test_overview_has_every_category_overall_first_with_change_since_previous_day(filled: str) -> None:
    status, body, _ = call(filled, "/api/overview")
    assert status == 200
    names = [c["category"] for c in body["categories"]]
    assert names[0] == "overall" and sorted(names[1:]) == sorted(CATEGORIES)
    for entry in body["categories"]:
        h = entry["hopping"]
        cur, prev = h["current"], h["previous_day"]
        # "now" is the trailing 24 h: the window ending one step after the newest start
        assert cur["window_end"] == "2025-06-30T00:00:00.000Z" and cur["window_start"] == "2025-06-29T00:00:00.000Z"
        assert prev["window_start"] == "2025-06-28T00:00:00.000Z"
        assert h["change"] == pytest.approx(cur["index"] - prev["index"])
        assert entry["tumbling"]["current"] is not None


def test_series_returns_every_window_oldest_first(filled: str) -> None:
    status, body, _ = call(filled, "/api/series")
    assert status == 200 and body["truncated"] is False
    for category in ("overall", *CATEGORIES):
        hop = body["series"][category]["hopping"]
        assert len(hop) == SPEC.hourly_points
        assert [p["window_start"] for p in hop] == sorted(p["window_start"] for p in hop)
        assert {p["final"] for p in hop} == {True, False}
        assert len(body["series"][category]["tumbling"]) == SPEC.days


def test_series_filters_by_category_kind_and_time_range(filled: str) -> None:
    status, body, _ = call(filled, "/api/series?category=tariffs,visas&kind=hopping"
                                   "&since=2025-06-29T00:00:00Z&until=2025-06-29T12:00:00%2B00:00")
    assert status == 200
    assert body["categories"] == ["tariffs", "visas"] and set(body["series"]) == {"tariffs", "visas"}
    hop = body["series"]["tariffs"]["hopping"]
    assert len(hop) == 12 and set(body["series"]["tariffs"]) == {"hopping"}
    assert hop[0]["window_start"] == "2025-06-29T00:00:00.000Z"


def test_series_limit_marks_truncation(filled: str) -> None:
    status, body, _ = call(filled, "/api/series?category=tariffs&limit=10")
    assert status == 200 and body["truncated"] is True
    assert sum(len(v) for v in body["series"]["tariffs"].values()) == 10


def test_point_lists_the_contributing_items_with_categories_tension_and_cues(filled: str) -> None:
    _, series, _ = call(filled, "/api/series?category=tariffs&kind=hopping")
    start = series["series"]["tariffs"]["hopping"][5]["window_start"]
    status, body, _ = call(filled, f"/api/point?category=tariffs&kind=hopping&window_start={start}")
    assert status == 200
    assert body["window_start"] == start and len(body["top_items"]) == SPEC.items_per_window
    assert [i["id"] for i in body["items"]] == body["top_items"] and body["missing_items"] == []
    item = body["items"][0]
    assert item["title"] and item["categories"] == ["tariffs"] and -1 <= item["tension"] <= 1
    assert item["cues"][0]["phrase"] and item["cues"][0]["direction"] in {"escalation", "deescalation", "neutral"}


def test_point_of_the_daily_index(filled: str) -> None:
    status, body, _ = call(filled, "/api/point?category=overall&kind=tumbling&window_start=2025-06-28")
    assert status == 200 and body["window_kind"] == "tumbling" and body["items"]


def test_alerts_newest_first_and_since_returns_only_newer(filled: str) -> None:
    status, body, _ = call(filled, "/api/alerts")
    assert status == 200
    created = [a["created_at"] for a in body["alerts"]]
    assert len(created) == SPEC.alerts and created == sorted(created, reverse=True)
    status, newer, _ = call(filled, f"/api/alerts?since={created[1]}")
    assert [a["created_at"] for a in newer["alerts"]] == created[:2]  # at or after
    _, by_cat, _ = call(filled, "/api/alerts?category=tariffs")
    assert {a["category"] for a in by_cat["alerts"]} == {"tariffs"}


def test_page_and_static_files_are_served_with_a_strict_policy(filled: str) -> None:
    status, html, headers = call(filled, "/")
    assert status == 200 and "<svg" in html and "/static/dashboard.js" in html
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    status, js, _ = call(filled, "/static/dashboard.js")
    assert status == 200 and "performance.mark" in js and "https://" not in js


# -- error cases ----------------------------------------------------------------------------------
def test_empty_store(empty: str) -> None:
    status, body, _ = call(empty, "/api/health")
    assert status == 200 and body["empty"] is True and body["index_rows"] == 0
    for path in ("/api/overview", "/api/series", "/api/point?category=tariffs&window_start=2025-06-01"):
        status, body, _ = call(empty, path)
        assert status == 404 and body["error"]["code"] == "empty_store", path
        assert "no index rows" in body["error"]["message"]
    assert call(empty, "/api/alerts")[:2] == (200, {"alerts": []})


def test_a_file_without_the_sink_tables_is_an_empty_store(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "bare.sqlite").close()
    status, body, _ = call(f"sqlite:///{tmp_path / 'bare.sqlite'}", "/api/overview")
    assert status == 404 and body["error"]["code"] == "empty_store"


@pytest.mark.parametrize("path", ["/api/health", "/api/overview", "/api/series", "/api/alerts",
                                  "/api/point?category=tariffs&window_start=2025-06-01"])
def test_unreachable_sqlite_store(tmp_path: Path, path: str) -> None:
    missing = tmp_path / "nowhere" / "tension.sqlite"
    status, body, _ = call(f"sqlite:///{missing}", path)
    assert status == 503 and body["error"]["code"] == "store_unavailable"
    assert str(missing) in body["error"]["message"]
    assert not missing.exists()  # read-only: never creates the file


def test_a_file_that_is_not_a_database_is_unreachable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    status, body, _ = call(f"sqlite:///{junk}", "/api/overview")
    assert status == 503 and body["error"]["code"] == "store_unavailable"


def test_unreachable_postgres_store_never_shows_the_password() -> None:
    dsn = "postgresql://reader:s3cret-pw@127.0.0.1:1/tension?connect_timeout=1"
    status, body, _ = call(dsn, "/api/overview")
    assert status == 503 and body["error"]["code"] == "store_unavailable"
    message = body["error"]["message"]
    assert "s3cret-pw" not in str(body)
    assert "user=reader password=*** " in message and "host=127.0.0.1 port=1" in message
    assert "s3cret-pw" not in repr(open_store(dsn))


@pytest.mark.parametrize("path", ["/api/series?category=nonsense", "/api/series?category=tariffs,nonsense",
                                  "/api/point?category=nonsense&window_start=2025-06-29T00:00:00Z"])
def test_unknown_category(filled: str, path: str) -> None:
    status, body, _ = call(filled, path)
    assert status == 404 and body["error"]["code"] == "unknown_category"
    assert body["error"]["unknown"] == ["nonsense"] and "tariffs" in body["error"]["known"]


@pytest.mark.parametrize(("path", "param"), [
    ("/api/series?category=Tariffs", "category"),
    ("/api/series?category=tariffs%27%20OR%201%3D1--", "category"),
    ("/api/series?kind=weekly", "kind"),
    ("/api/series?since=yesterday", "since"),
    ("/api/series?since=2025-06-02T00:00:00Z&until=2025-06-01T00:00:00Z", "until"),
    ("/api/series?limit=0", "limit"),
    ("/api/series?limit=-5", "limit"),
    ("/api/series?limit=ten", "limit"),
    ("/api/series?limit=999999999", "limit"),
    ("/api/series?size=1", "size"),
    ("/api/series?categroy=tariffs", "categroy"),
    ("/api/series?since=" + "9" * 3000, "since"),
    ("/api/point?window_start=2025-06-01T00:00:00Z", "category"),
    ("/api/point?category=tariffs", "window_start"),
    ("/api/point?category=tariffs&kind=all&window_start=2025-06-01", "kind"),
    ("/api/alerts?limit=5000", "limit"),
    ("/api/alerts?since=0000-13-45", "since"),
    ("/api/overview?size=abc", "size"),
    ("/api/health?verbose=1", "verbose"),
])
def test_invalid_parameters_are_400_json(filled: str, path: str, param: str) -> None:
    status, body, _ = call(filled, path)
    assert status == 400, body
    assert body["error"]["code"] == "invalid_parameter" and body["error"]["param"] == param


def test_a_window_that_does_not_exist_is_404(filled: str) -> None:
    status, body, _ = call(filled, "/api/point?category=tariffs&window_start=2001-01-01T00:00:00Z")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_unknown_paths_and_methods_are_json_errors(filled: str) -> None:
    status, body, _ = call(filled, "/api/nothing")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = call(filled, "/api/series", method="POST")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    status, body, _ = call(filled, "/static/../store.py")
    assert status == 404


def test_an_unexpected_failure_is_a_500_without_a_stack_trace(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(filled)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail that must stay in the log")

    monkeypatch.setattr(store, "series", broken)
    status, body, _ = call(store, "/api/series")
    assert status == 500 and body["error"]["code"] == "internal"
    assert "internal detail" not in str(body) and "Traceback" not in str(body)


def test_live_api_reports_an_unreachable_worker(filled: str) -> None:
    status, body, _ = call(filled, "/api/live", config=ApiConfig(live_api_url="http://127.0.0.1:1/"))
    assert status == 200 and body == {"configured": True, "reachable": False, "reason": body["reason"]}
    assert call(filled, "/api/live")[1] == {"configured": False}


def test_live_api_reports_the_workers_progress(filled: str) -> None:
    async def categories(request: web.Request) -> web.Response:
        return web.json_response({"categories": ["tariffs"], "watermark_ms": 5, "max_event_ms": 9, "counted": 42,
                                  "late": 1, "duplicates": 0, "secret": "not passed on"})

    async def go() -> dict:
        worker = web.Application()
        worker.router.add_get("/api/categories", categories)
        async with TestServer(worker) as fake:
            config = ApiConfig(live_api_url=str(fake.make_url("/")))
            async with TestClient(TestServer(create_app(open_store(filled), config))) as client:
                response = await client.get("/api/live")
                return await response.json()

    body = asyncio.run(go())
    assert body["reachable"] is True and body["worker"] == {"watermark_ms": 5, "max_event_ms": 9, "counted": 42,
                                                            "late": 1, "duplicates": 0}
