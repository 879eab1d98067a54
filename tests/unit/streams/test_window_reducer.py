"""The pure window reducer: order, batching, duplicates, replay after a crash, lateness."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import IndexConfig
from streams.processing import index_batch
from streams.state import TableState
from streams.windows import HOUR_MS, Fact, Windows

CFG = IndexConfig(grace_hours=6)
W = Windows.from_config(CFG)
T0 = 1_740_000_000_000 - 1_740_000_000_000 % HOUR_MS
CATS = ["tariffs", "visas", "trade_talks"]
DIRS = ["escalation", "deescalation", "neutral"]


def facts(n: int, seed: int, span_h: int = 96) -> list[Fact]:
    rng = random.Random(seed)
    out = [Fact(f"i{k:04d}", T0 + rng.randrange(span_h * HOUR_MS), rng.sample(CATS, rng.randrange(3)),
                round(rng.uniform(-1, 1), 3), rng.choice(DIRS)) for k in range(n)]
    out.sort(key=lambda f: (f.ts, f.id))
    end = out[-1].ts + 10 * 24 * HOUR_MS  # closes every window
    return out + [Fact("flush", end, [], 0.0, "neutral")]


def run(seq: list[Fact], batch: int = 1, state: dict[str, Any] | None = None) -> tuple[dict, dict[str, Any]]:
    state = {} if state is None else state
    finals: dict = {}
    for k in range(0, len(seq), batch):
        out = index_batch(state, seq[k:k + batch], W, CFG)
        for row in out.finals:
            key = (row["category"], row["window_kind"], row["window_start"])
            assert finals.setdefault(key, row) == row
    return finals, state


def bounded_shuffle(seq: list[Fact], rng: random.Random, max_delay: int) -> list[Fact]:
    return sorted(seq, key=lambda f: (f.ts + rng.randrange(max_delay), f.id))


def test_window_families_and_panes() -> None:
    hop, tumble = W.specs
    assert (hop.name, tumble.name, W.pane_ms) == ("24h", "1d", HOUR_MS)
    assert len(hop.starts_containing(T0 + 5)) == 24 and len(tumble.starts_containing(T0 + 5)) == 1
    assert all(s <= T0 + 5 < s + hop.size_ms for s in hop.starts_containing(T0 + 5))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 40))
def test_final_rows_do_not_depend_on_order_within_grace_or_batching(seed: int, batch: int) -> None:
    seq = facts(100, seed)
    reference, _ = run(seq)
    shuffled = bounded_shuffle(seq[:-1], random.Random(seed), W.grace_ms // 2) + seq[-1:]
    assert run(shuffled, batch)[0] == reference


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 99), back=st.integers(0, 60))
def test_replaying_from_an_older_offset_changes_nothing(seed: int, cut: int, back: int) -> None:
    """A crash after `cut` facts whose committed offset was `back` facts earlier: the restart
    re-reads those facts; the ids in the panes make them no-ops."""
    seq = facts(100, seed)
    reference, _ = run(seq)
    _, state = run(seq[:cut], batch=7)
    finals_after, _ = run(seq[max(0, cut - back):], batch=7, state=state)
    finals_before, _ = run(seq[:cut], batch=7)
    assert {**finals_before, **finals_after} == reference


def test_duplicates_count_once_and_late_facts_are_reported() -> None:
    seq = facts(80, 1)
    reference, _ = run(seq)
    state: dict[str, Any] = {}
    out = index_batch(state, seq[:-1] + seq[:10], W, CFG)
    assert len(out.duplicates) == 10 and TableState(state).meta()["duplicates"] == 10
    late = Fact("late", seq[0].ts - 2 * W.grace_ms, ["tariffs"], 0.5, "escalation")
    out2 = index_batch(state, [late, seq[-1]], W, CFG)
    assert [f.id for f in out2.late] == ["late"] and TableState(state).meta()["late"] == 1
    finals = {(r["category"], r["window_kind"], r["window_start"]): r for r in out.finals + out2.finals}
    assert finals == reference


def test_watermark_waits_for_every_source_partition() -> None:
    cfg = IndexConfig(grace_hours=1, source_partitions=2)
    w = Windows.from_config(cfg)
    state: dict[str, Any] = {}
    a = Fact("a", T0, ["tariffs"], 0.5, "escalation", part=0)
    far = Fact("b", T0 + 100 * HOUR_MS, [], 0.0, "neutral", part=0)
    assert index_batch(state, [a, far], w, cfg).finals == []  # partition 1 not heard from yet
    c = Fact("c", T0 + HOUR_MS, ["visas"], -0.2, "deescalation", part=1)  # in order for its partition
    out = index_batch(state, [c], w, cfg)
    assert not out.late and out.finals == []
    out = index_batch(state, [Fact("d", T0 + 100 * HOUR_MS, [], 0.0, "neutral", part=1)], w, cfg)
    assert {r["window_start"] for r in out.finals if r["window_kind"] == "tumbling"} >= {T0 - T0 % (24 * HOUR_MS)}
