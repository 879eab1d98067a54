"""TensionIndexUpdate v2's interval fields survive Avro, the SQLite and files sinks, the dashboard store and API.

Rows are the index's own (``window_rows``), encoded as the worker encodes them;
a v1 record (written before the fields existed) must come out with the schema's
defaults, never an error.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.sinks.base import SinkRecord
from connectors.sinks.files import FilesSink
from connectors.sinks.rows import INDEX_V2_DEFAULTS
from connectors.sinks.sqlite import SQLiteSink
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.config import IndexConfig
from streams.index import window_rows
from dashboard.store import open_store
from tests.unit.dashboard.test_dashboard_api import call

CFG = IndexConfig(baselines={"tariffs": 0.1, "overall": 0.2})
START = 1_750_000_000_000 - 1_750_000_000_000 % 86_400_000
V2 = tuple(INDEX_V2_DEFAULTS)


def tariffs_row(k: int, n: int) -> dict[str, Any]:
    items = [(f"i{j}", [START + j, ["tariffs"], 0.5, "escalation" if j < k else "neutral", ""]) for j in range(n)]
    row = next(r for r in window_rows(items, CFG, kind="hopping", size_ms=86_400_000, start=START, final=True)
               if r["category"] == "tariffs")
    return {**row, "emitted_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}


def through_avro(row: dict[str, Any], version: int) -> dict[str, Any]:
    """Encode with the given writer version, decode with the latest reader (what every sink does)."""
    return AvroDeserializer("TensionIndexUpdate")(AvroSerializer("TensionIndexUpdate", version)(row))


CASES = [(0, 0, 2), (1, 2, 2), (60, 200, 2), (60, 200, 1)]


@pytest.mark.parametrize("k,n,version", CASES)
def test_sqlite_sink_and_dashboard_carry_the_interval(tmp_path: Path, k: int, n: int, version: int) -> None:
    row = tariffs_row(k, n)
    decoded = through_avro(row, version)
    expected = {c: row[c] for c in V2} if version == 2 else dict(INDEX_V2_DEFAULTS)
    assert {c: decoded[c] for c in V2} == expected
    sink = SQLiteSink(tmp_path / "s.sqlite")
    sink.open()
    sink.write_batch([SinkRecord("index", decoded, "tension.index.v1", 0, 0)])
    sink.close()
    store = open_store(str(tmp_path / "s.sqlite"))
    when = datetime.fromtimestamp(START / 1000, tz=timezone.utc)
    point = store.point("tariffs", "hopping", 86_400, when)
    assert {c: point[c] for c in V2} == expected
    series = store.series(["tariffs"], ["hopping"], 86_400, None, None, 10)["series"]["tariffs"]["hopping"]
    assert [(p["index_low"], p["index_high"], p["sparse"]) for p in series] == [
        (expected["index_low"], expected["index_high"], expected["sparse"])]
    status, body, _ = call(f"sqlite:///{tmp_path / 's.sqlite'}",
                           f"/api/point?category=tariffs&window_start={point['window_start']}")
    assert status == 200 and {c: body[c] for c in V2} == expected


@pytest.mark.parametrize("k,n,version", CASES)
def test_files_sink_carries_the_interval(tmp_path: Path, k: int, n: int, version: int) -> None:
    row = tariffs_row(k, n)
    sink = FilesSink(tmp_path, fsync=False)
    sink.open()
    sink.write_batch([SinkRecord("index", through_avro(row, version), "tension.index.v1", 0, 7)])
    (line,) = [json.loads(x) for p in tmp_path.glob("index_rows/dt=*/*.jsonl") for x in p.read_text().splitlines()]
    assert {c: line[c] for c in V2} == ({c: row[c] for c in V2} if version == 2 else INDEX_V2_DEFAULTS)


def test_a_store_of_the_previous_schema_is_named_as_such(tmp_path: Path) -> None:
    """The dashboard over a SQLite file the v2 sink never opened: a 503 that says what to do, not a 500."""
    import sqlite3

    from connectors.sinks import migrations

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        for m in migrations.discover("sqlite")[:2]:
            db.executescript(m.sql)
        db.execute("INSERT INTO index_rows VALUES ('tariffs','hopping',86400,'2025-06-01T00:00:00.000Z',"
                   "'2025-06-02T00:00:00.000Z',1,1,1,0,1.0,760.0,0.5,1.0,1,'[]','2025-06-02T00:00:00.000Z',NULL)")
    for path_q in ("/api/series", "/api/overview"):
        status, body, _ = call(f"sqlite:///{path}", path_q)
        assert status == 503 and body["error"]["code"] == "store_unavailable"
        assert "older schema" in body["error"]["message"] and "run the sink" in body["error"]["message"]
