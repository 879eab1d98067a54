"""The window state: decoded in memory, written through to a flat key→bytes table per batch.

One class, :class:`TableState`, serves the Faust table (live) and a plain ``dict``
(offline ``tension index``, unit tests), so both run the same code over the same
encoding. Keys (values are bytes):

* ``meta``            JSON: watermark, counters, alert memory, live and expired pane starts,
  ``seq`` (batches committed) and ``v`` (layout version);
* ``a:<pane>``        the pane's running totals (:class:`streams.index.Aggregate`) plus the
  number of its item chunks, as a fastavro schemaless record;
* ``i:<pane>:<k>``    the pane's items, ``CHUNK_ITEMS`` per chunk, as concatenated schemaless
  records: appending is a byte concatenation, and only ``/api/items``, expiry and a
  crash rollback ever decode them;
* ``s:<item id>``     the pane the item was counted in (8 bytes): the dedup index;
* ``undo``            JSON ``{seq, panes: {pane: items before the batch}}``.

Why the undo record: running totals must change together with the dedup index,
or a replayed item would be counted twice (totals written, ``s:`` lost) or never
(the reverse). A flush writes ``undo`` first, then item chunks, dedup entries and
totals, and ``meta`` (the commit point) last; the single changelog partition keeps
that order. A state whose ``undo.seq`` is ahead of ``meta.seq`` was cut mid-flush:
:meth:`TableState.begin` truncates those panes back to their committed items (and
recomputes their totals from them) before the next batch.

Deleting expired panes is not undoable (a pane can hold far more than one record):
their keys are deleted in the flush *after* the one whose ``meta`` dropped them,
before that flush's ``meta`` write, so a crash repeats deletes, never forgets them.
"""

from __future__ import annotations

import io
import json
import struct
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.config import IndexConfig
from streams.index import Aggregate, _Acc, aggregate, empty, extend

LAYOUT = 2  # meta["v"]: 1 was JSON panes of items re-totalled every batch
CHUNK_ITEMS = 200  # items per stored chunk: bounds what one batch rewrites and one changelog record
TAIL_CACHE = 64  # last chunks kept encoded in memory for appending (recent panes)
META, UNDO = "meta", "undo"

_ITEM = parse_schema({"type": "record", "name": "PaneItem", "fields": [
    {"name": "id", "type": "string"}, {"name": "ts", "type": "long"},
    {"name": "cats", "type": {"type": "array", "items": "string"}}, {"name": "t", "type": "double"},
    {"name": "dir", "type": "string"}, {"name": "title", "type": "string"}]})
_TOTALS = parse_schema({"type": "record", "name": "PaneTotals", "fields": [
    {"name": "n", "type": "long"}, {"name": "chunks", "type": "int"}, {"name": "tail", "type": "int"},
    {"name": "accs", "type": {"type": "array", "items": {"type": "record", "name": "CategoryTotals", "fields": [
        {"name": "cat", "type": "string"}, {"name": "n", "type": "long"}, {"name": "esc", "type": "long"},
        {"name": "deesc", "type": "long"}, {"name": "partials", "type": {"type": "array", "items": "double"}},
        {"name": "top", "type": {"type": "array", "items": {"type": "record", "name": "TopMember", "fields": [
            {"name": "id", "type": "string"}, {"name": "dir", "type": "string"},
            {"name": "t", "type": "double"}]}}}]}}}]})
_PANE = struct.Struct(">q")

Item = tuple[str, list[Any]]  # (id, [ts, categories, tension, direction, title])


class StateLayoutError(RuntimeError):
    """The table holds state of another layout version (start from an empty state)."""


def agg_key(pane: int) -> str:
    return f"a:{pane}"


def chunk_key(pane: int, k: int) -> str:
    return f"i:{pane}:{k}"


def new_meta() -> dict[str, Any]:
    return {"v": LAYOUT, "seq": 0, "max_ts": None, "wm": {}, "counted": 0, "duplicates": 0, "late": 0,
            "panes": [], "expired": [], "alerting": {}}


def encode_items(items: list[Item]) -> bytes:
    buf = io.BytesIO()
    for item_id, (ts, cats, tension, direction, title) in items:
        schemaless_writer(buf, _ITEM, {"id": item_id, "ts": ts, "cats": cats, "t": tension, "dir": direction,
                                       "title": title})
    return buf.getvalue()


def decode_items(raw: bytes) -> list[Item]:
    buf, out = io.BytesIO(raw), []
    while buf.tell() < len(raw):
        r: dict[str, Any] = schemaless_reader(buf, _ITEM, None)  # type: ignore[assignment]
        out.append((r["id"], [r["ts"], r["cats"], r["t"], r["dir"], r["title"]]))
    return out


