"""Store URLs, DSN redaction and the CLI's refusal of a bad --store, without a server."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from dashboard import params
from dashboard.errors import InvalidParameter, StoreConfigError
from dashboard.server import is_loopback
from dashboard.store import iso, open_store
from dashboard.store_postgres import PostgresStore, redact
from dashboard.store_sqlite import SQLiteStore
from tension.settings import PROJECT_ROOT


def test_sqlite_urls(tmp_path) -> None:
    assert isinstance(open_store(f"sqlite:///{tmp_path}/a.db"), SQLiteStore)
    assert open_store(f"sqlite:///{tmp_path}/a.db").path == tmp_path / "a.db"  # four slashes: absolute
    assert open_store(str(tmp_path / "b.db")).path == tmp_path / "b.db"  # a bare path
    with pytest.raises(StoreConfigError):
        open_store("sqlite://")
    with pytest.raises(StoreConfigError):
        open_store("mysql://u@h/db")
    with pytest.raises(StoreConfigError):
        open_store("  ")


def test_postgres_dsn_is_redacted_everywhere() -> None:
    dsn = "postgresql://alice:hunter2@db.local:5433/tension?sslmode=require"
    assert redact(dsn) == "postgresql://alice@db.local:5433/tension"
    store = open_store(dsn)
    assert isinstance(store, PostgresStore)
    assert "hunter2" not in repr(store) and "hunter2" not in store.label


def test_timestamps_come_out_in_the_sinks_text_form() -> None:
    assert iso(datetime(2025, 6, 1, tzinfo=timezone.utc)) == "2025-06-01T00:00:00.000Z"
    assert iso("2025-06-01T00:00:00Z") == "2025-06-01T00:00:00.000Z"
    assert iso("2025-06-01T02:00:00+02:00") == "2025-06-01T00:00:00.000Z"
    assert params.timestamp("2025-06-01 01:00", "t") == datetime(2025, 6, 1, 1, tzinfo=timezone.utc)
    assert params.timestamp("2025-06-01T01:00:00 02:00", "t") == datetime(2025, 5, 31, 23, tzinfo=timezone.utc)
    with pytest.raises(InvalidParameter):
        params.timestamp("1900-01-01", "t")


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_cli_refuses_an_unknown_store_scheme() -> None:
    proc = subprocess.run([sys.executable, "-m", "tension", "dashboard", "--store", "mysql://u:pw@h/db"],
                          capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    assert "unsupported store scheme" in proc.stderr and "Traceback" not in proc.stderr
