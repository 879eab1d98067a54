"""Pure record transformations shared by the Faust agents and offline tools.

Nothing here touches Kafka or Faust: given decoded records it returns decoded
records, so `tension classify`, `tension index` and the live topology give the
same answer for the same input.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from streams.classifier import classify
from streams.config import IndexConfig
from streams.index import Aggregate, alerts_for, empty, merge, new_alerting, rows_of
from streams.state import TableState
from streams.windows import Fact, Windows, apply, expire


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


def index_batch(state: TableState | MutableMapping[str, Any], facts: list[Fact], w: Windows,
                cfg: IndexConfig) -> Emission:
    """Fold a batch of facts into ``state`` and compute the rows and alerts to publish.

    The one function behind both the Faust index agent and `tension index`:
    identical input order and batch boundaries are not needed for identical
    final rows, only the same set of in-grace items. A :class:`TableState` is
    left for its owner to flush (the agent publishes first); a plain mapping is
    wrapped and flushed here (tests, one-off folds).
    """
    own = not isinstance(state, TableState)
    st = state if isinstance(state, TableState) else TableState(state, cfg)
    st.begin(cfg)
    result = apply(st, facts, w)
    out = Emission(late=result.late, duplicates=result.duplicates)
    agg = WindowAggregator(st, w, cfg)
    for name, start in sorted(result.changed, key=lambda k: (k[1], k[0])):
        out.updates.extend(agg.rows(name, start, final=False))
    hopping = w.specs[0]
    meta = st.meta()
    mem = copy.deepcopy(meta.get("alerting") or new_alerting())
    for name, start in result.closed:
        rows = agg.rows(name, start, final=True)
        out.finals.extend(rows)
        if name == hopping.name:
            for row in rows:
                out.alerts.extend(alerts_for(row, mem, cfg, hopping.size_ms))
    if result.closed:
        meta["alerting"] = mem
        meta.pop("trail", None)  # the alert memory before "alerting" (a list of hourly values)
    expire(st, meta, w)
    st.set_meta(meta)
    if own:
        st.flush()
    return out


class WindowAggregator:
    """Rows of windows merged from their panes' running totals, each merge done once.

    A pane belongs to 25 windows (24 hopping + 1 tumbling) by default; its totals
    are kept up to date by the state, so a row costs a merge of ≤ 24 small
    aggregates whatever the number of items, and windows with the same non-empty
    panes share one merge. The rows equal ``window_rows`` over the window's items
    (``tests/unit/streams/test_index_incremental.py``). Valid while the state does not
    change: make a new one per batch.
    """

    def __init__(self, state: TableState, w: Windows, cfg: IndexConfig) -> None:
        self.state, self.w, self.cfg = state, w, cfg
        self._merged: dict[tuple[int, ...], Aggregate] = {}

    def rows(self, name: str, start: int, *, final: bool) -> list[dict[str, Any]]:
        spec = self.w.spec(name)
        parts = {p: a for p in self.w.panes_of(spec, start) if (a := self.state.aggregate_of(p)) is not None}
        key = tuple(parts)
        agg = self._merged.get(key)
        if agg is None:
            agg = self._merged[key] = merge(list(parts.values()), self.cfg) if parts else empty(self.cfg)
        return rows_of(agg, self.cfg, kind=spec.kind, size_ms=spec.size_ms, start=start, final=final)


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
