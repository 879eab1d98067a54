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
    assert redact(dsn) == "user=alice password=*** dbname=tension host=db.local port=5433 sslmode=require"
    store = open_store(dsn)
    assert isinstance(store, PostgresStore)
    assert "hunter2" not in repr(store) and "hunter2" not in store.label


@pytest.mark.parametrize("dsn", [
    "postgresql://alice:hunter2@db.local/tension",  # URL user info
    "postgresql://alice@db.local/tension?password=hunter2",  # URL query
    "host=db.local user=alice password=hunter2",  # keyword form (the label once showed it whole)
    "host=db.local user=alice password='hunter2 x'",  # quoted keyword value
    "host=db.local sslpassword=hunter2",  # the client key's passphrase
    "host=db.local password=hunter2 ===",  # not a DSN at all
])
def test_one_redaction_serves_the_sink_and_the_dashboard(dsn: str) -> None:
    from connectors.sinks.postgres import redact as sink_redact

    assert sink_redact is redact  # one function, not two that drift
    shown = redact(dsn)
    assert "hunter2" not in shown
    assert ("password=***" in shown or "<unparseable DSN>" == shown) and ("db.local" in shown or "DSN" in shown)


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
