"""PostgreSQL store via psycopg 3: the SQLite tables with native types, written by COPY + merge.

Each batch is one transaction: rows are deduplicated per unique key (newest
version wins), COPY'd into session-local staging tables and merged with
``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE excluded.<version> >=
<table>.<version>`` — one round trip per table instead of one per row, and a
replay of an older record never overwrites a newer one. ``item_categories`` is
rewritten only for the items whose row actually changed (``RETURNING``).

The schema comes from versioned files in ``migrations/postgres`` applied by
``tension sink postgres --migrate`` (tracked in ``schema_migrations``); without
``migrate`` the sink refuses to start on an older schema. Connection errors are
transient: the runner retries with backoff and this sink reconnects. The DSN
is a secret: only a redacted form is ever logged.
"""

from __future__ import annotations

import logging
import operator
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from psycopg import conninfo, sql

from connectors.exceptions import MigrationError, SinkConfigError, StoreNotReadyError
from connectors.sinks import migrations
from connectors.sinks.base import Sink, SinkRecord
from connectors.sinks.rows import JSON_COLUMNS, TABLES, dumps, latest_per_key, split_by_table
from schemas.connection import redact_dsn as redact  # noqa: F401 (also this module's name for it)

log = logging.getLogger(__name__)

#: serialises concurrent `--migrate` runs (several sinks may start at once)
_MIGRATION_LOCK = zlib.crc32(b"tension-stream schema_migrations")


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


def _merge_sql(table: str) -> sql.Composed:
    _kind, columns, key, version = TABLES[table]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in (*columns, "stored_at") if c not in key)
    return sql.SQL(
        "INSERT INTO {t} ({cols}, stored_at) SELECT {cols}, now() FROM {stage} "
        "ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE excluded.{v} >= {t}.{v} RETURNING {first}"
    ).format(t=sql.Identifier(table), cols=cols, stage=sql.Identifier(f"stage_{table}"),
             key=sql.SQL(", ").join(map(sql.Identifier, key)), updates=updates, v=sql.Identifier(version),
             first=sql.Identifier(key[0]))


def _copy_sql(table: str) -> sql.Composed:
    columns = TABLES[table][1]
    return sql.SQL("COPY {stage} ({cols}) FROM STDIN").format(
        stage=sql.Identifier(f"stage_{table}"), cols=sql.SQL(", ").join(map(sql.Identifier, columns)))


def _encoder(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], list[Any]]:
    """A row → COPY values function for one table: JSON columns as text, the rest as psycopg adapts them.

    Built once per table: one C-level item fetch per row and work only on the JSON columns.
    """
    get = operator.itemgetter(*columns)
    texts = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]

    def values(row: dict[str, Any]) -> list[Any]:
        out = list(get(row))
        for i in texts:
            out[i] = dumps(out[i])
        return out
    return values


_VALUES = {t: _encoder(TABLES[t][1]) for t in TABLES}
_MERGE = {t: _merge_sql(t) for t in TABLES}
_COPY = {t: _copy_sql(t) for t in TABLES}
_CATEGORIES = (
    "INSERT INTO item_categories (item_id, category, published_at) "
    "SELECT DISTINCT s.item_id, c.value, s.published_at FROM stage_items s "
    "CROSS JOIN LATERAL jsonb_array_elements_text(s.categories) AS c(value) WHERE s.item_id = ANY(%s)"
)


def apply_migrations(conn: psycopg.Connection[Any]) -> list[int]:
    """Apply pending migrations in order, each with its schema_migrations row in one transaction."""
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    for m in migrations.discover("postgres"):
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (m.version,)).fetchone():
                    continue
                conn.execute(m.sql.encode())  # several statements: no parameters, simple protocol
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name))
        except psycopg.Error as exc:
            raise MigrationError("postgres", m.version, m.name, exc) from exc
        log.info("postgres: applied migration %04d_%s", m.version, m.name)
        applied.append(m.version)
    return applied


def schema_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


class PostgresSink(Sink):
    """Writes batches with COPY + merge in one transaction; reconnects after store outages."""

    name = "postgres"

    def __init__(self, dsn: str | _Secret, *, migrate: bool = False, connect_timeout_s: int = 5) -> None:
        self._dsn = dsn if isinstance(dsn, str) else dsn.get_secret_value()
        if not self._dsn:
            raise SinkConfigError("postgres: no DSN (set TENSION_SINK__POSTGRES_DSN)")
        try:
            parts = conninfo.conninfo_to_dict(self._dsn)
        except psycopg.ProgrammingError:
            raise SinkConfigError("postgres: the DSN cannot be parsed (value not shown: it may hold a password)") from None
        if connect_timeout_s < 1:
            raise SinkConfigError("postgres: connect_timeout_s must be >= 1")
        self._password = str(parts.get("password") or "")
        self.migrate = migrate
        self.connect_timeout_s = connect_timeout_s
        self.target = redact(self._dsn)
        self._conn: psycopg.Connection[Any] | None = None

    def __repr__(self) -> str:
        return f"PostgresSink({self.target!r})"

    def open(self) -> None:
        """Connect, apply the migrations if asked, and refuse an older schema."""
        conn = self._connect()
        if self.migrate:
            applied = apply_migrations(conn)
            log.info("postgres: %s", f"applied migrations {applied}" if applied else "schema up to date")
        have, want = schema_version(conn), migrations.latest("postgres")
        if have < want:
            raise StoreNotReadyError("postgres", have, want)
        log.info("postgres: writing to %s (schema %d)", self.target, have)

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=self.connect_timeout_s,
                               application_name="tension-sink", keepalives=1, keepalives_idle=10)
        self._conn = conn
        return conn

    def _session(self) -> psycopg.Connection[Any]:
        """The live connection, reconnecting (and recreating the staging tables) after an outage."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            self._discard()
            conn = self._connect()
            log.info("postgres: connected to %s", self.target)
        if not getattr(conn, "_tension_staged", False):
            for table in TABLES:
                conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {s} (LIKE {t} INCLUDING DEFAULTS) "
                                     "ON COMMIT DELETE ROWS").format(s=sql.Identifier(f"stage_{table}"),
                                                                     t=sql.Identifier(table)))
            conn._tension_staged = True  # type: ignore[attr-defined]
        return conn

    def write_batch(self, records: list[SinkRecord]) -> None:
        tables = split_by_table(records)
        try:
            conn = self._session()
            with conn.transaction(), conn.cursor() as cur:
                for table, rows in tables.items():
                    latest = latest_per_key(table, rows)
                    if not latest:
                        continue
                    values = _VALUES[table]
                    with cur.copy(_COPY[table]) as copy:
                        for row in latest:
                            copy.write_row(values(row))
                    cur.execute(_MERGE[table])
                    if table == "items":
                        changed = [r[0] for r in cur.fetchall()]
                        if changed:
                            cur.execute("DELETE FROM item_categories WHERE item_id = ANY(%s)", (changed,))
                            cur.execute(_CATEGORIES, (changed,))
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._discard()  # the next attempt reconnects
            raise

    def _discard(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken
                pass
            self._conn = None

    def close(self) -> None:
        self._discard()

    def is_transient(self, exc: Exception) -> bool:
        # Integrity (CHECK, NOT NULL, unique) and data errors (bad text, out of range) belong to the
        # record; anything else (connection lost, server shutting down, ...) to the store.
        return not isinstance(exc, psycopg.IntegrityError | psycopg.DataError | ValueError | TypeError | KeyError)

    def describe_error(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self._password:
            text = text.replace(self._password, "***")
        return text[:2000]

