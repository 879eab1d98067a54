"""Pure record transformations shared by the Faust agents and offline tools.

Nothing here touches Kafka or Faust: given decoded records it returns decoded
records, so `tension classify`, `tension index` and the live topology give the
same answer for the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from streams.classifier import classify
from streams.config import IndexConfig
from streams.index import check_alerts, push_trail, window_rows
from streams.windows import META, Fact, State, Windows, apply, expire, new_meta, window_items


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def classify_news(item: dict[str, Any], *, engine: str = "rules", now: datetime | None = None) -> dict[str, Any]:
    """A decoded NewsItem → a ClassifiedItem record (Avro-ready dict)."""
    result = classify(item["title"], item.get("body") or "", engine=engine)
    out = result.to_dict()
    return {
        "item": item,
        "categories": out["categories"],
        "scores": out["scores"],
        "tension": out["tension"],
        "direction": out["direction"],
        "cues": out["cues"],
        "actors": out["actors"],
        "classifier_version": out["classifier_version"],
        "classified_at": now or datetime.now(timezone.utc),
    }


def fact_of(classified: dict[str, Any], part: int = 0) -> Fact:
    """The index stage's view of a ClassifiedItem (live) or a `tension classify` line (offline)."""
    item = classified.get("item") or classified
    return Fact(id=str(item["id"]), ts=event_time_ms(item), categories=list(classified["categories"]),
                tension=float(classified["tension"]), direction=str(classified["direction"]),
                title=str(item.get("title", ""))[:160], part=part)


@dataclass
class Emission:
    """Everything one batch of facts produces, in the order it must be published."""

    updates: list[dict[str, Any]] = field(default_factory=list)  # non-final rows of open windows
    finals: list[dict[str, Any]] = field(default_factory=list)  # rows of windows that closed
    alerts: list[dict[str, Any]] = field(default_factory=list)
    late: list[Fact] = field(default_factory=list)
    duplicates: list[Fact] = field(default_factory=list)


def index_batch(state: State, facts: list[Fact], w: Windows, cfg: IndexConfig) -> Emission:
    """Fold a batch of facts into ``state`` and compute the rows and alerts to publish.

    The one function behind both the Faust index agent and `tension index`:
    identical input order and batch boundaries are not needed for identical
    final rows, only the same set of in-grace items.
    """
    result = apply(state, facts, w)
    out = Emission(late=result.late, duplicates=result.duplicates)
    for name, start in sorted(result.changed, key=lambda k: (k[1], k[0])):
        out.updates.extend(window_rows_of(state, w, cfg, name, start, final=False))
    hopping = w.specs[0].name
    meta = dict(state.get(META) or new_meta())
    trail = {k: list(v) for k, v in meta.get("trail", {}).items()}
    for name, start in result.closed:
        rows = window_rows_of(state, w, cfg, name, start, final=True)
        out.finals.extend(rows)
        if name == hopping:
            for row in rows:
                values = trail.get(row["category"], [])
                out.alerts.extend(check_alerts(row, values, cfg))
                trail[row["category"]] = push_trail(values, row["index"], cfg.alert_trailing)
    if result.closed:
        meta["trail"] = trail
    expire(state, meta, w)
    state[META] = meta
    return out


def window_rows_of(state: State, w: Windows, cfg: IndexConfig, name: str, start: int, *, final: bool) -> list[dict[str, Any]]:
    spec = w.spec(name)
    return window_rows(window_items(state, w, spec, start), cfg, kind=spec.kind, size_ms=spec.size_ms,
                       start=start, final=final)


def event_time_ms(item: dict[str, Any]) -> int:
    """The item's publication time as a Kafka timestamp (ms since epoch, UTC)."""
    published = item["published_at"]
    if isinstance(published, str):
        published = datetime.fromisoformat(published.replace("Z", "+00:00"))
    if isinstance(published, datetime):
        if published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
        return (published - _EPOCH) // timedelta(milliseconds=1)  # integer maths: no float rounding
    return int(published)
