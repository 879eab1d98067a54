"""SQLite store, the embedded default: WAL mode, upserts keyed so replays never duplicate.

Tables (documented in docs/stores.md): ``items`` keyed by item id,
``index_rows`` keyed by (category, window_kind, window_size_s, window_start),
``alerts`` keyed by alert id.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.sinks.base import Sink, SinkRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    published_at TEXT NOT NULL,
    categories TEXT NOT NULL,
    scores TEXT NOT NULL,
    tension REAL NOT NULL,
    direction TEXT NOT NULL,
    cues TEXT NOT NULL,
    actors TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    classified_at TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_published ON items(published_at);
CREATE TABLE IF NOT EXISTS item_categories (
    item_id TEXT NOT NULL,
    category TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (item_id, category)
);
CREATE INDEX IF NOT EXISTS item_categories_cat ON item_categories(category, published_at);
CREATE TABLE IF NOT EXISTS index_rows (
    category TEXT NOT NULL,
    window_kind TEXT NOT NULL,
    window_size_s INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    n_total INTEGER NOT NULL,
    n_category INTEGER NOT NULL,
    n_escalating INTEGER NOT NULL,
    n_deescalating INTEGER NOT NULL,
    share REAL,
    "index" REAL,
    signed_mean REAL,
    balance REAL,
    final INTEGER NOT NULL,
    top_items TEXT NOT NULL,
    emitted_at TEXT NOT NULL,
    PRIMARY KEY (category, window_kind, window_size_s, window_start)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    rule TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    message TEXT NOT NULL,
    items TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SQLiteSink(Sink):
    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def write_batch(self, records: list[SinkRecord]) -> None:
        assert self._db is not None, "open() must be called first"
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for rec in records:
                getattr(self, f"_write_{rec.kind}")(db, rec)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def _write_item(db: sqlite3.Connection, rec: SinkRecord) -> None:
        v = rec.value
        item = v["item"]
        db.execute(
            "INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(item_id) DO UPDATE SET "
            "title=excluded.title, body=excluded.body, source=excluded.source, url=excluded.url, "
            "published_at=excluded.published_at, categories=excluded.categories, scores=excluded.scores, "
            "tension=excluded.tension, direction=excluded.direction, cues=excluded.cues, "
            "actors=excluded.actors, classifier_version=excluded.classifier_version, "
            "classified_at=excluded.classified_at, kafka_partition=excluded.kafka_partition, "
            "kafka_offset=excluded.kafka_offset",
            (item["id"], item["title"], item["body"], item["source"], item["url"], _ts(item["published_at"]),
             _j(v["categories"]), _j(v["scores"]), v["tension"], v["direction"], _j(v["cues"]),
             _j(v["actors"]), v["classifier_version"], _ts(v["classified_at"]), rec.partition, rec.offset),
        )
        db.execute("DELETE FROM item_categories WHERE item_id = ?", (item["id"],))
        db.executemany("INSERT INTO item_categories VALUES (?,?,?)",
                       [(item["id"], c, _ts(item["published_at"])) for c in v["categories"]])

    @staticmethod
    def _write_index(db: sqlite3.Connection, rec: SinkRecord) -> None:
        v = rec.value
        db.execute(
            'INSERT INTO index_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) '
            "ON CONFLICT(category, window_kind, window_size_s, window_start) DO UPDATE SET "
            "window_end=excluded.window_end, n_total=excluded.n_total, n_category=excluded.n_category, "
            "n_escalating=excluded.n_escalating, n_deescalating=excluded.n_deescalating, "
            'share=excluded.share, "index"=excluded."index", signed_mean=excluded.signed_mean, '
            "balance=excluded.balance, final=excluded.final, top_items=excluded.top_items, "
            "emitted_at=excluded.emitted_at WHERE excluded.emitted_at >= index_rows.emitted_at",
            (v["category"], v["window_kind"], v["window_size_s"], _ts(v["window_start"]), _ts(v["window_end"]),
             v["n_total"], v["n_category"], v["n_escalating"], v["n_deescalating"], v["share"], v["index"],
             v["signed_mean"], v["balance"], int(v["final"]), _j(v["top_items"]), _ts(v["emitted_at"])),
        )

    @staticmethod
    def _write_alert(db: sqlite3.Connection, rec: SinkRecord) -> None:
        v = rec.value
        db.execute(
            "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(alert_id) DO UPDATE SET "
            "value=excluded.value, threshold=excluded.threshold, message=excluded.message, "
            "items=excluded.items, created_at=excluded.created_at",
            (v["id"], v["category"], v["rule"], _ts(v["window_start"]), _ts(v["window_end"]), v["value"],
             v["threshold"], v["message"], _j(v["items"]), _ts(v["created_at"])),
        )
