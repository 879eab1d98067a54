"""Pane items stored in chunks: same rows as one chunk per pane, bounded writes, crash-prefix safe."""

from __future__ import annotations

import random
from typing import Any

import pytest

import streams.state as windows  # the chunk size lives with the state's encoding
from streams.config import IndexConfig
from streams.processing import index_batch
from streams.state import TableState, decode_items
from streams.windows import HOUR_MS, Fact, Windows

CFG = IndexConfig(grace_hours=2)
W = Windows.from_config(CFG)
T0 = 1_740_000_000_000 - 1_740_000_000_000 % HOUR_MS


def dense(n: int, seed: int) -> list[Fact]:
    """n facts over 6 hours (dozens per pane), in order, plus one that closes every window."""
    rng = random.Random(seed)
    out = [Fact(f"i{k:04d}", T0 + rng.randrange(6 * HOUR_MS), rng.sample(["tariffs", "visas"], rng.randrange(3)),
                round(rng.uniform(-1, 1), 3), rng.choice(["escalation", "deescalation", "neutral"]))
           for k in range(n)]
    out.sort(key=lambda f: (f.ts, f.id))
    return out + [Fact("flush", T0 + 20 * 24 * HOUR_MS, [], 0.0, "neutral")]


def finals_of(seq: list[Fact], batch: int, state: Any) -> dict:
    out: dict = {}
    for k in range(0, len(seq), batch):
        for row in index_batch(state, seq[k:k + batch], W, CFG).finals:
            assert out.setdefault((row["category"], row["window_kind"], row["window_start"]), row) == row
    return out


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows, "CHUNK_ITEMS", 4)


def test_chunked_panes_give_the_same_rows(small_chunks: None) -> None:
    seq = dense(200, 3)
    state: dict[str, Any] = {}
    chunked = finals_of(seq[:-1], 9, state)
    assert any(k.startswith("i:") and not k.endswith(":0") for k in state), "panes should have spilled into chunks"
    assert all(len(decode_items(v)) <= 4 for k, v in state.items() if k.startswith("i:"))
    chunked.update(finals_of(seq[-1:], 9, state))
    windows.CHUNK_ITEMS = 10_000
    assert chunked == finals_of(seq, 9, {})


def test_a_batch_writes_only_the_chunks_it_changed(small_chunks: None) -> None:
    seq = dense(200, 4)[:-1]
    table: dict[str, Any] = {}
    for k in range(0, 180, 10):
        state = TableState(table)
        batch = seq[k:k + 10]
        index_batch(state, batch, W, CFG)
        per_pane: dict[int, int] = {}
        for f in batch:
            per_pane[f.ts - f.ts % W.pane_ms] = per_pane.get(f.ts - f.ts % W.pane_ms, 0) + 1
        before = dict(table)
        state.flush()
        chunk_writes = [key for key in state.pending if key.startswith("i:")]
        totals_writes = [key for key in state.pending if key.startswith("a:")]
        # appends only: the last chunk (old bytes a prefix of the new) and new chunks, never whole panes
        assert chunk_writes and all(table[key].startswith(before.get(key, b"")) for key in chunk_writes)
        assert all(before.get(key) != table[key] for key in chunk_writes)
        assert len(chunk_writes) <= sum(n // 4 + 2 for n in per_pane.values())
        assert sorted(totals_writes) == sorted(f"a:{p}" for p in per_pane)  # one small record per pane


class Crash(Exception):
    pass


class DyingTable(dict):  # type: ignore[type-arg]
    """A table that dies after ``budget`` writes (a SIGKILL in the middle of a flush)."""

    budget = 10**9

    def __setitem__(self, key: str, value: Any) -> None:
        if self.budget <= 0:
            raise Crash
        self.budget -= 1
        super().__setitem__(key, value)

    def pop(self, key: str, default: Any = None) -> Any:
        if self.budget <= 0:
            raise Crash
        self.budget -= 1
        return super().pop(key, default)


@pytest.mark.parametrize("budget", [0, 1, 3, 7, 12, 25])
@pytest.mark.parametrize("back", [0, 5, 23])
def test_any_prefix_of_a_flush_then_replay_counts_everything_once(small_chunks: None, budget: int, back: int) -> None:
    seq = dense(150, 5)
    reference = finals_of(seq, 11, {})
    table = DyingTable()
    finals: dict = {}
    batch, crash_at, done = 11, 6, 0  # the 7th batch dies mid-flush
    for n, k in enumerate(range(0, len(seq), batch)):
        state = TableState(table)
        out = index_batch(state, seq[k:k + batch], W, CFG)
        finals.update({(r["category"], r["window_kind"], r["window_start"]): r for r in out.finals})
        if n == crash_at:
            table.budget = budget
        try:
            state.flush()
        except Crash:
            break
        done = k + batch  # offsets acked after the flush
    table.budget = 10**9
    for row in finals_of(seq[max(0, done - back):], batch, table).values():
        key = (row["category"], row["window_kind"], row["window_start"])
        assert finals.setdefault(key, row) == row
    assert finals == reference
