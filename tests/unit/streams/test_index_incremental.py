"""Incremental pane totals: the same rows as the formulas over the window's items, whatever the
arrival order, batch boundaries, duplicates, restarts (a fresh state over the table) or pane split."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import IndexConfig
from streams.index import add_exact, window_rows
from streams.offline import reference
from streams.processing import WindowAggregator, index_batch
from streams.state import META, StateLayoutError, TableState
from streams.windows import HOUR_MS, Fact, Windows

CATS = ["tariffs", "visas", "trade_talks"]
DIRS = ["escalation", "deescalation", "neutral"]
T0 = 1_740_000_000_000 - 1_740_000_000_000 % HOUR_MS
OPEN = IndexConfig(grace_hours=10_000, top_k=3)  # nothing is late and no window closes: all rows comparable
W_OPEN = Windows.from_config(OPEN)

# classifier-like values (k / 1000: not exact in binary, so a plain float sum depends on order)
tensions = st.one_of(st.integers(-1000, 1000).map(lambda k: k / 1000), st.floats(-1, 1, allow_nan=False),
                     st.sampled_from([0.1, 0.2, 0.3, -0.7, 1e-17, -1e-300, 0.0]))
fact_rows = st.lists(st.tuples(st.integers(0, 30 * HOUR_MS), st.lists(st.sampled_from(CATS), max_size=3, unique=True),
                               tensions, st.sampled_from(DIRS)), min_size=1, max_size=80)


def to_facts(rows: list[tuple[int, list[str], float, str]]) -> list[Fact]:
    return [Fact(f"i{k:03d}", T0 + ts, cats, t, d) for k, (ts, cats, t, d) in enumerate(rows)]


def fold(seq: list[Fact], cuts: list[int], table: dict[str, Any] | None = None,
         state: TableState | None = None) -> tuple[dict[str, Any], TableState]:
    table = {} if table is None else table
    state = state or TableState(table, OPEN)
    bounds = sorted({0, len(seq), *(c % (len(seq) + 1) for c in cuts)}) if seq else [0, 0]  # ≥ 1 batch
    for a, b in zip(bounds, bounds[1:]):
        index_batch(state, seq[a:b], W_OPEN, OPEN)
        state.flush()
    return table, state


def all_rows(state: TableState) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The rows of every window with data, merged from the pane totals."""
    agg = WindowAggregator(state, W_OPEN, OPEN)
    out = {}
    for spec in W_OPEN.specs:
        for pane in state.meta()["panes"]:
            for start in spec.starts_containing(pane):
                out[(spec.name, start)] = agg.rows(spec.name, start, final=False)
    return out


