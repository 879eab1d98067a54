"""Records → table rows, shared by every store so the stores hold the same columns (schemas/stored.py).

Each table has a unique key and a "newest wins" version column: a replayed or
late record never overwrites a newer one. ``latest_per_key`` applies the same
rule inside one batch (the database's ``ON CONFLICT`` cannot touch one row
twice in a statement). Timestamps stay ``datetime`` here; each store formats
them (SQLite and files: ``schemas.stored.iso``, ISO 8601 text with milliseconds and ``Z``,
which sorts like time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from connectors.sinks.base import SinkRecord
from schemas.stored import (ALERT_COLUMNS, BOOL_COLUMNS, INDEX_COLUMNS, INDEX_V2_DEFAULTS, ITEM_COLUMNS,  # noqa: F401
                            JSON_COLUMNS, KIND_TABLE, TABLES, TIME_COLUMNS, iso)

def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept: the form every store writes its JSON columns in.

    orjson, not ``json``: four JSON columns per item made the standard encoder a fifth of a
    sink's time. Same separators and the same values as ``json.dumps``; only tiny floats may be
    spelled otherwise (``0.00001`` for ``1e-05``), which every JSON reader parses alike.
    """
    return orjson.dumps(value).decode()


def item_row(rec: SinkRecord) -> dict[str, Any]:
    v = rec.value
    item = v["item"]
    return {
        "item_id": item["id"], "title": item["title"], "body": item["body"], "source": item["source"],
        "url": item["url"], "published_at": item["published_at"], "categories": list(v["categories"]),
        "scores": dict(v["scores"]), "tension": v["tension"], "direction": v["direction"], "cues": list(v["cues"]),
        "actors": list(v["actors"]), "classifier_version": v["classifier_version"],
        "classified_at": v["classified_at"], "kafka_partition": rec.partition, "kafka_offset": rec.offset,
    }


def index_row(rec: SinkRecord) -> dict[str, Any]:
    v = rec.value
    row = {c: v[c] if c not in INDEX_V2_DEFAULTS else v.get(c, INDEX_V2_DEFAULTS[c])
           for c in INDEX_COLUMNS if c != "top_items"}
    row["top_items"] = list(v["top_items"])
    return row


def alert_row(rec: SinkRecord) -> dict[str, Any]:
    v = rec.value
    return {"alert_id": v["id"], **{c: v[c] for c in ALERT_COLUMNS[1:] if c != "items"}, "items": list(v["items"])}


ROW_BUILDERS: dict[str, Callable[[SinkRecord], dict[str, Any]]] = {
    "item": item_row, "index": index_row, "alert": alert_row,
}


def row_of(rec: SinkRecord) -> dict[str, Any]:
    return ROW_BUILDERS[rec.kind](rec)


def latest_per_key(table: str, rows: Iterable[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
    """Keep one row per unique key: newest version column, ties → highest Kafka offset (last written)."""
    _kind, _cols, key, version = TABLES[table]
    best: dict[tuple[Any, ...], tuple[tuple[Any, int], dict[str, Any]]] = {}
    for row, offset in rows:
        k = tuple(row[c] for c in key)
        rank = (row[version], offset)
        current = best.get(k)
        if current is None or rank >= current[0]:
            best[k] = (rank, row)
    return [row for _rank, row in best.values()]


def split_by_table(records: Iterable[SinkRecord]) -> dict[str, list[tuple[dict[str, Any], int]]]:
    """Rows of a batch grouped by table, each with its offset, in arrival order."""
    out: dict[str, list[tuple[dict[str, Any], int]]] = {t: [] for t in TABLES}
    for rec in records:
        out[KIND_TABLE[rec.kind]].append((row_of(rec), rec.offset))
    return out
