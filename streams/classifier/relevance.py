"""The relevance gate: a category needs evidence that the item concerns US–China economic relations.

Why: the lexicon and the learned layer find our words ("tariff", "talks",
"visa", "rare earth", "lifts ban"), and those words are everywhere — electricity
tariffs in Guangdong, a union's contract talks, the Visa card network, an EU–US
steel dispute.  The product measures one relationship, so a category is kept
only when the item shows that relationship (docs/classifier.md, "Relevance
gate"); otherwise every category is dropped and the item is neutral.

The rule, all vocabulary in ``composition.v1.json`` under ``relevance``:

1. **frame** — the relation an item is about is read from who it names.  A
   side is a named actor (the taxonomy's countries and officials) or an
   anchor of that side (BIS, USTR, CBP, "Commerce" unless a ministry is
   named …; MOFCOM, "the Chinese side", the tariff commission, Huawei …).
   Both sides: US–China.  One side and a bilateral anchor ("both sides",
   "the two heads of state"), or one side and no other country: US–China
   with the other side implicit ("China tariff truce extended", "Commerce
   adds firms to the entity list").  One side with a third country: that
   pair's relation (EU–US steel, Canada–China), out of scope — except China
   with a third country on controls or minerals (a third country acting in
   the US-led control regime: Dutch chip-tool rules for China).  No side: out;
2. **context** — a policy or trade word (``context``: ministry, customs,
   licence, tariff, probe …; a word that only heads one of our own phrases,
   "trade" in "trade talks", does not count) or a composed move;
3. **not off-topic** — a story with domain words of sport, science, travel,
   campus life or consumer finance (``off_topic``) needs an institution word
   (``institutions``) to stay in.

The returned reason becomes the item's ``relevance:`` cue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class _Token(Protocol):
    """What the gate reads of a token of ``compose``: the word and its lemmas."""

    @property
    def word(self) -> str: ...

    @property
    def lem(self) -> tuple[str, ...]: ...


def _split(terms: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """One-word terms as a set (matched on lemmas), multi-word terms as padded phrases (matched on the text)."""
    return frozenset(t for t in terms if " " not in t), tuple(f" {t} " for t in sorted(terms) if " " in t)


class RelevanceGate:
    """Compiled relevance vocabulary; :meth:`check` decides one item."""

    def __init__(self, rel: dict[str, Any]) -> None:
        sides = rel["sides"]
        self._actor_side: dict[str, str] = {}
        for side in ("US", "China"):
            for name in sides[side]["actors"]:
                self._actor_side[name] = side
        self._anchors = {side: _split(sides[side]["anchors"]) for side in ("US", "China")}
        self._unless: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in rel["anchor_unless"].items()}
        self._bilateral = _split(rel["bilateral"])
        self._either = _split(rel["either_side"])
        self._third_cats = frozenset(rel["third_country_categories"])
        self._context = _split(rel["context"])
        self._off_topic = frozenset(rel["off_topic"])
        self._institutions = frozenset(rel["institutions"])
        self._not_before: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in rel["context_not_before"].items()}

    def _find(self, terms: tuple[frozenset[str], tuple[str, ...]], words: set[str], text: str) -> str | None:
        """The first anchor present; an ambiguous one ("commerce") only without the words that claim it."""
        one, phrases = terms
        for hit in sorted(words & one):
            if not words & self._unless.get(hit, frozenset()):
                return hit
        return next((p.strip() for p in phrases if p in text), None)

    def _counts(self, word: str, toks: Sequence[_Token]) -> bool:
        """A context word counts unless every use of it heads one of our own phrases ("trade talks")."""
        after = self._not_before.get(word)
        if after is None:
            return True
        for k, t in enumerate(toks):
            if word in t.lem and not (k + 1 < len(toks) and any(x in after for x in toks[k + 1].lem)):
                return True
        return False

    def frame(self, words: set[str], text: str, actors: tuple[str, ...],
              categories: tuple[str, ...]) -> tuple[str | None, bool]:
        """What shows the US–China frame ("US and China", "'commerce' and China" …) or None; both sides named?"""
        found: dict[str, str] = {}
        for a in actors:
            side = self._actor_side.get(a)
            if side is not None and side not in found:
                found[side] = a
        for side in ("US", "China"):
            if side not in found:
                hit = self._find(self._anchors[side], words, text)
                if hit is not None:
                    found[side] = f"'{hit}'"
        if len(found) == 2:
            return f"{found['US']} and {found['China']}", True
        if not found:
            # no side named: a government institution and no foreign country ("Consulates told to pause
            # visa interviews") is our own beat with both sides implicit; anything else is out
            inst = self._find(self._either, words, text)
            if inst is None or any(a not in self._actor_side for a in actors):
                return None, False
            return f"'{inst}', no other country", False
        side = next(iter(found.values()))
        both = self._find(self._bilateral, words, text)
        if both is not None:
            return f"{side} and '{both}'", False
        third = next((a for a in actors if a not in self._actor_side), None)
        if third is None:
            return f"{side}, no other country", False
        if "China" in found and set(categories) & self._third_cats:
            return f"{side} and {third}", False
        return None, False

    def check(self, toks: Sequence[_Token], actors: tuple[str, ...], categories: tuple[str, ...],
              moved: bool) -> tuple[bool, str, bool]:
        """(relevant, why, both sides named): the frame, the policy context (or a composed move), the off-topic check.

        Both sides named is what :meth:`Composer.apply` asks before it adds a category from a composed move.
        """
        words = {lem for t in toks for lem in t.lem}
        text = " " + " ".join(t.word for t in toks) + " "
        frame, both = self.frame(words, text, actors, categories)
        if frame is None:
            named = ", ".join(actors[:3]) or "no country"
            return False, f"no US–China frame ({named})", False
        if words & self._off_topic and not words & self._institutions:
            return False, f"off-topic story ('{min(words & self._off_topic)}') with no institution", False
        one, phrases = self._context
        context = next((c for c in sorted(words & one) if self._counts(c, toks)), None) or next(
            (p.strip() for p in phrases if p in text), None)
        if context is None and moved:
            context = "a composed move"
        if context is None:
            return False, f"{frame} named, but no policy or trade context", False
        return True, f"{frame}, context '{context}'", both
