"""The stored-row contract: the tables every store holds and the text form of their timestamps.

The sinks (``connectors/sinks``) write these tables and the dashboard
(``dashboard/store.py``) reads them; both import the names from here, so a
column added to a table is added once (the migrations under
``connectors/sinks/migrations`` create them; docs/stores.md describes them).
Each table has a unique key and a "newest wins" version column: a replayed or
late record never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, overload

ITEM_COLUMNS = ("item_id", "title", "body", "source", "url", "published_at", "categories", "scores", "tension",
                "direction", "cues", "actors", "classifier_version", "classified_at", "kafka_partition",
                "kafka_offset")
INDEX_COLUMNS = ("category", "window_kind", "window_size_s", "window_start", "window_end", "n_total", "n_category",
                 "n_escalating", "n_deescalating", "share", "index", "signed_mean", "balance", "final", "top_items",
                 "emitted_at", "evidence", "sparse", "interval_level", "share_low", "share_high", "index_low",
                 "index_high")
#: the columns TensionIndexUpdate v2 added, with the schema's defaults (what a v1 record resolves to)
INDEX_V2_DEFAULTS: dict[str, Any] = {"evidence": None, "sparse": False, "interval_level": None, "share_low": None,
                                     "share_high": None, "index_low": None, "index_high": None}
ALERT_COLUMNS = ("alert_id", "category", "rule", "window_start", "window_end", "value", "threshold", "message",
                 "items", "created_at")

#: table → (kind of record, columns, unique key, version column: the newest value of it wins)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "items": ("item", ITEM_COLUMNS, ("item_id",), "classified_at"),
    "index_rows": ("index", INDEX_COLUMNS, ("category", "window_kind", "window_size_s", "window_start"), "emitted_at"),
    "alerts": ("alert", ALERT_COLUMNS, ("alert_id",), "created_at"),
}
KIND_TABLE = {kind: table for table, (kind, *_rest) in TABLES.items()}
#: columns holding JSON (lists and maps)
JSON_COLUMNS = frozenset({"categories", "scores", "cues", "actors", "top_items", "items"})
#: columns holding timestamps (``datetime`` in a row; the stores format them) and booleans
TIME_COLUMNS = frozenset({"published_at", "classified_at", "window_start", "window_end", "emitted_at", "created_at"})
BOOL_COLUMNS = frozenset({"final", "sparse"})
#: the column names SQL needs quoted (``index`` is a keyword)
RESERVED_COLUMNS = frozenset({"index"})


def quoted(column: str) -> str:
    """``column`` as it must appear in SQL text."""
    return f'"{column}"' if column in RESERVED_COLUMNS else column


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | str | None) -> str | None: ...


def iso(value: datetime | str | None) -> str | None:
    """A timestamp → UTC, millisecond precision, ``Z``: fixed width, so text order is time order.

    The one text form of a stored instant (the SQLite and files sinks write it,
    the dashboard serves it). Text is parsed first (older rows may have second
    precision or an offset); text that is no timestamp comes back unchanged, a
    naive datetime is taken as UTC.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 24 and value[19] == "." and value[23] == "Z":
            return value  # already the canonical form: no parsing on the hot path
        try:
            value = parse_ts(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if value.tzinfo is not timezone.utc:  # the decoders give UTC already: convert only what is not
        value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" → "Z"


def parse_ts(value: str) -> datetime:
    """ISO text as the sinks write it → aware UTC datetime (naive means UTC)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
