"""Result types shared by every engine.

They live apart from the engines so that the Faust agent, the CLI and the
offline tools all exchange the very same frozen values: whatever engine
produced a :class:`Classification`, it serialises identically.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any, Final

from schemas import models as _product

#: The product's category list and directions are defined once, in ``schemas.models`` (the
#: Avro contracts use them too); bound here as ``Final`` so compiled modules read them directly.
CATEGORIES: Final[tuple[str, ...]] = _product.CATEGORIES
DIRECTIONS: Final[tuple[str, ...]] = _product.DIRECTIONS
ESCALATION: Final[str] = DIRECTIONS[0]
DEESCALATION: Final[str] = DIRECTIONS[1]
NEUTRAL: Final[str] = DIRECTIONS[2]  # the order is checked by tests/unit/streams/classifier/test_classifier_imports.py

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


def round4(x: float) -> float:
    """``round(x, 4)``, float for float, without the builtin's decimal conversion.

    Why: the builtin rounds through a decimal string (dtoa), which was a tenth
    of the default engine's time; every score and cue weight goes through it.
    Here ``y = x * 10**4`` is rounded to the nearest integer and divided back:
    the division is correctly rounded, so the result is the double nearest to
    ``n / 10**4``, as the builtin's.  The product may be off by one ulp of
    ``y`` (< 2**-22 below 10**9), so whenever ``y`` lies within 10**-6 of a
    half-integer (where the exact value's side, or half-to-even, decides) and
    for huge values, infinities and NaN, the builtin answers instead.
    """
    y = x * 10000.0
    if -1e9 < y < 1e9:
        f = math.floor(y)
        d = y - f  # exact: y and its floor are within 1 of each other
        if d < 0.499999 or d > 0.500001:
            n = f + 1 if d > 0.5 else f
            if n == 0:
                return math.copysign(0.0, x)  # round(-0.00001, 4) is -0.0
            return n / 10000.0
    return round(x, 4)


def clamp_unit(value: float, low: float = -1.0) -> float:
    """Clamp into ``[low, 1]`` and round so replays compare bit-for-bit."""
    if value != value:  # NaN guard: never let a NaN escape into an index
        return 0.0
    return round4(min(1.0, max(low, value)))


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