class Pane:
    """A pane in memory: its totals and where its items continue."""

    __slots__ = ("agg", "chunks", "tail")

    def __init__(self, agg: Aggregate, chunks: int = 0, tail: int = 0) -> None:
        self.agg, self.chunks, self.tail = agg, chunks, tail  # tail = items in the last chunk

    def encode(self) -> bytes:
        buf = io.BytesIO()
        schemaless_writer(buf, _TOTALS, {"n": self.agg.n_total, "chunks": self.chunks, "tail": self.tail, "accs": [
            {"cat": c, "n": a.n, "esc": a.esc, "deesc": a.deesc, "partials": a.partials,
             "top": [{"id": i, "dir": d, "t": t} for i, d, t in a.top]}
            for c, a in self.agg.accs.items() if a.n]})
        return buf.getvalue()

    @classmethod
    def decode(cls, raw: bytes, cfg: IndexConfig) -> "Pane":
        r: dict[str, Any] = schemaless_reader(io.BytesIO(raw), _TOTALS, None)  # type: ignore[assignment]
        agg = empty(cfg)
        agg.n_total = r["n"]
        for a in r["accs"]:
            agg.accs[a["cat"]] = _Acc(a["n"], a["esc"], a["deesc"], list(a["partials"]),
                                      [(m["id"], m["dir"], m["t"]) for m in a["top"]])
        return cls(agg, r["chunks"], r["tail"])


