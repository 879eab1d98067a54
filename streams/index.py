"""The tension index of one window, and the alert rules, as pure functions.

See docs/index.md for the definitions. Every value is recomputed from the
window's items (never accumulated incrementally), and sums use ``math.fsum``
(correctly rounded, hence independent of order), so the live topology —
which sees items shuffled, in batches, across restarts — and the offline
reference produce bit-identical rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from streams.config import IndexConfig

OVERALL = "overall"
ESCALATION = "escalation"
DEESCALATION = "deescalation"


@dataclass
class _Acc:
    n: int = 0
    esc: int = 0
    deesc: int = 0
    tensions: list[float] = field(default_factory=list)
    members: list[tuple[str, str, float]] = field(default_factory=list)  # (id, direction, tension)

    def add(self, item_id: str, direction: str, tension: float) -> None:
        self.n += 1
        self.esc += direction == ESCALATION
        self.deesc += direction == DEESCALATION
        self.tensions.append(tension)
        self.members.append((item_id, direction, tension))


def top_items(members: list[tuple[str, str, float]], k: int) -> list[str]:
    """The k items that move the index most: escalating first, then by |tension|, then id."""
    ranked = sorted(members, key=lambda m: (m[1] != ESCALATION, -abs(m[2]), m[0]))
    return [m[0] for m in ranked[:k]]


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def index_value(share: float | None, baseline: float | None) -> float | None:
    """TI = 100 · S / baseline; null without data or without a positive baseline."""
    if share is None or not baseline or baseline <= 0:
        return None
    return 100.0 * share / baseline


def window_rows(items: list[tuple[str, list[Any]]], cfg: IndexConfig, *, kind: str, size_ms: int,
                start: int, final: bool) -> list[dict[str, Any]]:
    """One TensionIndexUpdate-shaped row per category plus ``overall`` for one window.

    ``items`` are (id, [ts, categories, tension, direction, title]) pairs. Rows
    carry ``window_start``/``window_end`` as epoch milliseconds and no
    ``emitted_at`` (processing time is added by the caller, outside the pure core).
    """
    n_total = len(items)
    accs = {c: _Acc() for c in (*cfg.categories, OVERALL)}
    for item_id, (_, cats, tension, direction, _title) in sorted(items):
        seen_any = False
        for c in cats:
            acc = accs.get(c)
            if acc is not None:
                acc.add(item_id, direction, tension)
                seen_any = True
        if seen_any:
            accs[OVERALL].add(item_id, direction, tension)
    rows = []
    for category, acc in accs.items():
        share = ratio(acc.esc, n_total)
        rows.append({
            "category": category, "window_kind": kind, "window_size_s": size_ms // 1000,
            "window_start": start, "window_end": start + size_ms,
            "n_total": n_total, "n_category": acc.n, "n_escalating": acc.esc, "n_deescalating": acc.deesc,
            "share": share, "index": index_value(share, cfg.baselines.get(category)),
            "signed_mean": ratio(math.fsum(acc.tensions), acc.n),
            "balance": ratio(acc.esc - acc.deesc, acc.esc + acc.deesc),
            "final": final, "top_items": top_items(acc.members, cfg.top_k),
        })
    return rows


def check_alerts(row: dict[str, Any], trail: list[float], cfg: IndexConfig) -> list[dict[str, Any]]:
    """Alerts for one final 24 h row given the category's trailing final index values.

    * ``level``: the index crosses ``alert_level`` upwards (previous below, this at or above);
    * ``jump``: it differs from the trailing mean by more than ``alert_k`` standard deviations
      (population std over at least ``alert_min_trailing`` values, std > 0).
    """
    value = row["index"]
    if value is None:
        return []
    alerts = []
    prev = trail[-1] if trail else None
    if value >= cfg.alert_level and (prev is None or prev < cfg.alert_level):
        alerts.append(_alert(row, "level", value, cfg.alert_level,
                             f"{row['category']} 24h index {value:.1f} crossed {cfg.alert_level:.0f}"))
    if len(trail) >= cfg.alert_min_trailing:
        mean = math.fsum(trail) / len(trail)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in trail) / len(trail))
        if std > 0 and abs(value - mean) > cfg.alert_k * std:
            alerts.append(_alert(row, "jump", value, cfg.alert_k * std,
                                 f"{row['category']} 24h index {value:.1f} is {abs(value - mean) / std:.1f} "
                                 f"std from its trailing mean {mean:.1f}"))
    return alerts


def _alert(row: dict[str, Any], rule: str, value: float, threshold: float, message: str) -> dict[str, Any]:
    return {"id": f"{row['category']}:{row['window_start']}:{rule}", "category": row["category"], "rule": rule,
            "window_start": row["window_start"], "window_end": row["window_end"], "value": value,
            "threshold": threshold, "message": message, "items": list(row["top_items"])}


def push_trail(trail: list[float], value: float | None, keep: int) -> list[float]:
    """The trailing final index values of a category, newest last, at most ``keep``."""
    if value is None:
        return trail
    return [*trail, value][-keep:]
