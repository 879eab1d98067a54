"""Pure record transformations shared by the Faust agents and offline tools.

Nothing here touches Kafka or Faust: given decoded records it returns decoded
records, so `tension classify`, `tension index` and the live topology give the
same answer for the same input.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from streams.classifier import classify

ALL = "__all__"  # pseudo-category carrying N(W), every item in a window


def classify_news(item: dict[str, Any], *, engine: str = "rules", now: datetime | None = None) -> dict[str, Any]:
    """A decoded NewsItem → a ClassifiedItem record (Avro-ready dict)."""
    result = classify(item["title"], item.get("body") or "", engine=engine)
    out = result.to_dict()
    return {
        "item": item,
        "categories": out["categories"],
        "scores": out["scores"],
        "tension": out["tension"],
        "direction": out["direction"],
        "cues": out["cues"],
        "actors": out["actors"],
        "classifier_version": out["classifier_version"],
        "classified_at": now or datetime.now(timezone.utc),
    }


def fanout(classified: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One (category, fact) per category of the item, plus one for the ALL total.

    The facts are re-keyed by category so each category's window state lives
    in exactly one partition.
    """
    fact = {
        "id": classified["item"]["id"],
        "tension": classified["tension"],
        "direction": classified["direction"],
    }
    return [(c, fact) for c in (*classified["categories"], ALL)]


def event_time_ms(item: dict[str, Any]) -> int:
    """The item's publication time as a Kafka timestamp (ms since epoch, UTC)."""
    published = item["published_at"]
    if isinstance(published, datetime):
        return int(published.timestamp() * 1000)
    return int(published)
