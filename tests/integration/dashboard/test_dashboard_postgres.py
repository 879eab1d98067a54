"""The dashboard's PostgreSQL reader over a real server filled by the real PostgresSink.

PostgreSQL keeps native types (timestamptz, jsonb, boolean); the answers must
be the same as from SQLite, and the DSN's password must never show.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sinks.postgres import PostgresSink
from dashboard.synthetic import CATEGORIES, SyntheticSpec, records, write_store
from tests.unit.dashboard.test_dashboard_api import call

pytestmark = [pytest.mark.integration]

SPEC = SyntheticSpec(days=2)


@pytest.fixture
def pg_store(pg_dsn: str) -> str:
    sink = PostgresSink(pg_dsn, migrate=True)
    sink.open()
    try:
        sink.write_batch(records(SPEC))
    finally:
        sink.close()
    return pg_dsn


def test_postgres_answers_like_sqlite(pg_store: str, tmp_path: Path) -> None:
    write_store(tmp_path / "same.sqlite", SPEC)
    lite = f"sqlite:///{tmp_path / 'same.sqlite'}"
    for path in ("/api/overview", "/api/series", "/api/alerts",
                 "/api/series?category=tariffs&kind=hopping&since=2025-06-29T00:00:00Z&until=2025-06-29T06:00Z",
                 "/api/point?category=tariffs&kind=hopping&window_start=2025-06-29T05:00:00Z",
                 "/api/point?category=overall&kind=tumbling&window_start=2025-06-29"):
        status, body, _ = call(pg_store, path)
        assert status == 200, body
        assert (status, body) == call(lite, path)[:2], path
    status, body, _ = call(pg_store, "/api/health")
    assert status == 200 and body["store"] == "postgresql" and body["index_rows"] == 6 * (SPEC.hourly_points + 2)
    assert "pw-" not in body["label"]


def test_postgres_errors(pg_store: str, pg_dsn: str) -> None:
    status, body, _ = call(pg_store, "/api/series?category=nonsense")
    assert status == 404 and body["error"]["code"] == "unknown_category"
    assert set(CATEGORIES) <= set(body["error"]["known"])
    wrong = pg_dsn.replace("pw-", "wrong-pw-")
    status, body, _ = call(wrong, "/api/overview")
    assert status == 503 and body["error"]["code"] == "store_unavailable" and "pw-" not in str(body)


def test_postgres_without_tables_is_an_empty_store(pg_dsn: str) -> None:
    status, body, _ = call(pg_dsn, "/api/overview")
    assert status == 404 and body["error"]["code"] == "empty_store"
