"""Crash: SQLite, PostgreSQL and files sinks run at once, each SIGKILLed twice mid-stream and restarted.

10,000 classified items (plus index updates and alerts) stream through three
partitions while the three sink processes consume them in batches of 200.
Each sink is killed with SIGKILL twice while it still has records to write
(no chance to finish its batch or commit), then restarted. The items are fed
in paced chunks gated by the kill plan, so a sink can never drain the topic
before the test sees it cross a threshold, however busy the host is. Afterwards every
store holds exactly the expected rows: same count, same content, no duplicate,
none missing; index rows hold the newest update of every window; and every
group committed to the end of every partition.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from tension.settings import PROJECT_ROOT
from tests.helpers import unique, wait_for
from tests.integration.connectors.sinks.sink_support import (
    DeliveryFailed, SinkProcess, Topics, alert, encode_alert, encode_index, encode_item, expected_item_row,
    files_lines, fully_committed, index_update, item, new_producer, produce, send, sink_env, sqlite_count,
    sqlite_items,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_ITEMS = 10_000
N_WINDOWS = 100  # three updates each; the third (newest emitted_at, final) must win
N_ALERTS = 50
KILL_AT = (0.3, 0.65)  # fractions of N_ITEMS in the store at which each sink is SIGKILLed
AHEAD = 1500  # items the feeder may run ahead of the lowest threshold no sink has been killed at yet
PACE = 250, 0.1  # the feeder sends 250 items, then waits 0.1 s: at most ~2,500 items/s


class GatedFeeder(threading.Thread):
    """Produces the items in paced chunks, never past the limit the test has released so far."""

    def __init__(self, bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.records = bootstrap, topic, records
        self.produced = 0  # acknowledged by the broker (flushed)
        self.error: BaseException | None = None
        self._limit = 0
        self._cond = threading.Condition()

    def release(self, limit: int) -> None:
        with self._cond:
            self._limit = max(self._limit, min(limit, len(self.records)))
            self._cond.notify()

    def run(self) -> None:
        try:
            producer = new_producer(self.bootstrap, **{"linger.ms": 5})
            errors: list[str] = []
            while self.produced < len(self.records):
                with self._cond:
                    self._cond.wait_for(lambda: self._limit > self.produced, timeout=1)
                    upto = min(self._limit, self.produced + PACE[0])
                for key, value in self.records[self.produced:upto]:
                    send(producer, self.topic, key, value, errors)
                if producer.flush(60) or errors:
                    raise DeliveryFailed(f"records not acknowledged: {sorted(set(errors))[:3]}")
                self.produced = max(self.produced, upto)
                time.sleep(PACE[1])
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc


def migrate(env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "tension", "sink", "postgres", "--migrate-only"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def pg_count(dsn: str, table: str = "items") -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
    except psycopg.Error:
        return 0


def test_sinks_survive_two_sigkills_each_with_exact_rows(kafka, topic_factory, pg_dsn: str, tmp_path: Path) -> None:
    topics = Topics(topic_factory("classified", 3), topic_factory("index", 3), topic_factory("alerts", 1),
                    topic_factory("dlq", 1))
    db, files_root = tmp_path / "store.sqlite", tmp_path / "files"
    env = sink_env(kafka.bootstrap, topics, TENSION_SINK__SQLITE_PATH=str(db), TENSION_SINK__FILES_DIR=str(files_root),
                   TENSION_SINK__POSTGRES_DSN=pg_dsn, TENSION_SINK__BATCH_SIZE="200",
                   TENSION_SINK__BATCH_SECONDS="0.5")
    migrate(env)
    counters = {
        "sqlite": lambda: sqlite_count(db),
        "postgres": lambda: pg_count(pg_dsn),
        "files": lambda: len(files_lines(files_root, "items")),
    }
    sinks = {}
    for store in counters:  # static membership: a restarted sink takes its partitions back at once
        sinks[store] = SinkProcess(store, ["--group", unique(f"g.crash.{store}")],
                                   {**env, "TENSION_SINK__INSTANCE_ID": unique(store)}, tmp_path / f"{store}.log")
        sinks[store].start()

    items = [item(i) for i in range(N_ITEMS)]
    updates = [index_update(w, n, emitted_s=w * 10 + n, final=n == 3, category=f"cat{w % 7}")
               for n in (1, 2, 3) for w in range(N_WINDOWS)]
    feeder = GatedFeeder(kafka.bootstrap, topics.classified, [encode_item(v) for v in items])
    feeder.release(int(KILL_AT[0] * N_ITEMS) + AHEAD)
    feeder.start()

    # Kill each sink twice while it is mid-stream: once its store passed 30 % and 65 % of the items. The
    # feeder is paced and never more than AHEAD items past the lowest pending threshold, so no sink can
    # drain everything before the loop sees it cross (a busy host slows this loop, not the guarantee).
    plan = {store: [int(f * N_ITEMS) for f in KILL_AT] for store in sinks}
    deadline = time.monotonic() + 180
    while any(plan.values()):
        assert time.monotonic() < deadline, f"kills not done: {plan}"
        assert feeder.error is None, feeder.error
        for store, thresholds in plan.items():
            if not thresholds:
                continue
            assert sinks[store].alive(), sinks[store].log()[-3000:]
            seen = counters[store]()
            if seen >= thresholds[0]:
                sinks[store].kill()
                sinks[store].kills.append({"rows": seen, "produced": feeder.produced})
                assert seen < N_ITEMS, (f"{store} finished before it could be killed mid-stream: rows {seen}, "
                                         f"produced {feeder.produced}, plan {plan}, kills {sinks[store].kills}")
                thresholds.pop(0)
                sinks[store].start()
        pending = [t[0] for t in plan.values() if t]
        feeder.release(min(pending) + AHEAD if pending else N_ITEMS)
        time.sleep(0.02)
    feeder.join(120)
    assert feeder.error is None and feeder.produced == N_ITEMS, (feeder.error, feeder.produced)
    produce(kafka.bootstrap, topics.index, map(encode_index, updates))
    produce(kafka.bootstrap, topics.alerts, map(encode_alert, (alert(i) for i in range(N_ALERTS))))
    for store, sink in sinks.items():  # at least one kill of each sink had written records still to store
        assert any(k["rows"] < k["produced"] for k in sink.kills), (store, sink.kills)

    for store, count in counters.items():
        wait_for(lambda: count() >= N_ITEMS and fully_committed(kafka.bootstrap, sinks[store].args[1], topics.kinds()),
                 120, f"{store} to hold all {N_ITEMS} items and commit")
    for store, sink in sinks.items():
        assert sink.stop() == 0, sink.log()[-3000:]
        assert sink.starts == 3 and len(sink.kills) == 2
        print(f"{store}: killed at {sink.kills}")

    expected_items = sorted(expected_item_row(v) for v in items)
    n_categories = sum(len(v["categories"]) for v in items)

    # SQLite: exactly the items, categories rows, newest index values, alerts.
    got = sorted((i, t, x, json.loads(c)) for i, t, x, c in sqlite_items(db))
    assert len(got) == N_ITEMS and got == expected_items
    assert sqlite_count(db, "item_categories") == n_categories
    assert sqlite_count(db, "alerts") == N_ALERTS
    with sqlite3.connect(db) as conn:
        windows = conn.execute("SELECT n_total, final FROM index_rows").fetchall()
    assert len(windows) == N_WINDOWS and set(windows) == {(30, 1)}

    # PostgreSQL: the same.
    with psycopg.connect(pg_dsn) as conn:
        got = sorted(conn.execute("SELECT item_id, title, tension, categories FROM items").fetchall())
        assert len(got) == N_ITEMS and got == expected_items
        assert conn.execute("SELECT count(*) FROM item_categories").fetchone()[0] == n_categories
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == N_ALERTS
        windows = conn.execute("SELECT n_total, final FROM index_rows").fetchall()
        assert len(windows) == N_WINDOWS and set(windows) == {(30, True)}

    # Files: every Kafka record exactly once (no replayed duplicate), content equal.
    lines = files_lines(files_root, "items")
    coords = Counter((r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in lines)
    assert len(lines) == N_ITEMS and max(coords.values()) == 1
    assert sorted((r["item_id"], r["title"], r["tension"], r["categories"]) for r in lines) == expected_items
    assert len(files_lines(files_root, "index_rows")) == 3 * N_WINDOWS
    assert len(files_lines(files_root, "alerts")) == N_ALERTS
    assert not list(files_root.rglob("*.tmp"))

    # Analysts read the files with DuckDB: date partitions as a column, newest index update per window.
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    n, distinct, days = con.execute(
        "SELECT count(*), count(DISTINCT item_id), count(DISTINCT dt) FROM read_json_auto(?, hive_partitioning=true)",
        [str(files_root / "items" / "*" / "*.jsonl")]).fetchone()
    assert (n, distinct) == (N_ITEMS, N_ITEMS) and days >= 7
    newest = con.execute(
        "SELECT category, n_total, final FROM read_json_auto(?, hive_partitioning=true) "
        "QUALIFY row_number() OVER (PARTITION BY category, window_kind, window_size_s, window_start "
        "ORDER BY emitted_at DESC) = 1", [str(files_root / "index_rows" / "*" / "*.jsonl")]).fetchall()
    assert len(newest) == N_WINDOWS and {(r[1], r[2]) for r in newest} == {(30, True)}
