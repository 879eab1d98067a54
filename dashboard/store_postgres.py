"""The PostgreSQL back end (psycopg 3): same queries, ``%s`` placeholders, timestamps cast.

The DSN is a secret: it is kept only to connect and is never logged or shown;
:func:`schemas.connection.redact_dsn` gives the label used instead (the DSN in ``key=value``
form with ``password=***``).
Connections are read-only sessions with short connect and statement timeouts so
a slow or dead server shows as "store unreachable" within seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dashboard.errors import StoreConfigError, StoreUnavailable
from dashboard.store import MissingTables, Store
from schemas.connection import redact_dsn as redact

log = logging.getLogger(__name__)


class PostgresStore(Store):
    kind = "postgresql"
    placeholder = "%s"

    def __init__(self, dsn: str, connect_timeout_s: int = 3, statement_timeout_ms: int = 10_000) -> None:
        try:
            import psycopg  # noqa: F401  (fail at start-up, not on the first request)
        except ImportError as exc:
            raise StoreConfigError("PostgreSQL needs psycopg: pip install 'tension-stream[postgres]'") from exc
        super().__init__(redact(dsn))
        self._dsn = dsn
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_ms = statement_timeout_ms

    def __repr__(self) -> str:  # never the DSN
        return f"PostgresStore({self.label})"

    def _ts_col(self, column: str) -> str:
        # Works whether the sink stored timestamptz or ISO text.
        return f"{column}::timestamptz"

    def _ts_param(self, value: datetime) -> Any:
        return value

    def _ts_equals(self, column: str, value: datetime) -> tuple[str, list[Any]]:
        return f"{column}::timestamptz = ?", [value]

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg
        from psycopg import errors

        try:
            conn = psycopg.connect(self._dsn, connect_timeout=self._connect_timeout_s, autocommit=True,
                                   options=f"-c statement_timeout={self._statement_timeout_ms} "
                                           "-c default_transaction_read_only=on")
        except psycopg.Error as exc:
            log.warning("cannot connect to %s: %s", self.label, type(exc).__name__)
            raise StoreUnavailable(f"the PostgreSQL store {self.label} is unreachable "
                                   f"({type(exc).__name__})", store=self.label) from exc
        try:
            with conn.cursor() as cur:
                cur.execute(sql, tuple(params))  # type: ignore[arg-type]
                return cur.fetchall()
        except errors.UndefinedTable as exc:
            raise MissingTables(str(exc)) from exc
        except errors.UndefinedColumn as exc:
            raise StoreUnavailable(f"the PostgreSQL store {self.label} has an older schema (a column is missing): "
                                   "run `tension sink postgres --migrate`", store=self.label) from exc
        except psycopg.Error as exc:
            log.warning("query on %s failed: %s: %s", self.label, type(exc).__name__, exc)
            raise StoreUnavailable(f"the PostgreSQL store {self.label} cannot be read "
                                   f"({type(exc).__name__})", store=self.label) from exc
        finally:
            conn.close()
