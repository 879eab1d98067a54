"""The offline reference of the live index tables: the same fold, outside Kafka.

`tension index` and the tests call these; they run the very functions the
Faust index agent calls (``streams.processing.index_batch``), so their final
rows are what the live topology must publish for the same items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.config import IndexConfig
from streams.processing import Emission, WindowAggregator, classify_news, fact_of, index_batch
from streams.state import TableState
from streams.windows import Fact, Windows, closing, cut_of


def read_facts(paths: list[Path], engine: str = "rules") -> list[Fact]:
    """Facts from JSONL files, in file order; unclassified lines go through the classifier."""
    facts = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record: dict[str, Any] = json.loads(line)
            if "categories" not in record or "tension" not in record or "direction" not in record:
                record = classify_news(record, engine=engine)
            facts.append(fact_of(record))
    return facts


def reference(facts: list[Fact], cfg: IndexConfig, *, close_all: bool = False, batch: int = 1000) -> Emission:
    """Fold facts in batches of ``batch`` and collect every row, final or not.

    Final rows do not depend on the batching (tests/unit/streams/test_window_reducer.py
    checks it); non-final updates are coalesced per batch as in the live agent.

    With ``close_all`` a last watermark far in the future closes every window,
    so each window with data gets its final row (handy offline; the live stream
    only closes what its watermark has passed).
    """
    w = Windows.from_config(cfg)
    state = TableState({}, cfg)  # the live agent's state class, over a dict: same code, same bytes
    out = Emission()
    for k in range(0, len(facts), batch):
        part = index_batch(state, facts[k:k + batch], w, cfg)
        state.flush()
        out.updates.extend(part.updates)
        out.finals.extend(part.finals)
        out.alerts.extend(part.alerts)
        out.late.extend(part.late)
        out.duplicates.extend(part.duplicates)
    if close_all and facts:
        meta = state.meta()
        far = meta["max_ts"] + w.retention_ms  # not a real item: only the watermark moves
        cut = cut_of(meta, w)
        rest = closing(meta["panes"], w, cut if cut is not None else meta["panes"][0] - w.pane_ms, far)
        agg = WindowAggregator(state, w, cfg)
        for name, start in rest:
            out.finals.extend(agg.rows(name, start, final=True))
    return out


def calibrate(finals: list[dict[str, Any]], hopping_s: int, lo_ms: int, hi_ms: int) -> dict[str, float]:
    """Mean share S_c over the final hopping windows starting in [lo, hi) with data."""
    sums: dict[str, list[float]] = {}
    for row in finals:
        if row["window_size_s"] == hopping_s and row["window_kind"] == "hopping" and lo_ms <= row["window_start"] < hi_ms \
                and row["share"] is not None:
            sums.setdefault(row["category"], []).append(row["share"])
    return {c: round(sum(v) / len(v), 4) for c, v in sorted(sums.items()) if v}