def from_items(seq: list[Fact]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The same windows straight from the definitions (docs/index.md) over their items."""
    first = {}
    for f in seq:
        first.setdefault(f.id, f)
    out = {}
    for spec in W_OPEN.specs:
        starts = {s for f in first.values() for s in spec.starts_containing(f.ts)}
        for start in starts:
            items = [(f.id, [f.ts, f.categories, f.tension, f.direction, f.title]) for f in first.values()
                     if start <= f.ts < start + spec.size_ms]
            out[(spec.name, start)] = window_rows(items, OPEN, kind=spec.kind, size_ms=spec.size_ms, start=start,
                                                  final=False)
    return out


@settings(max_examples=30, deadline=None)
@given(rows=fact_rows, cuts=st.lists(st.integers(0, 100), max_size=6), seed=st.integers(0, 2**32),
       dups=st.integers(0, 10))
def test_rows_do_not_depend_on_order_batches_or_duplicates(rows: list, cuts: list[int], seed: int,
                                                           dups: int) -> None:
    seq = to_facts(rows)
    expected = from_items(seq)
    rng = random.Random(seed)
    shuffled = seq + [rng.choice(seq) for _ in range(dups)]  # replays of already counted items
    rng.shuffle(shuffled)
    table, state = fold(shuffled, cuts)
    assert all_rows(state) == expected  # value for value, floats included
    assert all_rows(TableState(table, OPEN)) == expected  # a fresh state over the table (recovery)
    assert TableState(table, OPEN).meta()["counted"] == len(seq)


@settings(max_examples=25, deadline=None)
@given(rows=fact_rows, cut=st.integers(0, 60), owner=st.integers(0, 2))
def test_a_cache_made_stale_by_another_writer_is_dropped(rows: list, cut: int, owner: int) -> None:
    """A worker that lost the state partition and got it back must not reuse its cache."""
    seq = to_facts(rows)
    cut %= len(seq) + 1
    table, first = fold(seq[:cut // 2], [])
    fold(seq[cut // 2:cut], [5], table=table)  # another owner meanwhile
    _, first = fold(seq[cut:], [7, 20], table=table, state=first if owner else None)
    assert all_rows(first) == from_items(seq)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=50), split=st.integers(1, 8),
       seed=st.integers(0, 2**32))
def test_exact_partials_give_fsum_for_any_split_and_order(values: list[float], split: int, seed: int) -> None:
    shuffled = values[:]
    random.Random(seed).shuffle(shuffled)
    parts: list[list[float]] = [[] for _ in range(split)]
    for k, v in enumerate(shuffled):
        add_exact(parts[k % split], v)
    assert math.fsum([p for part in parts for p in part]) == math.fsum(values)
    assert all(len(part) <= 40 for part in parts)  # partials stay non-overlapping, so few


def test_offline_reference_equals_the_live_fold_for_any_batch_size() -> None:
    cfg = IndexConfig(grace_hours=2)
    rng = random.Random(7)
    seq = sorted((Fact(f"i{k}", T0 + rng.randrange(80 * HOUR_MS), rng.sample(CATS, rng.randrange(3)),
                       rng.uniform(-1, 1), rng.choice(DIRS)) for k in range(300)), key=lambda f: f.ts)
    seq.append(Fact("flush", seq[-1].ts + 20 * 24 * HOUR_MS, [], 0.0, "neutral"))
    finals = {b: reference(seq, cfg, batch=b).finals for b in (1, 13, 500)}
    key = lambda r: (r["category"], r["window_kind"], r["window_start"])  # noqa: E731
    assert finals[1] and all(sorted(map(key, f)) == sorted(map(key, finals[1])) for f in finals.values())
    assert all({key(r): r for r in f} == {key(r): r for r in finals[1]} for f in finals.values())


@pytest.mark.parametrize("days", [5, 9])
def test_expired_panes_leave_no_keys(days: int) -> None:
    cfg = IndexConfig(grace_hours=1, expires_days=1)
    w = Windows.from_config(cfg)
    table: dict[str, Any] = {}
    state = TableState(table, cfg)
    for h in range(days * 24):
        index_batch(state, [Fact(f"h{h}", T0 + h * HOUR_MS, ["tariffs"], 0.5, "escalation")], w, cfg)
        state.flush()
    live = set(state.meta()["panes"])
    assert live and min(live) >= T0 + (days * 24 - 1) * HOUR_MS - w.grace_ms - w.retention_ms - w.pane_ms
    for key in table:
        if key.startswith(("a:", "i:")):
            assert int(key.split(":")[1]) in live or int(key.split(":")[1]) in state.meta()["expired"], key
    ids = {k[2:] for k in table if k.startswith("s:")}
    assert len(ids) <= len(live) + len(state.meta()["expired"])  # one item per pane here


def test_a_state_of_the_old_layout_is_refused() -> None:
    table = {META: b'{"max_ts": null, "wm": {}, "counted": 0, "panes": []}'}
    with pytest.raises(StateLayoutError):
        TableState(table).meta()


@pytest.mark.parametrize("gap_days", [3, 40])
def test_a_pane_filled_and_expired_by_the_same_batch_is_not_written(gap_days: int) -> None:
    cfg = IndexConfig(grace_hours=1, expires_days=1)
    w = Windows.from_config(cfg)
    table: dict[str, Any] = {}
    state = TableState(table, cfg)
    old = [Fact(f"o{k}", T0 + k * 60_000, ["visas"], 0.25, "escalation") for k in range(3)]
    far = Fact("far", T0 + gap_days * 24 * HOUR_MS, ["tariffs"], 0.5, "escalation")
    out = index_batch(state, [*old, far], w, cfg)
    state.flush()
    assert {r["window_start"] for r in out.finals if r["category"] == "visas" and r["n_category"] == 3}
    index_batch(state, [Fact("next", far.ts + 1, [], 0.0, "neutral")], w, cfg)
    state.flush()
    assert not [k for k in table if k.startswith(("a:", "i:")) and int(k.split(":")[1]) == T0]
    assert not [k for k in table if k in {"s:o0", "s:o1", "s:o2"}]
