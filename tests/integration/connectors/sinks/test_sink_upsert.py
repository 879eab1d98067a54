"""Idempotent upserts and bad input, for SQLite and PostgreSQL, through a real broker.

* A record replayed after its window (or item) was updated leaves the newest
  values: the stores keep the row with the newest ``emitted_at`` /
  ``classified_at``, and ``item_categories`` follows the kept row.
* A full replay by a new consumer group changes nothing.
* An undecodable record and records that violate the tables' constraints go to
  the dead-letter topic with the reason; the sink keeps going and commits past them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectors.sinks.base import Sink
from connectors.sinks.runner import SinkRunner
from connectors.sinks.postgres import PostgresSink
from connectors.sinks.sqlite import SQLiteSink
from tests.helpers import unique, wait_for
from tests.integration.connectors.sinks.sink_support import (
    T0, RunnerThread, Topics, dead_letters, encode_index, encode_item, fully_committed, index_update, item, produce,
)

pytestmark = [pytest.mark.integration]


class Store:
    """Opens a sink and answers queries against its store, whichever it is."""

    def __init__(self, kind: str, make: Callable[[], Sink], query: Callable[[str, tuple[Any, ...]], list[Any]]):
        self.kind, self.make, self.query = kind, make, query


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        path = tmp_path / "s.sqlite"

        def q(sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
            with sqlite3.connect(path) as db:
                return db.execute(sql.replace("%s", "?"), args).fetchall()

        yield Store("sqlite", lambda: SQLiteSink(path), q)
    else:
        dsn = request.getfixturevalue("pg_dsn")

        def q(sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
            with psycopg.connect(dsn) as conn:
                return conn.execute(sql, args).fetchall()

        yield Store("postgres", lambda: PostgresSink(dsn, migrate=True), q)


def make_topics(topic_factory: Callable[..., str]) -> Topics:
    return Topics(topic_factory("classified", 2), topic_factory("index", 2), topic_factory("alerts", 1),
                  topic_factory("dlq", 1))


def start(store: Store, kafka: Any, topics: Topics, group: str) -> RunnerThread:
    return RunnerThread(SinkRunner(store.make(), bootstrap=kafka.bootstrap, topics=topics.kinds(), group_id=group,
                                   deadletter_topic=topics.deadletter, batch_size=50, batch_seconds=0.2))


def test_replayed_old_record_keeps_newest_values(store: Store, kafka: Any, topic_factory: Callable[..., str]) -> None:
    topics = make_topics(topic_factory)
    old_u, new_u = index_update(0, 1, emitted_s=10), index_update(0, 2, emitted_s=20, final=True)
    old_i = item(1, tension=0.1, classified_at=T0 + timedelta(seconds=5), categories=["tariffs"])
    new_i = item(1, tension=0.9, classified_at=T0 + timedelta(seconds=50), categories=["visas", "export_controls"])
    produce(kafka.bootstrap, topics.index, [encode_index(old_u), encode_index(new_u)])
    produce(kafka.bootstrap, topics.classified, [encode_item(old_i), encode_item(new_i)])
    group = unique("g.upsert")
    runner = start(store, kafka, topics, group)

    def newest_everywhere() -> bool:
        try:
            rows = store.query("SELECT n_total, final FROM index_rows", ())
            items = store.query("SELECT tension FROM items", ())
        except Exception:
            return False
        return [tuple(r) for r in rows] == [(20, True)] and [tuple(r) for r in items] == [(0.9,)]

    def check() -> None:
        assert [tuple(r) for r in store.query("SELECT n_total, n_category, final FROM index_rows", ())] == [(20, 2, True)]
        (tension, cats), = store.query("SELECT tension, categories FROM items WHERE item_id = %s", ("item-000001",))
        assert tension == 0.9 and (json.loads(cats) if isinstance(cats, str) else cats) == ["visas", "export_controls"]
        got = sorted(r[0] for r in store.query("SELECT category FROM item_categories WHERE item_id = %s",
                                               ("item-000001",)))
        assert got == ["export_controls", "visas"]

    try:
        wait_for(newest_everywhere, 60, "the newest values")
        # The old versions arrive again (a replay), followed by a sentinel to know they were processed.
        produce(kafka.bootstrap, topics.index, [encode_index(old_u)])
        produce(kafka.bootstrap, topics.classified, [encode_item(old_i), encode_item(item(2))])
        wait_for(lambda: fully_committed(kafka.bootstrap, group, topics.kinds()), 60, "the replay to be committed")
        assert store.query("SELECT count(*) FROM items", ())[0][0] == 2
        check()
    finally:
        runner.stop()

    # A new group replays everything from the beginning into the same store: nothing changes.
    group2 = unique("g.replay")
    runner = start(store, kafka, topics, group2)
    try:
        wait_for(lambda: fully_committed(kafka.bootstrap, group2, topics.kinds()), 60, "the full replay")
    finally:
        runner.stop()
    assert runner.runner.written == 7
    assert store.query("SELECT count(*) FROM items", ())[0][0] == 2
    assert store.query("SELECT count(*) FROM index_rows", ())[0][0] == 1
    check()


def test_bad_records_are_dead_lettered_and_the_sink_keeps_going(store: Store, kafka: Any,
                                                                 topic_factory: Callable[..., str]) -> None:
    topics = make_topics(topic_factory)
    bad_window = index_update(3, 1, emitted_s=5)
    bad_window["window_end"] = bad_window["window_start"] - timedelta(hours=1)
    produce(kafka.bootstrap, topics.classified,
            [encode_item(item(i)) for i in range(10)]
            + [(b"junk", b"\x00\x01 not avro at all"), encode_item(item(10, tension=5.0))]
            + [encode_item(item(i)) for i in range(11, 20)])
    produce(kafka.bootstrap, topics.index, [encode_index(index_update(1, 1, emitted_s=1)), encode_index(bad_window)])
    group = unique("g.bad")
    runner = start(store, kafka, topics, group)
    try:
        wait_for(lambda: fully_committed(kafka.bootstrap, group, topics.kinds()), 60, "commits past the bad records")
        assert store.query("SELECT count(*) FROM items", ())[0][0] == 19
        assert store.query("SELECT count(*) FROM index_rows", ())[0][0] == 1
        letters = dead_letters(kafka.bootstrap, topics.deadletter, 3)
        assert runner.runner.dead_lettered == 3 and runner.thread.is_alive()
        # ... and keeps going.
        produce(kafka.bootstrap, topics.classified, [encode_item(item(99))])
        wait_for(lambda: store.query("SELECT count(*) FROM items", ())[0][0] == 20, 30, "a record after the bad ones")
    finally:
        runner.stop()

    by_reason = sorted((d["reason"], d["source_topic"], d["original_key"]) for d in letters)
    assert by_reason == [("constraint", topics.classified, b"item-000010"),
                         ("constraint", topics.index, b"tariffs"),
                         ("decode", topics.classified, b"junk")]
    constraint = [d for d in letters if d["reason"] == "constraint"]
    assert all("check constraint" in d["error_message"].lower() for d in constraint)
    assert all(d["stage"] == f"sink:{store.kind}" and d["source_offset"] is not None for d in letters)
    assert {d["error_class"] for d in constraint} <= {"IntegrityError", "CheckViolation"}
