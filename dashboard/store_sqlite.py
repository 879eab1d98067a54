"""The SQLite back end: the sink's file opened read-only, one connection per query.

``mode=ro`` makes a stray write impossible and, unlike plain ``connect``,
never creates an empty file when the path is wrong — a wrong path must show
as "store unreachable", not as an empty store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dashboard.errors import StoreUnavailable
from dashboard.store import MissingTables, Store

log = logging.getLogger(__name__)


class SQLiteStore(Store):
    kind = "sqlite"
    placeholder = "?"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        super().__init__(f"sqlite:///{self.path}")
        self._uri = f"file:{quote(str(self.path))}?mode=ro"

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not self.path.is_file():
            raise StoreUnavailable(f"the SQLite store {self.path} does not exist (has the sink run yet?)",
                                   store=self.label)
        try:
            db = sqlite3.connect(self._uri, uri=True, timeout=5)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the SQLite store {self.path} cannot be opened: {exc}", store=self.label) from exc
        try:
            return db.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise MissingTables(str(exc)) from exc
            if "no such column" in str(exc):
                raise StoreUnavailable(f"the SQLite store {self.path} has an older schema ({exc}): run the sink on it "
                                       "once (it migrates on open)", store=self.label) from exc
            log.warning("SQLite query failed on %s: %s", self.path, exc)
            raise StoreUnavailable(f"the SQLite store {self.path} cannot be read: {exc}", store=self.label) from exc
        except sqlite3.DatabaseError as exc:  # e.g. "file is not a database"
            raise StoreUnavailable(f"the SQLite store {self.path} cannot be read: {exc}", store=self.label) from exc
        finally:
            db.close()
