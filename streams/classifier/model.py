"""Result types shared by every engine.

They live apart from the engines so that the Faust agent, the CLI and the
offline tools all exchange the very same frozen values: whatever engine
produced a :class:`Classification`, it serialises identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

CATEGORIES: Final[tuple[str, ...]] = (
    "trade_talks",
    "tariffs",
    "export_controls",
    "critical_minerals",
    "visas",
)

ESCALATION: Final = "escalation"
DEESCALATION: Final = "deescalation"
NEUTRAL: Final = "neutral"
DIRECTIONS: Final[tuple[str, ...]] = (ESCALATION, DEESCALATION, NEUTRAL)

#: |tension| at or below this counts as neutral.  Shared by every engine so
#: that ``direction`` means the same thing whichever engine scored the item.
DIRECTION_THRESHOLD: Final = 0.15


@dataclass(frozen=True, slots=True)
class Cue:
    """One piece of evidence behind a decision.

    ``weight`` is the magnitude actually added to the score after title,
    hedge and negation scaling; it is negative only for look-alike evidence
    that argues *against* ``category``.
    """

    phrase: str
    category: str | None
    direction: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "phrase": self.phrase,
            "category": self.category,
            "direction": self.direction,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class Classification:
    """Categories, signed tension and the evidence for one news item."""

    categories: tuple[str, ...]
    scores: dict[str, float]
    tension: float
    cues: tuple[Cue, ...]
    actors: tuple[str, ...]
    version: str

    @property
    def direction(self) -> str:
        """Discrete direction derived from ``tension`` with a dead band."""
        if self.tension > DIRECTION_THRESHOLD:
            return ESCALATION
        if self.tension < -DIRECTION_THRESHOLD:
            return DEESCALATION
        return NEUTRAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; key names are the CLI/stream output contract."""
        return {
            "categories": list(self.categories),
            "scores": {c: self.scores.get(c, 0.0) for c in CATEGORIES},
            "tension": self.tension,
            "direction": self.direction,
            "cues": [cue.to_dict() for cue in self.cues],
            "actors": list(self.actors),
            "classifier_version": self.version,
        }


def clamp_unit(value: float, low: float = -1.0) -> float:
    """Clamp into ``[low, 1]`` and round so replays compare bit-for-bit."""
    if value != value:  # NaN guard: never let a NaN escape into an index
        return 0.0
    return round(min(1.0, max(low, value)), 4)


#: bound of the interned-cue cache (and of other per-process cue memos)
CUE_CACHE_MAX: Final = 200_000
_CUE_CACHE: dict[tuple[str, str | None, str, float], Cue] = {}


def intern_cue(phrase: str, category: str | None, direction: str, weight: float) -> Cue:
    """One shared Cue per distinct value: cues are immutable and repeat a lot across items."""
    key = (phrase, category, direction, weight)
    cue = _CUE_CACHE.get(key)
    if cue is None:
        if len(_CUE_CACHE) >= CUE_CACHE_MAX:
            _CUE_CACHE.clear()
        cue = _CUE_CACHE[key] = Cue(phrase, category, direction, weight)
    return cue
