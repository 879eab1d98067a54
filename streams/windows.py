"""Event-time window bookkeeping and the index reducer, as pure functions.

State lives in one flat key→JSON-value mapping so the same code runs over a
plain ``dict`` (offline ``tension index``, unit tests) and over the Faust
table (live, via :class:`streams.state.TableState`). Keys:

* ``meta``           watermark, counters and the sorted list of pane starts;
* ``p:<start_ms>``   one *pane* (the gcd of every window size and step, 1 h by
  default): ``{item_id: [ts_ms, categories, tension, direction, title]}``, holding
  up to ``CHUNK_ITEMS`` items; a fuller pane continues in ``p:<start_ms>:1``,
  ``p:<start_ms>:2``… so a batch rewrites only the chunk it appends to;
* ``s:<item_id>``    the pane an item was first counted in (dedup index).

Every hopping and tumbling window is a union of panes, so an item touches one
pane however many windows contain it, and a window's row is recomputed from
its panes' items. Keeping the item ids *in* the pane is what makes the
aggregation idempotent: replaying a fact after a crash finds its id and does
not count it again (at-least-once delivery + idempotent aggregation).

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
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from math import gcd
from typing import Any

from streams.config import IndexConfig

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
META = "meta"
CHUNK_ITEMS = 200  # items per stored pane chunk: bounds what one batch rewrites and one changelog record

State = MutableMapping[str, Any]


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


def new_meta() -> dict[str, Any]:
    return {"max_ts": None, "wm": {}, "counted": 0, "duplicates": 0, "late": 0, "panes": [], "alerting": {}}


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


def chunk_key(pane: int, k: int) -> str:
    """Key of chunk ``k`` of a pane: ``p:<pane>`` for the first, ``p:<pane>:<k>`` after it."""
    return f"p:{pane}" if k == 0 else f"p:{pane}:{k}"


def pane_chunks(state: State, pane: int) -> list[dict[str, Any]]:
    """The chunks of a pane, in order: every key from ``p:<pane>`` up to the first missing one.

    Visibility is "the key exists", not a count kept elsewhere: a chunk is written
    before the dedup entries and ``meta`` of its batch, so whatever prefix of a
    batch survives a crash, every stored item is found by :func:`is_duplicate`.
    """
    chunks = []
    while (content := state.get(chunk_key(pane, len(chunks)))):
        chunks.append(content)
    return chunks


def pane_items(state: State, pane: int) -> Iterator[tuple[str, list[Any]]]:
    """(item id, [ts, categories, tension, direction, title]) of every item of a pane."""
    for content in pane_chunks(state, pane):
        yield from content.items()


def is_duplicate(state: State, w: Windows, fact: Fact) -> bool:
    """Seen before within the retention: by the dedup index, or (after a crash cut the
    write of ``s:<id>``) by its id already sitting in the pane of its event time."""
    if f"s:{fact.id}" in state:
        return True
    return any(fact.id in c for c in pane_chunks(state, w.pane_of(fact.ts)))


class _PaneWriter:
    """Appends items to panes for one batch, writing only the chunk(s) the batch changed.

    A pane used to be one value rewritten whole by every batch that touched it
    (and sent whole to the changelog): O(pane) bytes per batch, and past ~1 MB a
    record Kafka refuses. Now items go to the pane's last chunk until it holds
    ``CHUNK_ITEMS``, then to a new one.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self.chunks: dict[int, list[dict[str, Any]]] = {}  # pane → its chunks as this batch sees them
        self.copied: set[tuple[int, int]] = set()  # chunks this batch already copied into state

    def of(self, pane: int) -> list[dict[str, Any]]:
        if pane not in self.chunks:
            self.chunks[pane] = pane_chunks(self.state, pane)
        return self.chunks[pane]

    def contains(self, pane: int, item_id: str) -> bool:
        return any(item_id in c for c in self.of(pane))

    def add(self, pane: int, item_id: str, value: list[Any]) -> None:
        chunks = self.of(pane)
        k = len(chunks) - 1
        if k < 0 or len(chunks[k]) >= CHUNK_ITEMS:
            chunks.append({})
            k += 1
            self.copied.add((pane, k))
            self.state[chunk_key(pane, k)] = chunks[k]
        elif (pane, k) not in self.copied:  # copy once per batch, not once per item
            chunks[k] = dict(chunks[k])
            self.copied.add((pane, k))
            self.state[chunk_key(pane, k)] = chunks[k]
        chunks[k][item_id] = value


