"""SQLite store, the embedded default: WAL mode, versioned migrations, upserts where the newest wins.

Tables (documented in docs/stores.md): ``items`` keyed by item id (plus
``item_categories``, one row per item and category, for per-category queries),
``index_rows`` keyed by (category, window_kind, window_size_s, window_start),
``alerts`` keyed by alert id. A row is only replaced by a record whose version
column (classified_at, emitted_at, created_at) is at least as new, so a replay
of an older record after a window was updated leaves the newest values.
Migrations are applied on open: SQLite is a file owned by the sink.
"""

from __future__ import annotations

import logging
import operator
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from connectors.exceptions import MigrationError, SinkConfigError
from connectors.sinks import migrations
from connectors.sinks.base import Sink, SinkRecord
from connectors.sinks.rows import (ALERT_COLUMNS, BOOL_COLUMNS, INDEX_COLUMNS, ITEM_COLUMNS, JSON_COLUMNS, TABLES,
                                   TIME_COLUMNS, dumps, iso, latest_per_key, split_by_table)

log = logging.getLogger(__name__)


def _q(column: str) -> str:
    return f'"{column}"'


def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    _kind, _cols, key, version = TABLES[table]
    cols = ", ".join(map(_q, columns)) + ", stored_at"
    marks = ", ".join("?" for _ in columns) + ", ?"
    updates = ", ".join(f"{_q(c)}=excluded.{_q(c)}" for c in columns if c not in key) + ", stored_at=excluded.stored_at"
    return (f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT({', '.join(map(_q, key))}) "
            f"DO UPDATE SET {updates} WHERE excluded.{version} >= {table}.{version}")


_SQL = {t: _upsert_sql(t, cols) for t, cols in
        (("items", ITEM_COLUMNS), ("index_rows", INDEX_COLUMNS), ("alerts", ALERT_COLUMNS))}
_ITEM_VERSION = ITEM_COLUMNS.index(TABLES["items"][3])  # classified_at, as stored (ISO text)
_ITEM_PUBLISHED = ITEM_COLUMNS.index("published_at")
_MAX_VARIABLES = 500  # ids per SELECT … IN (…): far below SQLite's limit on bound variables
_ABSENT = object()


def _encoder(columns: tuple[str, ...]) -> Callable[[dict[str, Any], str], list[Any]]:
    """A row → statement parameters function for one table: timestamps as ISO text, booleans as 0/1,
    JSON columns as text, then ``stored_at``.

    Built once per table, so a row costs one C-level item fetch and a conversion of only the
    columns that need one (a type test on every cell of every row was a quarter of a batch).
    """
    get = operator.itemgetter(*columns)
    times = [i for i, c in enumerate(columns) if c in TIME_COLUMNS]
    flags = [i for i, c in enumerate(columns) if c in BOOL_COLUMNS]
    texts = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]

    def values(row: dict[str, Any], stored_at: str) -> list[Any]:
        out = list(get(row))
        for i in times:
            if out[i] is not None:
                out[i] = iso(out[i])
        for i in flags:
            if out[i] is not None:
                out[i] = int(out[i])
        for i in texts:
            out[i] = dumps(out[i])
        out.append(stored_at)
        return out
    return values


_VALUES = {"items": _encoder(ITEM_COLUMNS), "index_rows": _encoder(INDEX_COLUMNS), "alerts": _encoder(ALERT_COLUMNS)}


def apply_migrations(db: sqlite3.Connection) -> list[int]:
    """Apply the pending migrations in order, each in its own transaction; return the versions applied."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    applied = []
    for m in migrations.discover("sqlite"):
        if m.version in done:
            continue
        try:
            db.execute("BEGIN IMMEDIATE")
            for statement in _statements(m.sql):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, iso(_now())))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise MigrationError("sqlite", m.version, m.name, exc) from exc
        log.info("sqlite: applied migration %04d_%s", m.version, m.name)
        applied.append(m.version)
    return applied


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own, outside our transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def _now() -> datetime:
    return datetime.now(timezone.utc)


class SQLiteSink(Sink):
    """One writer connection; readers (dashboards, the demo) may open the file concurrently (WAL)."""

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise SinkConfigError(f"sqlite: {self.path} is a directory, expected a database file")
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        apply_migrations(self._db)

    def write_batch(self, records: list[SinkRecord]) -> None:
        assert self._db is not None, "open() must be called first"
        db = self._db
        stored_at = iso(_now())
        tables = split_by_table(records)
        db.execute("BEGIN IMMEDIATE")
        try:
            self._write_items(db, latest_per_key("items", tables["items"]), stored_at)
            for table in ("index_rows", "alerts"):
                values = _VALUES[table]
                db.executemany(_SQL[table], [values(r, stored_at) for r in latest_per_key(table, tables[table])])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _write_items(db: sqlite3.Connection, rows: list[dict[str, Any]], stored_at: str) -> None:
        """Upsert the items and rewrite the categories of those whose row the upsert replaces.

        Set-wise, not row by row (at most three statements per batch, not three per item): the stored
        versions of the batch's ids are read first, inside the batch's transaction, and an item
        counts as replaced exactly when the upsert's ``WHERE`` holds for it (no stored row, or
        ``classified_at`` ≥ the stored one: both ISO texts of one fixed width, so text order is
        time order). An older classification than the stored one changes nothing, its categories
        included. ``rows`` has one row per id (``latest_per_key``).
        """
        if not rows:
            return
        ids = [row["item_id"] for row in rows]
        stored: dict[str, str | None] = {}
        for k in range(0, len(ids), _MAX_VARIABLES):
            chunk = ids[k:k + _MAX_VARIABLES]
            stored.update(db.execute(f"SELECT item_id, classified_at FROM items WHERE item_id IN "
                                     f"({','.join('?' * len(chunk))})", chunk).fetchall())
        replaced = []
        rewritten = []  # ids stored before: their old categories go (a new id has none to delete)
        encode = _VALUES["items"]
        for row in rows:
            values = encode(row, stored_at)
            old = stored.get(row["item_id"], _ABSENT)
            if old is _ABSENT:
                replaced.append((row, values))
            elif old is not None and values[_ITEM_VERSION] >= old:
                replaced.append((row, values))
                rewritten.append((row["item_id"],))
        if not replaced:
            return
        db.executemany(_SQL["items"], [values for _row, values in replaced])
        if rewritten:
            db.executemany("DELETE FROM item_categories WHERE item_id = ?", rewritten)
        # OR REPLACE: a category row left behind by an item deleted by hand never fails the batch
        db.executemany("INSERT OR REPLACE INTO item_categories (item_id, category, published_at) VALUES (?,?,?)",
                       [(row["item_id"], c, values[_ITEM_PUBLISHED]) for row, values in replaced
                        for c in dict.fromkeys(row["categories"])])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def is_transient(self, exc: Exception) -> bool:
        # Locked or busy database, disk full, I/O errors: the store, not the record.
        if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | ValueError | TypeError | KeyError):
            return False
        return isinstance(exc, sqlite3.OperationalError | OSError)
