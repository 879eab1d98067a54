"""The sink reads topics stored with every compression codec Kafka has: gzip, snappy, lz4, zstd.

For each codec, a classified, an index and an alerts topic are created with
``compression.type`` set to it (the broker stores every batch in that codec,
whatever the producer sent) and filled by a producer compressing with it. One
SQLite sink runner reads all twelve topics; every row of every codec must be
in the store, equal to what was produced.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from connectors.sinks.runner import SinkRunner
from connectors.sinks.sqlite import SQLiteSink
from tension.admin import admin_client
from tests.helpers import unique, wait_for
from tests.integration.connectors.sinks.sink_support import (
    RunnerThread, alert, encode_alert, encode_index, encode_item, expected_item_row, index_update, item, sqlite_items,
)

pytestmark = pytest.mark.integration

CODECS = ("gzip", "snappy", "lz4", "zstd")
N_ITEMS = 40


def _create(bootstrap: str, names: list[str], codec: str) -> None:
    admin = admin_client(bootstrap)  # kept referenced until the futures resolve
    futures = admin.create_topics([NewTopic(n, 1, 1, config={"compression.type": codec}) for n in names])
    for future in futures.values():
        future.result(30)


def _produce(bootstrap: str, codec: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20, "acks": "all"})
    for topic, key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(60) == 0


def test_the_sink_reads_every_codec(kafka: Any, tmp_path: Path) -> None:
    tag = unique("codec").rsplit("-", 1)[-1]
    kinds: dict[str, str] = {}
    expected_items: dict[str, list[tuple[Any, ...]]] = {}
    for n, codec in enumerate(CODECS):
        names = {kind: f"c.{kind}.{codec}-{tag}" for kind in ("item", "index", "alert")}
        _create(kafka.bootstrap, list(names.values()), codec)
        kinds.update({name: kind for kind, name in names.items()})
        items = [item(1000 * n + i) for i in range(N_ITEMS)]
        expected_items[codec] = sorted(expected_item_row(v) for v in items)
        records = [(names["item"], *encode_item(v)) for v in items]
        records += [(names["index"], *encode_index(index_update(10 * n + w, w + 1, emitted_s=w, final=True,
                                                               category="visas")))
                    for w in range(3)]
        records += [(names["alert"], *encode_alert(alert(100 * n + i))) for i in range(2)]
        _produce(kafka.bootstrap, codec, records)
    dead = f"c.dead-{tag}"
    _create(kafka.bootstrap, [dead], "zstd")

    db = tmp_path / "codecs.sqlite"
    runner = SinkRunner(SQLiteSink(db), bootstrap=kafka.bootstrap, topics=kinds, group_id=unique("g.codecs"),
                        deadletter_topic=dead, batch_size=200, batch_seconds=0.2)
    thread = RunnerThread(runner)
    total_items = N_ITEMS * len(CODECS)
    try:
        wait_for(lambda: len(sqlite_items(db)) >= total_items and _count(db, "alerts") >= 2 * len(CODECS)
                 and _count(db, "index_rows") >= 3 * len(CODECS), 60, "every row of every codec in SQLite")
    finally:
        thread.stop()
    stored = sqlite_items(db)
    for n, codec in enumerate(CODECS):
        mine = sorted(r for r in stored if 1000 * n <= int(r[0].removeprefix("item-")) < 1000 * (n + 1))
        got = [(i, t, x, _categories(c)) for i, t, x, c in mine]
        assert got == expected_items[codec], f"{codec}: rows differ"
    assert runner.dead_lettered == 0


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _categories(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value