class TableState:
    """The window state of one owner: decoded totals cached across batches, written per batch.

    Create it once per owning process (the index agent) and call :meth:`begin` before
    every batch and :meth:`flush` after it. The cache is dropped whenever the table's
    ``meta`` is not the one this object last wrote or read (another worker owned the
    partition meanwhile) or a batch was begun but never flushed. A fresh instance
    over a table that already holds state reads it back lazily: same rows.
    """

    def __init__(self, table: MutableMapping[str, Any], cfg: IndexConfig | None = None) -> None:
        self.table = table
        self.cfg = cfg or IndexConfig()
        self._reset()

    def _reset(self) -> None:
        self._meta_raw: bytes | None = None
        self._meta: dict[str, Any] | None = None
        self._committed: tuple[int, list[int]] = (0, [])  # seq and expired panes of the stored meta
        self.panes: dict[int, Pane | None] = {}
        self.tails: OrderedDict[int, bytes] = OrderedDict()  # pane → its last chunk, encoded
        self._open = False
        self._clear_batch()

    def _clear_batch(self) -> None:
        self.added: dict[str, int] = {}  # item id → pane, this batch
        self.appended: dict[int, list[Item]] = {}  # pane → items this batch
        self.before: dict[int, int] = {}  # pane → its items before this batch (the undo record)
        self.unsettled: dict[int, list[Item]] = {}  # pane → items not yet in its totals
        self.pending: dict[str, bytes] = {}  # what the last flush wrote (tests inspect it)

    # --- reading -----------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """The state's meta (decoded once; the reducer replaces it with :meth:`set_meta`)."""
        if self._meta is None:
            raw = self.table.get(META)
            self._meta_raw = raw
            self._meta = json.loads(raw) if raw else new_meta()
            if self._meta.get("v") != LAYOUT:
                raise StateLayoutError(f"index state has layout {self._meta.get('v', 1)}, this code reads "
                                       f"{LAYOUT}: start with an empty state (new app id or state dir)")
            self._committed = (self._meta["seq"], list(self._meta["expired"]))
        return self._meta

    def set_meta(self, meta: dict[str, Any]) -> None:
        self._meta = meta

    def pane(self, start: int) -> Pane | None:
        """A pane's totals, decoded once and then kept up to date in memory."""
        if start not in self.panes:
            raw = self.table.get(agg_key(start))
            self.panes[start] = Pane.decode(raw, self.cfg) if raw else None
        return self.panes[start]

    def aggregate_of(self, start: int) -> Aggregate | None:
        p = self.pane(start)
        return p.agg if p is not None and p.agg.n_total else None

    def seen(self, item_id: str) -> bool:
        """Counted before (this batch, or within the retention by the dedup index)."""
        return item_id in self.added or self.table.get(f"s:{item_id}") is not None

    def items(self, start: int) -> Iterator[Item]:
        """Every stored item of a pane, in arrival order (chunks up to the first missing key)."""
        k = 0
        while (raw := self.table.get(chunk_key(start, k))):
            yield from decode_items(raw)
            k += 1

    # --- one batch ---------------------------------------------------------------------
    def begin(self, cfg: IndexConfig) -> None:
        """Start a batch: drop a stale cache, roll back a flush a crash cut short."""
        self.cfg = cfg
        raw = self.table.get(META)
        if self._open or raw is None or raw != self._meta_raw:  # not (only) what this object flushed
            self._reset()
            undo = self.table.get(UNDO)
            if undo and (u := json.loads(undo))["seq"] > self.meta()["seq"]:
                # kept until the next flush overwrites it: a crash during the rollback repeats it
                for pane, count in u["panes"].items():
                    self._truncate(int(pane), count)
                self._reset()
        self.meta()
        self._open = True

    def add(self, start: int, item_id: str, value: list[Any]) -> None:
        """Count one new item in its pane (totals at :meth:`settle`, bytes at :meth:`flush`)."""
        if start not in self.before:
            pane = self.pane(start)
            self.before[start] = pane.agg.n_total if pane is not None else 0
        self.appended.setdefault(start, []).append((item_id, value))
        self.unsettled.setdefault(start, []).append((item_id, value))
        self.added[item_id] = start

    def settle(self) -> None:
        """Add the items counted since the last call to their panes' totals (one pass per pane)."""
        for start, items in self.unsettled.items():
            pane = self.pane(start)
            if pane is None:
                pane = self.panes[start] = Pane(empty(self.cfg))
            extend(pane.agg, items, self.cfg)
        self.unsettled = {}

    def drop(self, start: int) -> None:
        """Forget an expired pane here; its keys are deleted by the next flush (see module doc).

        Items this batch added to it (a watermark can pass a pane's retention within the
        batch that filled it) are not written at all: it is gone either way.
        """
        self.panes.pop(start, None)
        self.tails.pop(start, None)
        self.unsettled.pop(start, None)
        self.before.pop(start, None)
        for item_id, _ in self.appended.pop(start, []):
            self.added.pop(item_id, None)

    def flush(self) -> int:
        """Write the batch: undo, expired deletes, items, dedup entries, totals, then meta."""
        self.settle()
        meta = self.meta()
        seq, expired = self._committed
        meta["seq"] = seq + 1
        writes: dict[str, bytes] = {}
        if self.before:
            writes[UNDO] = json.dumps({"seq": meta["seq"], "panes": {str(p): n for p, n in self.before.items()}}).encode()
        n = 0
        if UNDO in writes:
            self.table[UNDO] = writes[UNDO]
            n += 1
        for start in expired:
            n += self._delete_pane(start)
        for start, items in self.appended.items():
            writes.update(self._append(start, items))
        for item_id, start in self.added.items():
            writes[f"s:{item_id}"] = _PANE.pack(start)
        for start in self.appended:
            pane = self.panes[start]
            assert pane is not None
            writes[agg_key(start)] = pane.encode()
        meta_raw = json.dumps(meta, separators=(",", ":")).encode()
        writes[META] = meta_raw
        for key, value in writes.items():  # dicts keep insertion order: the order above
            if key != UNDO:
                self.table[key] = value
                n += 1
        self._meta_raw, self._open = meta_raw, False
        self._committed = (meta["seq"], list(meta["expired"]))
        self._clear_batch()
        self.pending = writes
        return n

    def _append(self, start: int, items: list[Item]) -> dict[str, bytes]:
        """Encoded chunk writes that append ``items`` to a pane (its last chunk, then new ones)."""
        pane = self.panes[start]
        assert pane is not None
        out: dict[str, bytes] = {}
        k, tail = pane.chunks - 1, pane.tail
        raw = b""
        if k >= 0 and tail < CHUNK_ITEMS:
            cached = self.tails.pop(start, None)
            raw = cached if cached is not None else self.table.get(chunk_key(start, k)) or b""
        else:
            k, tail = k + 1, 0
        rest = items
        while rest:
            room = CHUNK_ITEMS - tail
            raw += encode_items(rest[:room])
            tail += len(rest[:room])
            rest = rest[room:]
            out[chunk_key(start, k)] = raw
            if rest:
                k, tail, raw = k + 1, 0, b""
        pane.chunks, pane.tail = k + 1, tail
        self.tails[start] = raw
        while len(self.tails) > TAIL_CACHE:
            self.tails.popitem(last=False)
        return out

    def _delete_pane(self, start: int) -> int:
        n = 0
        for item_id, _ in list(self.items(start)):
            self.table.pop(f"s:{item_id}", None)
            n += 1
        k = 0
        while self.table.get(chunk_key(start, k)):
            self.table.pop(chunk_key(start, k), None)
            k, n = k + 1, n + 1
        self.table.pop(agg_key(start), None)
        return n + 1

    def _truncate(self, start: int, count: int) -> None:
        """Roll a pane back to its first ``count`` items: dedup entries, chunks, then totals.

        Chunks wholly inside the first ``count`` items stay as they are; the one the
        cut falls in is rewritten, later ones are deleted. Repeating it is harmless.
        """
        kept: list[Item] = []
        cut: list[tuple[int, list[Item], bool]] = []  # (chunk, its kept items, changed?)
        extra: list[str] = []
        k = 0
        while (raw := self.table.get(chunk_key(start, k))):
            items = decode_items(raw)
            room = max(0, count - len(kept))
            kept.extend(items[:room])
            extra.extend(item_id for item_id, _ in items[room:])
            cut.append((k, items[:room], room < len(items)))
            k += 1
        for item_id in extra:
            self.table.pop(f"s:{item_id}", None)
        for j, part, changed in cut:
            if changed and part:
                self.table[chunk_key(start, j)] = encode_items(part)
            elif changed:
                self.table.pop(chunk_key(start, j), None)
        if not kept:
            self.table.pop(agg_key(start), None)
            return
        last = max(j for j, part, _ in cut if part)
        self.table[agg_key(start)] = Pane(aggregate(kept, self.cfg), last + 1, len(cut[last][1])).encode()
