"""The tension index of one window, and the alert rules, as pure functions.

See docs/index.md for the definitions. A pane keeps running totals that are
*exact*: integer counts, the tension sum as non-overlapping float partials
(Shewchuk's scheme, the one behind ``math.fsum``: their exact sum is the exact
sum of the tensions) and a top k by a total order. Merging panes and adding
items therefore commute, and ``math.fsum`` over the partials is the correctly
rounded sum of the window's tensions whatever the arrival order, batch
boundaries or pane split — so the live topology (items shuffled, in batches,
across restarts) and the offline reference produce bit-identical rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any

from streams.config import IndexConfig

OVERALL = "overall"
ESCALATION = "escalation"
DEESCALATION = "deescalation"


def _rank(member: tuple[str, str, float]) -> tuple[bool, float, str]:
    """Escalating first, then by |tension|, then id: a total order (ids are unique in a window)."""
    return member[1] != ESCALATION, -abs(member[2]), member[0]


def add_exact(partials: list[float], x: float) -> None:
    """Add ``x`` to ``partials`` keeping their sum exact (non-overlapping, increasing magnitude).

    Each step splits ``hi + lo`` exactly (the larger operand first, so ``lo`` is the
    rounding error of ``hi``); zero errors are dropped, so the list stays short
    (one or two floats for tensions in [-1, 1]). ``math.fsum(partials)`` is then the
    correctly rounded sum of every value ever added, in any order.
    """
    i = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo:
            partials[i] = lo
            i += 1
        x = hi
    partials[i:] = [x]


@dataclass
class _Acc:
    """Running totals of one category over a set of items; mergeable, so a window is a merge of panes.

    ``partials`` represent the tension sum exactly (see :func:`add_exact`), so the
    mean is the same for any split of the items; ``top`` holds the best members by
    :func:`_rank` — at most ``TOP_SLACK`` × k between trims, exactly k once
    :meth:`trim` ran: the window's top k is always among its panes' top k.
    """

    n: int = 0
    esc: int = 0
    deesc: int = 0
    partials: list[float] = field(default_factory=list)
    top: list[tuple[str, str, float]] = field(default_factory=list)  # (id, direction, tension)

    def add(self, item_id: str, direction: str, tension: float, k: int, sums: list[float]) -> None:
        """Count one item; its tension goes into ``sums`` (partials the caller folds in later)."""
        self.n += 1
        self.esc += direction == ESCALATION
        self.deesc += direction == DEESCALATION
        add_exact(sums, tension)
        self.top.append((item_id, direction, tension))
        if len(self.top) > TOP_SLACK * k:
            self.trim(k)

    def trim(self, k: int) -> None:
        self.top = sorted(self.top, key=_rank)[:k]


TOP_SLACK = 8  # members kept between trims, in multiples of k: bounds memory, amortises the sort


@dataclass
class Aggregate:
    """What a set of items (a pane, or a window = union of panes) contributes to the index."""

    n_total: int
    accs: dict[str, _Acc]


def empty(cfg: IndexConfig) -> Aggregate:
    return Aggregate(0, {c: _Acc() for c in (*cfg.categories, OVERALL)})


def extend(agg: Aggregate, items: Iterable[tuple[str, list[Any]]], cfg: IndexConfig) -> Aggregate:
    """Add (id, [ts, categories, tension, direction, title]) items to ``agg`` in place; returns it.

    An item counts once per configured category it has, and once in ``overall`` if
    it has any of them (an item in two categories counts once there).
    """
    accs, k = agg.accs, cfg.top_k
    # this call's tensions are summed into fresh partials, then folded into the running ones:
    # the same exact sum, but per item the work depends on this call's partials (few), not
    # on the running sum's (which lengthen as a pane's total grows)
    sums: dict[str, list[float]] = {c: [] for c in accs}
    overall, overall_sums = accs[OVERALL], sums[OVERALL]
    for item_id, (_, cats, tension, direction, _title) in items:
        agg.n_total += 1
        seen_any = False
        for c in cats:
            acc = accs.get(c)
            if acc is not None:
                acc.add(item_id, direction, tension, k, sums[c])
                seen_any = True
        if seen_any:
            overall.add(item_id, direction, tension, k, overall_sums)
    for c, acc in accs.items():
        for x in sums[c]:
            add_exact(acc.partials, x)
        if len(acc.top) > k:
            acc.trim(k)
    return agg


def aggregate(items: Iterable[tuple[str, list[Any]]], cfg: IndexConfig) -> Aggregate:
    """Per-category totals of (id, [ts, categories, tension, direction, title]) items."""
    return extend(empty(cfg), items, cfg)


def merge(parts: list[Aggregate], cfg: IndexConfig) -> Aggregate:
    """The aggregate of disjoint item sets (the panes of a window); the parts are not modified."""
    if len(parts) == 1:
        return parts[0]
    accs = {}
    for c in (*cfg.categories, OVERALL):
        out = accs[c] = _Acc()
        for p in parts:
            a = p.accs.get(c)
            if a is not None and a.n:
                out.n += a.n
                out.esc += a.esc
                out.deesc += a.deesc
                out.partials += a.partials
                out.top += a.top
        out.trim(cfg.top_k)
    return Aggregate(sum(p.n_total for p in parts), accs)


def top_items(members: list[tuple[str, str, float]], k: int) -> list[str]:
    """The k items that move the index most: escalating first, then by |tension|, then id."""
    return [m[0] for m in sorted(members, key=_rank)[:k]]


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@lru_cache(maxsize=8)
def z_of(level: float) -> float:
    """The two-sided standard normal quantile of a confidence level (0.95 → 1.959963…)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: int, n: int, level: float) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion ``k / n`` at ``level``; None when n = 0.

    Why Wilson: it is a closed form of two integers (so the live fold, the offline
    reference and a replay compute it bit for bit from the same counts), it never
    leaves [0, 1], and unlike the normal approximation it is honest at k = 0, k = n
    and small n — exactly the sparse windows it is here for (1 of 2 → [0.09, 0.91]).
    The bounds are clamped to [0, 1] and pinned to 0 (k = 0) and 1 (k = n), where
    the formula is exact but rounding could leave a trace.
    """
    if n <= 0:
        return None
    z = z_of(level)
    z2 = z * z
    p = k / n
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


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
    return rows_of(aggregate(items, cfg), cfg, kind=kind, size_ms=size_ms, start=start, final=final)


def rows_of(agg: Aggregate, cfg: IndexConfig, *, kind: str, size_ms: int, start: int,
            final: bool) -> list[dict[str, Any]]:
    """The rows of one window from its aggregate (see :func:`window_rows`)."""
    n_total = agg.n_total
    rows = []
    for category in (*cfg.categories, OVERALL):
        acc = agg.accs.get(category) or _Acc()
        share = ratio(acc.esc, n_total)
        baseline = cfg.baselines.get(category)
        bounds = wilson(acc.esc, n_total, cfg.interval_level)
        low, high = bounds if bounds is not None else (None, None)
        rows.append({
            "category": category, "window_kind": kind, "window_size_s": size_ms // 1000,
            "window_start": start, "window_end": start + size_ms,
            "n_total": n_total, "n_category": acc.n, "n_escalating": acc.esc, "n_deescalating": acc.deesc,
            "share": share, "index": index_value(share, baseline),
            "signed_mean": ratio(math.fsum(acc.partials), acc.n),
            "balance": ratio(acc.esc - acc.deesc, acc.esc + acc.deesc),
            "final": final, "top_items": [m[0] for m in sorted(acc.top, key=_rank)[:cfg.top_k]],
            "evidence": n_total, "sparse": n_total < cfg.min_evidence,
            "interval_level": cfg.interval_level if bounds is not None else None,
            "share_low": low, "share_high": high,
            "index_low": index_value(low, baseline), "index_high": index_value(high, baseline),
        })
    return rows


def check_alerts(row: dict[str, Any], history: list[float], prev: float | None,
                 cfg: IndexConfig) -> list[dict[str, Any]]:
    """Alert candidates for one final 24 h row (before the cool-down of :func:`alerts_for`).

    Both rules read the row's *interval*, not its point: ``low`` is ``index_low``, the
    lower bound of the index at ``interval_level``. One escalating item among two is a
    point of several hundred but a lower bound near 30: the data do not show a level
    above 200, so nothing fires; 60 of 200 have a bound close to the point.

    * nothing when the row has fewer than ``alert_min_items`` items of its category or
      no interval (no items or no baseline);
    * ``level``: ``low`` crosses ``alert_level`` upwards (``prev``, the previous final
      row's lower bound, below it or unknown; this one at or above);
    * ``jump``: ``low`` is more than ``alert_k`` standard deviations *above* the mean of
      ``history`` (point values; population std over at least ``alert_min_trailing``
      values, std > 0): even the cautious reading of this window is unusual.
    """
    low, high, value = row.get("index_low"), row.get("index_high"), row["index"]
    if low is None or value is None or row["n_category"] < cfg.alert_min_items:
        return []
    spread = f"{row['interval_level']:.0%} interval {low:.1f}–{high:.1f}, point {value:.1f}"
    alerts = []
    if low >= cfg.alert_level and (prev is None or prev < cfg.alert_level):
        alerts.append(_alert(row, "level", low, cfg.alert_level,
                             f"{row['category']} 24h index crossed {cfg.alert_level:.0f} "
                             f"({spread}, n={row['evidence']})"))
    if len(history) >= cfg.alert_min_trailing:
        mean = math.fsum(history) / len(history)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in history) / len(history))
        if std > 0 and low - mean > cfg.alert_k * std:
            alerts.append(_alert(row, "jump", low, mean + cfg.alert_k * std,
                                 f"{row['category']} 24h index lower bound is {(low - mean) / std:.1f} "
                                 f"std above its trailing mean {mean:.1f} ({spread}, n={row['evidence']})"))
    return alerts


def new_alerting() -> dict[str, Any]:
    """The alert rules' memory (JSON, kept in the window state's ``meta``)."""
    return {"trail": {}, "last_low": {}, "alerted": {}}


def alerts_for(row: dict[str, Any], mem: dict[str, Any], cfg: IndexConfig, size_ms: int) -> list[dict[str, Any]]:
    """Alerts for one final hopping row, in closing order; updates ``mem`` (pure otherwise).

    ``mem["trail"][c]``: ``[window_start, index]`` of the category's final windows that
    start on a multiple of the window size — *non-overlapping* windows (one a day for
    24 h). Consecutive hourly windows share 23 h of items, so a trail of them has a
    tiny std and made every change a "jump"; the history used for a row is the last
    ``alert_trailing`` of those that end before the row's window starts.
    ``mem["alerted"]["c:rule"]``: the event-time end of the last alert of that rule, so
    one sustained rise raises one alert per ``alert_cooldown_hours``.
    ``mem["last_low"][c]``: the previous final row's ``index_low`` (for the level crossing);
    a memory written before the interval existed holds point values under ``last``,
    which is dropped rather than compared with a bound.
    Everything is event time, so a replay and the offline reference raise the same alerts.
    """
    c = row["category"]
    mem.pop("last", None)
    last_low = mem.setdefault("last_low", {})
    trail = [p for p in mem["trail"].get(c, []) if isinstance(p, list) and len(p) == 2]
    history = [v for s, v in trail if s + size_ms <= row["window_start"]][-cfg.alert_trailing:]
    out = []
    cooldown_ms = int(cfg.alert_cooldown_hours * 3_600_000)
    for alert in check_alerts(row, history, last_low.get(c), cfg):
        key = f"{c}:{alert['rule']}"
        previous = mem["alerted"].get(key)
        if previous is not None and row["window_end"] - previous < cooldown_ms:
            continue
        mem["alerted"][key] = row["window_end"]
        out.append(alert)
    if row.get("index_low") is not None:
        last_low[c] = row["index_low"]
    if row["index"] is not None and row["window_start"] % size_ms == 0:
        mem["trail"][c] = [*trail, [row["window_start"], row["index"]]][-(cfg.alert_trailing + 1):]
    return out


def _alert(row: dict[str, Any], rule: str, value: float, threshold: float, message: str) -> dict[str, Any]:
    return {"id": f"{row['category']}:{row['window_start']}:{rule}", "category": row["category"], "rule": rule,
            "window_start": row["window_start"], "window_end": row["window_end"], "value": value,
            "threshold": threshold, "message": message, "items": list(row["top_items"])}
