"""Read-only access to the sink's aggregated tables, one interface for SQLite and PostgreSQL.

The sinks (connectors/sinks, tables in docs/stores.md) write the tables whose
columns ``schemas/stored.py`` defines; this module only reads ``index_rows``,
``items`` and ``alerts``. All SQL lives here,
written once with a placeholder token and parameterized; the two back ends only
differ in how they connect, how a timestamp column is compared and how values
come back (SQLite keeps ISO text and JSON text, PostgreSQL may hold
``timestamptz``/``jsonb``), which :meth:`Store._ts_col`, :meth:`Store._ts_param`
and the row converters absorb.

Every method opens a short-lived connection: the dashboard serves a handful of
people, and a fresh connection means a store that comes back after an outage
is picked up without restarting anything.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from dashboard.errors import EmptyStore, NotFound, StoreConfigError, UnknownCategory
from schemas import stored
from schemas.stored import iso, parse_ts, quoted

#: columns of index_rows the API returns, in this order
INDEX_COLUMNS = tuple(quoted(c) for c in stored.INDEX_COLUMNS)
#: the lean per-point columns of a series (tens of thousands of rows: no JSON to decode)
SERIES_COLUMNS = tuple(quoted(c) for c in ("category", "window_kind", "window_start", "index", "final", "index_low",
                                           "index_high", "sparse"))
#: the columns of an item the API serves (not the body, nor where and when it was classified)
ITEM_COLUMNS = tuple(c for c in stored.ITEM_COLUMNS if c not in (
    "body", "classifier_version", "classified_at", "kafka_partition", "kafka_offset"))
ALERT_COLUMNS = stored.ALERT_COLUMNS
MAX_ITEMS_PER_POINT = 200


class MissingTables(Exception):
    """The store answers but the sink has not created its tables yet: treated as empty."""


def _json(value: Any, default: Any) -> Any:
    """JSON text (SQLite, PostgreSQL text) or an already decoded value (jsonb)."""
    if value is None:
        return default
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


class Store(abc.ABC):
    """The queries the API needs; subclasses supply connections and dialect details."""

    kind: str = "store"
    placeholder: str = "?"

    def __init__(self, label: str) -> None:
        self.label = label  # shown on the page and in logs: never contains a password

    # -- back-end hooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only statement; raise StoreUnavailable or MissingTables."""

    def _ts_col(self, column: str) -> str:
        """SQL expression comparing a timestamp column with a :meth:`_ts_param` value."""
        return column

    def _ts_param(self, value: datetime) -> Any:
        return iso(value)

    def _ts_equals(self, column: str, value: datetime) -> tuple[str, list[Any]]:
        """SQL and parameters matching one instant; SQLite also accepts the sinks' older second-precision text."""
        plain = value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"{column} IN (?, ?)", [iso(value), plain]

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder) if self.placeholder != "?" else sql

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._query(self._sql(sql), params)

    def _in(self, values: Sequence[Any]) -> str:
        return "(" + ",".join("?" for _ in values) + ")"

    # -- queries ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Counts and a version token that changes whenever rows are added or updated."""
        try:
            n_index, last_index = self._rows("SELECT COUNT(*), MAX(emitted_at) FROM index_rows")[0]
            n_alerts, last_alert = self._rows("SELECT COUNT(*), MAX(created_at) FROM alerts")[0]
            (n_items,) = self._rows("SELECT COUNT(*) FROM items")[0]
        except MissingTables:
            n_index = n_alerts = n_items = 0
            last_index = last_alert = None
        version = f"{n_index}|{iso(last_index)}|{n_alerts}|{iso(last_alert)}"
        return {"store": self.kind, "label": self.label, "index_rows": int(n_index), "alerts": int(n_alerts),
                "items": int(n_items), "last_emitted_at": iso(last_index), "version": version,
                "empty": int(n_index) == 0}

    def categories(self) -> list[str]:
        """Categories with index rows, ``overall`` first; EmptyStore when there are none."""
        try:
            names = [r[0] for r in self._rows("SELECT DISTINCT category FROM index_rows")]
        except MissingTables:
            names = []
        if not names:
            raise EmptyStore("the store has no index rows yet: is the worker running and the sink "
                             "writing to this store?")
        return sorted(names, key=lambda c: (c != "overall", c))

    def check_categories(self, wanted: Sequence[str] | None) -> list[str]:
        """The requested categories (all when None), or UnknownCategory naming the missing ones."""
        known = self.categories()
        if not wanted:
            return known
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise UnknownCategory(unknown, known)
        return [c for c in known if c in wanted]

    def overview(self, size_s: int) -> list[dict[str, Any]]:
        """Per category: the current 24 h and daily windows and the change since the day before."""
        out = []
        for category in self.categories():
            entry: dict[str, Any] = {"category": category}
            for kind in ("hopping", "tumbling"):
                newest = self._latest(category, kind, size_s, None)
                current = self._current(category, kind, size_s, newest)
                previous = None
                if current is not None:
                    day_before = parse_ts(current["window_start"]) - timedelta(days=1)
                    previous = self._latest(category, kind, size_s, day_before)
                change = None
                if current and previous and current["index"] is not None and previous["index"] is not None:
                    change = current["index"] - previous["index"]
                entry[kind] = {"current": current, "previous_day": previous, "change": change,
                               "newest_window_end": newest["window_end"] if newest else None}
            out.append(entry)
        return out

    def _current(self, category: str, kind: str, size_s: int, latest: dict | None) -> dict | None:
        """The window that stands for "now".

        Daily: the newest day (possibly still open). Hopping: not the newest window —
        it started one step ago and holds only that step's items — but the one
        covering the full 24 h up to one step after the newest start, i.e. the
        trailing 24 h. The step is read from the data (the gap between the two newest
        starts), so the dashboard needs no copy of the worker's settings.
        """
        if latest is None or kind != "hopping":
            return latest
        starts = self._rows(
            f"SELECT window_start FROM index_rows WHERE category = ? AND window_kind = ? AND window_size_s = ? "
            f"ORDER BY {self._ts_col('window_start')} DESC LIMIT 2", [category, kind, size_s])
        size = timedelta(seconds=size_s)
        step = parse_ts(iso(starts[0][0]) or "") - parse_ts(iso(starts[1][0]) or "") if len(starts) == 2 else size
        anchor = parse_ts(latest["window_start"]) + min(step, size) - size
        return self._latest(category, kind, size_s, anchor) or latest

    def _latest(self, category: str, kind: str, size_s: int, at_or_before: datetime | None) -> dict | None:
        sql = (f"SELECT {', '.join(INDEX_COLUMNS)} FROM index_rows WHERE category = ? AND window_kind = ? "
               "AND window_size_s = ?")
        params: list[Any] = [category, kind, size_s]
        if at_or_before is not None:
            sql += f" AND {self._ts_col('window_start')} <= ?"
            params.append(self._ts_param(at_or_before))
        rows = self._rows(sql + f" ORDER BY {self._ts_col('window_start')} DESC LIMIT 1", params)
        return self._index_row(rows[0], with_items=False) if rows else None

    def series(self, categories: Sequence[str] | None, kinds: Sequence[str], size_s: int,
               since: datetime | None, until: datetime | None, limit: int) -> dict[str, Any]:
        """Index points per category and kind, oldest first, window start within [since, until).

        A point is only what a chart draws (start, index and its interval, final, sparse): with 30 days of hourly
        windows for six categories that is ~4,500 points, and their size is the page's
        load time. The window end is start + ``window_size_s``; /api/point has the rest.
        """
        cats = self.check_categories(categories)
        sql = (f"SELECT {', '.join(SERIES_COLUMNS)} FROM index_rows WHERE category IN {self._in(cats)} "
               f"AND window_kind IN {self._in(kinds)} AND window_size_s = ?")
        params: list[Any] = [*cats, *kinds, size_s]
        if since is not None:
            sql += f" AND {self._ts_col('window_start')} >= ?"
            params.append(self._ts_param(since))
        if until is not None:
            sql += f" AND {self._ts_col('window_start')} < ?"
            params.append(self._ts_param(until))
        sql += f" ORDER BY {self._ts_col('window_start')} LIMIT ?"
        rows = self._rows(sql, [*params, limit + 1])
        truncated = len(rows) > limit
        result: dict[str, dict[str, list[dict[str, Any]]]] = {c: {k: [] for k in kinds} for c in cats}
        for row in rows[:limit]:
            result[row[0]][row[1]].append({
                "window_start": iso(row[2]), "index": _num(row[3]), "final": bool(row[4]),
                "index_low": _num(row[5]), "index_high": _num(row[6]), "sparse": bool(row[7])})
        return {"categories": cats, "window_size_s": size_s, "truncated": truncated, "series": result}

    def point(self, category: str, kind: str, size_s: int, window_start: datetime) -> dict[str, Any]:
        """One window and the items behind it (its ``top_items`` looked up in ``items``)."""
        self.check_categories([category])
        match, match_params = self._ts_equals("window_start", window_start)
        rows = self._rows(
            f"SELECT {', '.join(INDEX_COLUMNS)} FROM index_rows WHERE category = ? AND window_kind = ? "
            f"AND window_size_s = ? AND {match}", [category, kind, size_s, *match_params])
        if not rows:
            raise NotFound(f"no {kind} window of {size_s}s for {category!r} starting at {iso(window_start)}")
        point = self._index_row(rows[0], with_items=True)
        ids = [str(i) for i in point["top_items"]][:MAX_ITEMS_PER_POINT]
        found = {}
        if ids:
            for row in self._rows(f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE item_id IN {self._in(ids)}",
                                  ids):
                found[row[0]] = self._item_row(row)
        point["items"] = [found[i] for i in ids if i in found]
        point["missing_items"] = [i for i in ids if i not in found]
        return point

    def alerts(self, categories: Sequence[str] | None, since: datetime | None, limit: int) -> list[dict]:
        """Newest alerts first; ``since`` keeps those created at or after it.

        "At or after", not "after": two alerts can share a millisecond and arrive in
        different sink batches; the page polls with the newest time it has and drops
        ids it already shows, so none is missed.
        """
        sql = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts WHERE 1 = 1"
        params: list[Any] = []
        if categories:
            sql += f" AND category IN {self._in(categories)}"
            params.extend(categories)
        if since is not None:
            sql += f" AND {self._ts_col('created_at')} >= ?"
            params.append(self._ts_param(since))
        sql += f" ORDER BY {self._ts_col('created_at')} DESC LIMIT ?"
        try:
            rows = self._rows(sql, [*params, limit])
        except MissingTables:
            return []
        return [{"id": r[0], "category": r[1], "rule": r[2], "window_start": iso(r[3]), "window_end": iso(r[4]),
                 "value": _num(r[5]), "threshold": _num(r[6]), "message": r[7], "items": _json(r[8], []),
                 "created_at": iso(r[9])} for r in rows]

    # -- row conversion --------------------------------------------------------------------------
    @staticmethod
    def _index_row(row: Sequence[Any], *, with_items: bool) -> dict[str, Any]:
        top = _json(row[14], [])
        out = {"category": row[0], "window_kind": row[1], "window_size_s": int(row[2]),
               "window_start": iso(row[3]), "window_end": iso(row[4]), "n_total": int(row[5]),
               "n_category": int(row[6]), "n_escalating": int(row[7]), "n_deescalating": int(row[8]),
               "share": _num(row[9]), "index": _num(row[10]), "signed_mean": _num(row[11]),
               "balance": _num(row[12]), "final": bool(row[13]), "n_top": len(top), "emitted_at": iso(row[15]),
               "evidence": None if row[16] is None else int(row[16]), "sparse": bool(row[17]),
               "interval_level": _num(row[18]), "share_low": _num(row[19]), "share_high": _num(row[20]),
               "index_low": _num(row[21]), "index_high": _num(row[22])}
        if with_items:
            out["top_items"] = top
        return out

    @staticmethod
    def _item_row(row: Sequence[Any]) -> dict[str, Any]:
        return {"id": row[0], "title": row[1], "source": row[2], "url": row[3], "published_at": iso(row[4]),
                "categories": _json(row[5], []), "scores": _json(row[6], {}), "tension": _num(row[7]),
                "direction": row[8], "cues": _json(row[9], []), "actors": _json(row[10], [])}


def open_store(url: str) -> Store:
    """A store from a URL: ``sqlite:///rel.db``, ``sqlite:////abs.db``, a bare path, or ``postgresql://``."""
    url = url.strip()
    if not url:
        raise StoreConfigError("no store given: pass --store sqlite:///path or postgresql://...")
    if url.startswith(("postgresql://", "postgres://")):
        from dashboard.store_postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://"):]
        if not rest.startswith("/") or rest == "/":
            raise StoreConfigError("a SQLite store URL looks like sqlite:///relative.db or sqlite:////abs.db")
        path = rest[1:]
    elif "://" in url:
        raise StoreConfigError(f"unsupported store scheme {url.split('://', 1)[0]!r}: use sqlite or postgresql")
    else:
        path = url
    from dashboard.store_sqlite import SQLiteStore

    return SQLiteStore(path)
