"""Per-item evidence of the rules engine and the small helpers of its scan.

Why a module of its own: ``rules.py`` holds the scan and the decision; the
accumulator, the pending-governor record and the cue interning are plain
data plumbing shared by both engines built from it (``rules``, ``lexicon``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import CATEGORIES, CUE_CACHE_MAX, DEESCALATION, ESCALATION, NEUTRAL, Cue, intern_cue
from .taxonomy import Entry

_CUE_STRIP = "\"'.,;:!?()[]{}"
#: Weight of a negated polar noun ("no talks", "without tariffs") before the
#: negation factor applies.
NEGATED_NOUN_WEIGHT = 0.8
_NO_TOKS: list[str] = []
_FLIP = {ESCALATION: DEESCALATION, DEESCALATION: ESCALATION, NEUTRAL: NEUTRAL}


def _span(toks: list[str], start: int, end: int) -> str:
    """Cue text for tokens [start, end): the words as written, edge punctuation off."""
    if end - start == 1:
        return toks[start].strip(_CUE_STRIP)
    return " ".join(toks[start:end]).strip(_CUE_STRIP)


@dataclass(slots=True)
class _Pending:
    """A governor waiting for its object within ``object_scope_words``."""

    entry: Entry
    start: int
    end: int
    last_idx: int
    negs: int
    hedge: float
    obj: Entry | None = None
    obj_end: int = 0
    back_obj: Entry | None = None  # passive use: "restrictions ... lifted"


class _Evidence:
    """Mutable per-item accumulator (plain slots class: it is built per call)."""

    __slots__ = ("raw", "sums", "cues", "seen", "context", "actors", "frame", "lookalike", "full")

    def __init__(self) -> None:
        self.raw: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
        self.sums: dict[str, float] = {ESCALATION: 0.0, DEESCALATION: 0.0, NEUTRAL: 0.0}
        self.cues: list[Cue] = []
        self.seen: set[tuple[str, ...]] = set()  # (phrase, field) and (span, category, field)
        self.context = False
        self.lookalike: set[str] = set()  # categories a homonym phrase argued against
        self.actors: list[str] = []  # matched actor keys, in order
        self.frame = {"t": 1.0, "b": 1.0}  # strongest framing factor per field
        self.full = 0.0  # direction weight before hedging (for the hedge ratio)


_cue = intern_cue
_CUE_CACHE_MAX = CUE_CACHE_MAX


def _hedge_ratio(ev: _Evidence) -> float:
    """Share of the direction evidence left after hedging (1 = nothing hedged)."""
    if not ev.full:
        return 1.0
    return min(1.0, sum(ev.sums.values()) / ev.full)


def _modifier_state(mods: list[tuple[int, Entry, int]]) -> tuple[int, float, int]:
    """(negator count, strongest hedge factor, start of first modifier) in scope."""
    negs = 0
    hedge = 1.0
    first = 1 << 62
    for _, entry, start in mods:
        if entry.negator:
            negs += 1
        if entry.hedge < hedge:
            hedge = entry.hedge
        if start < first:
            first = start
    return negs, hedge, first


def _category_of(entry: Entry) -> str | None:
    for cat, weight in entry.categories:
        if weight > 0:
            return cat
    return None
