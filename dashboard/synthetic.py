"""A made-up but well-formed store, for trying the page without Kafka and for measuring it.

Written through the real :class:`connectors.sinks.sqlite.SQLiteSink`, so the
tables are exactly the sink's. Values are a seeded random walk around the
baseline (100), turned into counts over a window size that swings between thin
and dense (so the Wilson band of ``streams.index`` widens and narrows); hopping
windows step one hour, the newest ones (and the current day) are left open
(``final`` false) as they would be in a running pipeline.

    python -m dashboard.synthetic var/synthetic.sqlite --days 30
"""

from __future__ import annotations

import argparse
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connectors.sinks.base import SinkRecord
from connectors.sinks.sqlite import SQLiteSink
from schemas.models import CATEGORIES
from streams.index import index_value, wilson

log = logging.getLogger(__name__)

PHRASES = {
    "trade_talks": ("trade talks", "negotiators met"), "tariffs": ("tariff hike", "duties"),
    "export_controls": ("export controls", "entity list"), "critical_minerals": ("rare earths", "gallium"),
    "visas": ("visa restrictions", "student visas"),
}
assert set(PHRASES) == set(CATEGORIES), "a phrase pair per category of schemas.models.CATEGORIES"
SYNTHETIC_BASELINE = 0.1  # the share that reads as 100
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class SyntheticSpec:
    days: int = 30
    categories: tuple[str, ...] = CATEGORIES
    overall: bool = True
    items_per_window: int = 3
    alerts: int = 4
    end: datetime = datetime(2025, 6, 30, tzinfo=timezone.utc)  # start of the newest hopping window + 1 h
    seed: int = 7

    @property
    def hourly_points(self) -> int:
        """Hopping windows per category."""
        return self.days * 24


def _item(rng: random.Random, item_id: str, category: str, published: datetime) -> dict[str, Any]:
    tension = round(rng.uniform(-1, 1), 3)
    direction = "escalation" if tension > 0.2 else "deescalation" if tension < -0.2 else "neutral"
    phrase = rng.choice(PHRASES.get(category, ("tension",)))
    return {
        "item": {"id": item_id, "title": f"{category.replace('_', ' ').title()}: {phrase} ({item_id})",
                 "body": f"Synthetic item about {phrase}.", "source": "synthetic", "url": None,
                 "published_at": published},
        "categories": [category], "scores": {category: round(rng.uniform(0.5, 1), 3)}, "tension": tension,
        "direction": direction,
        "cues": [{"phrase": phrase, "category": category, "direction": direction, "weight": tension}],
        "actors": ["US", "China"], "classifier_version": "synthetic-1", "classified_at": published,
    }


def _index(category: str, kind: str, start: datetime, value: float, final: bool, top: list[str],
           emitted: datetime, n_total: int) -> dict[str, Any]:
    """A row whose counts give ``value`` at a baseline share of 0.1, with its real Wilson interval."""
    n_esc = min(n_total, round(value * SYNTHETIC_BASELINE / 100 * n_total))
    n_cat = max(n_esc, n_total // 4)
    share = n_esc / n_total
    low, high = wilson(n_esc, n_total, 0.95) or (0.0, 1.0)
    return {"category": category, "window_kind": kind, "window_size_s": 86_400, "window_start": start,
            "window_end": start + DAY, "n_total": n_total, "n_category": n_cat, "n_escalating": n_esc,
            "n_deescalating": n_cat - n_esc, "share": share, "index": index_value(share, SYNTHETIC_BASELINE),
            "signed_mean": round((value - 100) / 200, 3),
            "balance": round((2 * n_esc - n_cat) / n_cat, 3) if n_cat else None,
            "final": final, "top_items": top, "emitted_at": emitted, "evidence": n_total,
            "sparse": n_total < 10, "interval_level": 0.95, "share_low": low, "share_high": high,
            "index_low": index_value(low, SYNTHETIC_BASELINE), "index_high": index_value(high, SYNTHETIC_BASELINE)}


def evidence_at(h: int) -> int:
    """Items in the h-th hopping window: slow swings between a thin 4 and a dense 200, so bands vary."""
    return 4 + round(98 * (1 + math.sin(h / 30)))


def records(spec: SyntheticSpec) -> list[SinkRecord]:
    """Items, hopping and tumbling index rows, and a few alerts, as the sink would receive them."""
    rng = random.Random(spec.seed)
    out: list[SinkRecord] = []
    offset = 0

    def add(kind: str, value: dict[str, Any]) -> None:
        nonlocal offset
        out.append(SinkRecord(kind, value, f"synthetic.{kind}", 0, offset))
        offset += 1

    first = spec.end - spec.hourly_points * HOUR
    now = spec.end + HOUR  # "processing time": windows ending after it are still open
    names = [*spec.categories, *(["overall"] if spec.overall else [])]
    for category in names:
        level = rng.uniform(70, 130)
        daily_items: dict[datetime, list[str]] = {}
        daily_value: dict[datetime, float] = {}
        for h in range(spec.hourly_points):
            start = first + h * HOUR
            level = min(260.0, max(5.0, level + rng.gauss(0, 6) + (100 - level) * 0.03))
            top = []
            for k in range(spec.items_per_window if category != "overall" else 0):
                item_id = f"{category[:3]}-{h:04d}-{k}"
                add("item", _item(rng, item_id, category, start + timedelta(minutes=10 + 15 * k)))
                top.append(item_id)
            if category == "overall":
                top = [f"{c[:3]}-{h:04d}-0" for c in spec.categories]
            daily_items.setdefault(start.replace(hour=0), []).extend(top[:1])
            if start.hour == 0:  # the hopping window starting at midnight spans the same day as the daily one
                daily_value[start] = level
            add("index", _index(category, "hopping", start, level, start + DAY <= now, top, start + DAY,
                                evidence_at(h)))
        for day, top in sorted(daily_items.items()):
            value = daily_value.get(day, level)
            add("index", _index(category, "tumbling", day, value, day + DAY <= now, top[:10], day + DAY,
                                evidence_at(int((day - first) / HOUR))))
    for a in range(spec.alerts):
        category = spec.categories[a % len(spec.categories)]
        start = spec.end - (a + 1) * 6 * HOUR
        add("alert", {"id": f"alert-{a}", "category": category, "rule": "level", "window_start": start,
                      "window_end": start + DAY, "value": 150.0 + a, "threshold": 150.0,
                      "message": f"{category} index above 150", "items": [f"{category[:3]}-0000-0"],
                      "created_at": now - a * timedelta(minutes=10)})
    return out


def write_store(path: Path, spec: SyntheticSpec = SyntheticSpec()) -> int:
    """Fill (or refill) a SQLite store at ``path``; returns the number of rows written."""
    recs = records(spec)
    sink = SQLiteSink(path)
    sink.open()
    try:
        sink.write_batch(recs)
    finally:
        sink.close()
    log.info("wrote %d synthetic rows to %s", len(recs), path)
    return len(recs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_store(args.path, SyntheticSpec(days=args.days))


if __name__ == "__main__":
    main()