def apply(state: State, facts: Iterable[Fact], w: Windows) -> BatchResult:
    """Fold facts into state in arrival order; pure apart from mutating ``state``.

    Returns which windows changed or closed so the caller can emit rows; the
    rows themselves come from :func:`streams.index.window_rows` over the state.
    """
    meta = dict(state.get(META) or new_meta())
    meta["wm"] = dict(meta["wm"])  # JSON object keys are strings
    panes: list[int] = list(meta["panes"])  # sorted
    known = set(panes)
    result = BatchResult()
    writer = _PaneWriter(state)
    for fact in facts:
        old_cut = cut_of(meta, w)
        if f"s:{fact.id}" in state or writer.contains(w.pane_of(fact.ts), fact.id):  # is_duplicate
            meta["duplicates"] += 1
            result.duplicates.append(fact)
        elif old_cut is not None and fact.ts < old_cut:
            meta["late"] += 1
            result.late.append(fact)
            continue
        else:
            pane = w.pane_of(fact.ts)
            writer.add(pane, fact.id, [fact.ts, fact.categories, fact.tension, fact.direction, fact.title])
            state[f"s:{fact.id}"] = pane
            if pane not in known:
                known.add(pane)
                insort(panes, pane)
            meta["counted"] += 1
            for spec, start in w.windows_of_pane(pane):
                result.changed.add((spec.name, start))
        if meta["max_ts"] is None or fact.ts > meta["max_ts"]:
            meta["max_ts"] = fact.ts
        part = str(fact.part)
        if part not in meta["wm"] or fact.ts > meta["wm"][part]:
            meta["wm"][part] = fact.ts
            new_cut = cut_of(meta, w)
            if new_cut is not None and (old_cut is None or new_cut > old_cut):
                first = old_cut if old_cut is not None else panes[0] - w.pane_ms if panes else new_cut
                result.closed.extend(closing(panes, w, first, new_cut))
    meta["panes"] = panes
    cut = cut_of(meta, w)
    result.changed = {k for k in result.changed if cut is None or k[1] + w.spec(k[0]).size_ms > cut}
    state[META] = meta  # the caller runs expire() once the closed windows' rows are computed
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


def expire(state: State, meta: dict[str, Any], w: Windows) -> None:
    """Drop panes (and their dedup entries) older than the retention behind the watermark."""
    cut = cut_of(meta, w)
    if cut is None:
        return
    keep = []
    for pane in meta["panes"]:
        if pane + w.pane_ms <= cut - w.retention_ms:
            for k, content in enumerate(pane_chunks(state, pane)):
                for item_id in content:
                    state.pop(f"s:{item_id}", None)
                state.pop(chunk_key(pane, k), None)
        else:
            keep.append(pane)
    meta["panes"] = keep


def window_items(state: State, w: Windows, spec: WindowSpec, start: int,
                 panes: set[int] | None = None) -> list[tuple[str, list[Any]]]:
    """(item id, [ts, categories, tension, direction, title]) of every item in the window."""
    items: list[tuple[str, list[Any]]] = []
    for pane in w.panes_of(spec, start):
        if panes is not None and pane not in panes:
            continue
        items.extend(pane_items(state, pane))
    return items


def windows_between(meta: dict[str, Any], w: Windows, spec: WindowSpec, lo: int, hi: int) -> list[int]:
    """Starts of the windows of ``spec`` with data that overlap event times [lo, hi)."""
    starts: set[int] = set()
    panes = meta["panes"]
    for pane in panes[bisect_left(panes, lo - spec.size_ms):bisect_left(panes, hi + spec.size_ms)]:
        for s in spec.starts_containing(pane):
            if s < hi and s + spec.size_ms > lo:
                starts.add(s)
    return sorted(starts)
