"""Sinks without a broker: store semantics, files exactly-once, migrations, config checks, bisecting."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.exceptions import SinkConfigError
from connectors.sinks import migrations
from connectors.sinks.base import Sink, SinkRecord
from connectors.sinks.files import FilesSink
from connectors.sinks.postgres import PostgresSink, redact
from connectors.sinks.runner import SinkRunner
from connectors.sinks.sqlite import SQLiteSink

T = datetime(2025, 6, 9, 12, tzinfo=timezone.utc)


def item_rec(i: int, *, offset: int | None = None, tension: float = 0.5, at: datetime = T,
             cats: tuple[str, ...] = ("tariffs",), day: int = 0, partition: int = 0) -> SinkRecord:
    published = T + timedelta(days=day)
    value = {
        "item": {"id": f"id{i}", "source": "s", "url": None, "title": f"T{i}", "body": "b", "language": "en",
                 "published_at": published, "ingested_at": published, "attributes": {}, "source_ref": None},
        "categories": list(cats), "scores": {c: 0.9 for c in cats}, "tension": tension, "direction": "escalation",
        "cues": [], "actors": [], "classifier_version": "v", "classified_at": at,
    }
    return SinkRecord("item", value, "news.classified.v1", partition, i if offset is None else offset, b"k", b"raw")


def index_rec(n: int, emitted: datetime, offset: int) -> SinkRecord:
    value = {"category": "tariffs", "window_kind": "hopping", "window_size_s": 86400, "window_start": T,
             "window_end": T + timedelta(days=1), "n_total": n, "n_category": n, "n_escalating": n,
             "n_deescalating": 0, "share": None, "index": None, "signed_mean": None, "balance": None,
             "final": n == 3, "top_items": [], "emitted_at": emitted}
    return SinkRecord("index", value, "tension.index.v1", 0, offset)


# -- SQLite ---------------------------------------------------------------------------------------

def test_sqlite_newest_wins_and_categories_follow_the_kept_row(tmp_path: Path) -> None:
    sink = SQLiteSink(tmp_path / "s.sqlite")
    sink.open()
    sink.write_batch([item_rec(1, at=T, cats=("visas",)), index_rec(3, T + timedelta(seconds=30), 0)])
    # In one batch and across batches: older versions never overwrite newer ones.
    sink.write_batch([item_rec(1, offset=5, at=T - timedelta(seconds=1), cats=("tariffs",), tension=-0.5),
                      index_rec(1, T + timedelta(seconds=10), 1), index_rec(2, T + timedelta(seconds=20), 2)])
    sink.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT tension, categories FROM items").fetchall() == [(0.5, '["visas"]')]
        assert db.execute("SELECT category FROM item_categories").fetchall() == [("visas",)]
        assert db.execute("SELECT n_total, final FROM index_rows").fetchall() == [(3, 1)]
        assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == [1, 2, 3]


def test_sqlite_upgrades_a_store_made_before_migrations_were_tracked(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(migrations.discover("sqlite")[0].sql)
    sink = SQLiteSink(path)
    sink.open()
    sink.write_batch([item_rec(1)])
    sink.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT item_id, stored_at IS NOT NULL FROM items").fetchall() == [("id1", 1)]


def test_sqlite_constraint_errors_are_not_transient(tmp_path: Path) -> None:
    sink = SQLiteSink(tmp_path / "s.sqlite")
    sink.open()
    with pytest.raises(sqlite3.IntegrityError) as err:
        sink.write_batch([item_rec(1, tension=3.0)])
    assert not sink.is_transient(err.value)
    assert sink.is_transient(sqlite3.OperationalError("database is locked"))


# -- Files ----------------------------------------------------------------------------------------

def test_files_replay_with_other_batch_boundaries_writes_each_record_once(tmp_path: Path) -> None:
    records = [item_rec(i, day=i % 3, partition=i % 2) for i in range(40)]
    sink = FilesSink(tmp_path)
    sink.open()
    sink.write_batch(records[:15])
    sink.flush()
    # A crash before the commit: the restarted sink sees 10..40 again, in other batches.
    again = FilesSink(tmp_path)
    again.open()
    again.write_batch(records[10:27])
    again.write_batch(records[27:])
    lines = [json.loads(x) for p in tmp_path.glob("items/dt=*/part-*.jsonl") for x in p.read_text().splitlines()]
    assert sorted(r["kafka_offset"] for r in lines) == list(range(40))
    assert again.skipped == 5
    assert {p.parent.name for p in tmp_path.glob("items/dt=*/part-*.jsonl")} == {
        "dt=2025-06-09", "dt=2025-06-10", "dt=2025-06-11"}


def test_files_drop_temp_files_of_a_crash_and_duckdb_reads_them(tmp_path: Path) -> None:
    sink = FilesSink(tmp_path)
    sink.open()
    sink.write_batch([item_rec(i) for i in range(5)])
    day = next(tmp_path.glob("items/dt=*"))
    leftover = day / ".part-news.classified.v1-0-0000000000000000005-0000000000000000009.jsonl.999.tmp"
    leftover.write_text('{"half": ')
    FilesSink(tmp_path).open()
    assert not leftover.exists()
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.connect().execute(
        "SELECT dt, count(*), min(tension) FROM read_json_auto(?, hive_partitioning=true) GROUP BY dt",
        [str(tmp_path / "items" / "*" / "*.jsonl")]).fetchall()
    assert [(str(r[0]), r[1], r[2]) for r in rows] == [("2025-06-09", 5, 0.5)]


def test_files_reload_marks_when_partitions_are_assigned(tmp_path: Path) -> None:
    first, second = FilesSink(tmp_path), FilesSink(tmp_path)
    first.open()
    second.open()
    second.write_batch([item_rec(i) for i in range(5)])  # partition 0 was the other member's meanwhile
    first.on_assign([("news.classified.v1", 0)])
    first.write_batch([item_rec(i) for i in range(3, 8)])
    lines = [x for p in tmp_path.glob("items/dt=*/part-*.jsonl") for x in p.read_text().splitlines()]
    assert len(lines) == 8


# -- PostgreSQL configuration (no server needed) --------------------------------------------------

def test_postgres_dsn_is_validated_and_never_shown() -> None:
    dsn = "postgresql://tension:s3cret-pw@127.0.0.1:5999/tension"
    sink = PostgresSink(dsn)
    assert "s3cret-pw" not in repr(sink) and "s3cret-pw" not in sink.target and "password=***" in sink.target
    assert "s3cret-pw" not in redact("host=h user=u password=s3cret-pw")
    assert sink.describe_error(RuntimeError("failed for s3cret-pw")) == "RuntimeError: failed for ***"
    with pytest.raises(SinkConfigError):
        PostgresSink("")
    with pytest.raises(SinkConfigError) as err:
        PostgresSink("host=h password=s3cret-pw ===")
    assert "s3cret-pw" not in str(err.value)


def test_migrations_are_numbered_without_gaps() -> None:
    for dialect in ("sqlite", "postgres"):
        found = migrations.discover(dialect)
        assert [m.version for m in found] == list(range(1, len(found) + 1))
        assert migrations.latest(dialect) == len(found) >= 1


# -- Runner: configuration and bisecting bad records ----------------------------------------------

def test_runner_rejects_bad_configuration() -> None:
    kw: dict[str, Any] = dict(bootstrap="x", topics={"t": "item"}, group_id="g", deadletter_topic="d")
    sink = FilesSink("/tmp/never-used")
    for bad in ({"batch_size": 0}, {"batch_seconds": 0}, {"topics": {"t": "nope"}}, {"deadletter_topic": "t"},
                {"retry_initial_s": 10.0, "max_retry_s": 1.0}):
        with pytest.raises(SinkConfigError):
            SinkRunner(sink, **{**kw, **bad})


class _Picky(Sink):
    """Refuses any batch containing a record with negative tension, like a CHECK constraint."""

    name = "picky"

    def __init__(self) -> None:
        self.stored: list[int] = []

    def open(self) -> None: ...

    def write_batch(self, records: list[SinkRecord]) -> None:
        if any(r.value["tension"] < 0 for r in records):
            raise ValueError("check constraint: tension")
        self.stored += [r.offset for r in records]


class _Future:
    def get(self, timeout: float) -> None:
        return None


class _Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, topic: str, key: bytes | None, value: bytes) -> _Future:
        self.sent.append({"topic": topic, "key": key, "value": value})
        return _Future()


def test_runner_bisects_a_batch_down_to_the_bad_records() -> None:
    sink = _Picky()
    runner = SinkRunner(sink, bootstrap="x", topics={"t": "item"}, group_id="g", deadletter_topic="dlq")
    producer = runner.dead_letters.producer = _Producer()
    records = [item_rec(i, tension=-0.5 if i in (3, 17) else 0.5) for i in range(20)]
    runner.writer.write_or_split(records)
    assert sorted(sink.stored) == [i for i in range(20) if i not in (3, 17)]
    assert runner.dead_lettered == 2 and len(producer.sent) == 2
    assert {s["topic"] for s in producer.sent} == {"dlq"}
