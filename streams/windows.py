"""Event-time windows, the watermark and the batch reducer, as pure functions over the state.

The state is a :class:`streams.state.TableState` over one flat key→bytes mapping
(a plain ``dict`` offline and in unit tests, the Faust table live): same code,
same encoding. Every hopping and tumbling window is a union of *panes* (the gcd
of every window size and step, 1 h by default). An item is stored once, in its
pane, and is added to that pane's running totals once; a window's row is a
merge of its panes' totals, never a pass over items, so a batch costs the same
whatever the state holds. The dedup index (``s:<item id>`` → pane) makes the
aggregation idempotent: a fact replayed after a crash is found there and not
counted again (at-least-once delivery + idempotent aggregation).

Watermark: ``cut = min_p(max_ts_p) − grace`` where ``max_ts_p`` is the largest
event time of every in-grace fact read from source partition ``p`` of
news.raw.v1 (duplicates included, so a replay advances it exactly as the first
run did), and ``cut`` is undefined until every source partition has been
heard from. Taking the minimum over partitions makes lateness depend only on
the order *within* each partition, which Kafka preserves, and not on how the
consumer interleaves partitions (that changes from run to run and after every
restart). A fact with ``ts < cut`` is *late*; a window with ``end ≤ cut`` is
closed and gets its ``final`` row. An idle source partition holds windows open.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from math import gcd
from typing import Any

from streams.config import IndexConfig
from streams.state import TableState

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class WindowSpec:
    """One window family: ``kind`` hopping/tumbling, ``name`` as the HTTP API spells it."""

    kind: str
    name: str
    size_ms: int
    step_ms: int

    def starts_containing(self, ts: int) -> list[int]:
        """Starts of every window of this family that contains event time ``ts``."""
        last = ts - ts % self.step_ms
        first = ts - self.size_ms + 1
        return list(range(last, first - 1, -self.step_ms)) if last >= first else []


@dataclass(frozen=True)
class Windows:
    """The configured window families and the pane size they share."""

    specs: tuple[WindowSpec, ...]
    pane_ms: int
    grace_ms: int
    retention_ms: int
    partitions: int = 1

    @classmethod
    def from_config(cls, cfg: IndexConfig) -> "Windows":
        hop = WindowSpec("hopping", f"{cfg.window_hours}h", cfg.window_hours * HOUR_MS,
                         cfg.window_step_hours * HOUR_MS)
        tumble = WindowSpec("tumbling", f"{cfg.tumbling_days}d", cfg.tumbling_days * DAY_MS,
                            cfg.tumbling_days * DAY_MS)
        pane = gcd(hop.size_ms, hop.step_ms, tumble.size_ms)
        retention = max(cfg.expires_days * DAY_MS, hop.size_ms, tumble.size_ms)
        return cls((hop, tumble), pane, int(cfg.grace_hours * HOUR_MS), retention, cfg.source_partitions)

    def spec(self, name: str) -> WindowSpec:
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(name)

    def pane_of(self, ts: int) -> int:
        return ts - ts % self.pane_ms

    def panes_of(self, spec: WindowSpec, start: int) -> range:
        return range(start, start + spec.size_ms, self.pane_ms)

    def windows_of_pane(self, pane: int) -> Iterator[tuple[WindowSpec, int]]:
        """Every (family, start) window that contains the pane (panes never straddle windows)."""
        for spec in self.specs:
            for start in spec.starts_containing(pane):
                yield spec, start


def cut_of(meta: dict[str, Any], w: Windows) -> int | None:
    """The watermark: every window ending at or before it is closed."""
    wm = meta["wm"]
    return min(wm.values()) - w.grace_ms if len(wm) >= w.partitions else None


@dataclass
class Fact:
    """What the index stage needs of one classified item (JSON on the facts topic)."""

    id: str
    ts: int
    categories: list[str]
    tension: float
    direction: str
    title: str = ""
    part: int = 0  # source partition of news.raw.v1 (per-partition watermarks)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "cats": self.categories, "t": self.tension,
                "dir": self.direction, "title": self.title, "part": self.part}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Fact":
        return cls(str(d["id"]), int(d["ts"]), [str(c) for c in d["cats"]], float(d["t"]),
                   str(d["dir"]), str(d.get("title", "")), int(d.get("part", 0)))


@dataclass
class BatchResult:
    """What one batch changed: windows to re-emit, windows that closed, facts rejected."""

    changed: set[tuple[str, int]] = field(default_factory=set)  # (spec name, start), still open
    closed: list[tuple[str, int]] = field(default_factory=list)  # in closing order
    late: list[Fact] = field(default_factory=list)
    duplicates: list[Fact] = field(default_factory=list)


def apply(state: TableState, facts: Iterable[Fact], w: Windows) -> BatchResult:
    """Fold facts into the state in arrival order (a batch begun with ``state.begin``).

    Returns which windows changed or closed so the caller can emit rows; the rows
    themselves are merged from the panes' totals (``streams.processing.WindowAggregator``).
    """
    meta = state.meta()
    meta["wm"] = dict(meta["wm"])  # JSON object keys are strings
    panes: list[int] = meta["panes"]  # sorted
    known = set(panes)
    touched: set[int] = set()
    result = BatchResult()
    first_cut = cut = cut_of(meta, w)
    for fact in facts:
        old_cut = cut
        pane = w.pane_of(fact.ts)
        if state.seen(fact.id):
            meta["duplicates"] += 1
            result.duplicates.append(fact)
        elif old_cut is not None and fact.ts < old_cut:
            meta["late"] += 1
            result.late.append(fact)
            continue
        else:
            state.add(pane, fact.id, [fact.ts, fact.categories, fact.tension, fact.direction, fact.title])
            if pane not in known:
                known.add(pane)
                insort(panes, pane)
            meta["counted"] += 1
            touched.add(pane)
        if meta["max_ts"] is None or fact.ts > meta["max_ts"]:
            meta["max_ts"] = fact.ts
        part = str(fact.part)
        if part not in meta["wm"] or fact.ts > meta["wm"][part]:
            meta["wm"][part] = fact.ts
            cut = cut_of(meta, w)
    if cut is not None and (first_cut is None or cut > first_cut):
        # once per batch: windows ending in (first, cut] in closing order, the concatenation of
        # what each step of the cut would close (a pane added after the cut passed c holds
        # only items ≥ c, so it never belongs to a window ending at or before c)
        first = first_cut if first_cut is not None else panes[0] - w.pane_ms if panes else cut
        result.closed.extend(closing(panes, w, first, cut))
    state.settle()
    for pane in touched:
        for spec, start in w.windows_of_pane(pane):
            if cut is None or start + spec.size_ms > cut:
                result.changed.add((spec.name, start))
    state.set_meta(meta)  # the caller runs expire() once the closed windows' rows are computed
    return result


def closing(panes: list[int], w: Windows, old_cut: int, new_cut: int) -> list[tuple[str, int]]:
    """Windows holding data whose end falls in (old_cut, new_cut], ordered by end then name.

    ``panes`` is sorted, so only the panes that can belong to such a window are visited.
    """
    out: set[tuple[int, str, int]] = set()
    longest = max(s.size_ms for s in w.specs)
    lo = bisect_left(panes, old_cut - longest)
    hi = bisect_left(panes, new_cut)
    for pane in panes[lo:hi]:
        for spec, start in w.windows_of_pane(pane):
            end = start + spec.size_ms
            if old_cut < end <= new_cut:
                out.add((end, spec.name, start))
    return [(name, start) for _, name, start in sorted(out)]


def expire(state: TableState, meta: dict[str, Any], w: Windows) -> None:
    """Retire panes older than the retention behind the watermark.

    They leave ``meta["panes"]`` now and are listed in ``meta["expired"]``; the state
    deletes their keys (items, dedup entries, totals) in the next flush, see
    :mod:`streams.state`.
    """
    cut = cut_of(meta, w)
    meta["expired"] = []
    if cut is None:
        return
    keep = []
    for pane in meta["panes"]:
        if pane + w.pane_ms <= cut - w.retention_ms:
            meta["expired"].append(pane)
            state.drop(pane)
        else:
            keep.append(pane)
    meta["panes"] = keep


def windows_between(meta: dict[str, Any], w: Windows, spec: WindowSpec, lo: int, hi: int) -> list[int]:
    """Starts of the windows of ``spec`` with data that overlap event times [lo, hi)."""
    starts: set[int] = set()
    panes = meta["panes"]
    for pane in panes[bisect_left(panes, lo - spec.size_ms):bisect_left(panes, hi + spec.size_ms)]:
        for s in spec.starts_containing(pane):
            if s < hi and s + spec.size_ms > lo:
                starts.add(s)
    return sorted(starts)
