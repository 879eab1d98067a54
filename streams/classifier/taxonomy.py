"""Load the versioned taxonomy/lexicon file into immutable lookup structures.

The lexicon is data (``taxonomy.v1.json``), not code, so linguists can tune
weights without touching the engine and every change is visible as a version
bump.  This module validates the file once at import time and turns it into
``Entry`` records: one per phrase, merging everything the different lexicon
sections say about that phrase (category evidence, direction, polarity,
negation, hedging).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import TaxonomyError
from .lexicon import PhraseMatcher, clean_word, normalize
from .model import CATEGORIES, DEESCALATION, DIRECTIONS, ESCALATION, NEUTRAL

TAXONOMY_FILE = "taxonomy.v1.json"
BURDEN, RELIEF = 1, -1
_POLARITY = {"burden": BURDEN, "relief": RELIEF}


@dataclass(frozen=True, slots=True)
class Params:
    """Scoring knobs; documented in docs/classifier.md."""

    title_weight: float
    category_threshold: float
    no_context_factor: float
    tension_smoothing: float
    neutral_gate: bool
    negation_factor: float
    double_negation_factor: float
    modifier_scope_words: int
    object_scope_words: int
    body_frame_power: float = 0.5
    title_direction_weight: float = 2.0
    lookalike_context_factor: float = 0.6


@dataclass(frozen=True, slots=True)
class Entry:
    """Everything the lexicon says about one phrase."""

    phrase: str
    specificity: int = 0
    categories: tuple[tuple[str, float], ...] = ()
    direction: str | None = None  # standalone direction cue
    weight: float = 0.0
    polarity: int = 0  # BURDEN / RELIEF when it can be the object of a governor
    mode: str | None = None  # governor: "keep" or "invert" the object's polarity
    default: str = NEUTRAL  # governor's direction when it finds no object
    level_mode: str | None = None  # mode when a new level follows ("lifts duties to 25 percent")
    gov_weight: float = 0.0
    negator: bool = False
    hedge: float = 1.0
    is_break: bool = False
    context: bool = False
    frame: float = 1.0  # analysis/scheduling framing: damps direction evidence
    actors: tuple[str, ...] = ()  # actor keys (lower-case aliases) inside the phrase
    simple: bool = False  # only category evidence: the scanner's fast path


_DEFAULTS = {f.name: f.default for f in fields(Entry)}


def _merge(base: Entry, extra: Entry) -> Entry:
    """Overlay ``extra``'s non-default attributes on ``base``."""
    changes: dict[str, Any] = {}
    for name, default in _DEFAULTS.items():
        if name in ("phrase", "specificity"):
            continue
        value = getattr(extra, name)
        if name == "categories":
            merged = dict(base.categories)
            merged.update(value)
            changes[name] = tuple(sorted(merged.items(), key=lambda kv: CATEGORIES.index(kv[0])))
        elif value != default:
            changes[name] = value
    return replace(base, **changes)


def _specificity(phrase: str) -> int:
    """Literal characters in a phrase: the more, the more specific."""
    return sum(1 for ch in phrase if ch not in " *-")


class Taxonomy:
    """Validated lexicon plus the compiled matcher and phrase resolver."""

    def __init__(self, raw: dict[str, Any]) -> None:
        try:
            self.version: str = str(raw["version"])
            self.params = Params(**raw["params"])
            entries = self._build_entries(raw)
            countries = raw["actors"]["countries"]
            people = raw["actors"]["people"]
        except (KeyError, TypeError) as exc:
            raise TaxonomyError(f"taxonomy file is missing or mistypes {exc}") from exc
        self.entries: dict[str, Entry] = entries
        self._merged: dict[tuple[str, ...], Entry] = {}
        self.actor_keys = _actor_keys(countries, people)
        self._attach_actors()
        for phrase, entry in self.entries.items():
            self.entries[phrase] = replace(entry, simple=_is_simple(entry))
        self.matcher = PhraseMatcher(self.entries)

    def _attach_actors(self) -> None:
        """Make actor aliases lexicon phrases, and tag phrases that contain one.

        Actors are found in the same token pass as the lexicon (a separate
        case-sensitive pass cost ~15 % of the time budget).  A longer phrase
        can swallow an alias ("call with xi", "chinese students"), so every
        phrase records the aliases inside it.
        """
        for key in self.actor_keys:
            if key not in self.entries:
                self.entries[key] = Entry(phrase=key, specificity=_specificity(key))
        for phrase, entry in list(self.entries.items()):
            padded = f" {phrase.replace('-', ' ')} "
            inside = tuple(k for k in self.actor_keys if f" {k} " in padded)
            if inside:
                self.entries[phrase] = replace(entry, actors=inside)

    def actor(self, key: str, title: str, body: str) -> tuple[str, bool] | None:
        """(canonical name, is a person) for a matched alias key, None if the case is wrong.

        Short aliases ("us", "eu", "xi") are common words in lower case, so
        they only count when the original text spells one of their listed
        forms ("US", "U.S."); longer aliases are unambiguous enough.
        """
        canonical, is_person, check = self.actor_keys[key]
        if check is not None and not (check.search(title) or check.search(body)):
            return None
        return canonical, is_person

    @staticmethod
    def _build_entries(raw: dict[str, Any]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}

        def add(phrase: str, **attrs: Any) -> None:
            if phrase != phrase.lower().strip():
                raise TaxonomyError(f"phrase must be lower-case and trimmed: {phrase!r}")
            entry = Entry(phrase=phrase, specificity=_specificity(phrase), **attrs)
            found[phrase] = _merge(found[phrase], entry) if phrase in found else entry

        cats = raw["categories"]
        if tuple(cats) != CATEGORIES:
            raise TaxonomyError(f"categories must be exactly {CATEGORIES}, got {tuple(cats)}")
        for category, cues in cats.items():
            for phrase, weight in cues.items():
                add(phrase, categories=((category, float(weight)),))
        for phrase, weights in raw["lookalikes"].items():
            unknown = set(weights) - set(CATEGORIES)
            if unknown:
                raise TaxonomyError(f"look-alike {phrase!r} names unknown categories {unknown}")
            add(phrase, categories=tuple((c, float(w)) for c, w in weights.items()))
        for phrase in raw["context"]:
            add(phrase, context=True)
        for phrase, spec in raw["polar"].items():
            polarity = _POLARITY[spec["polarity"]]
            weight = float(spec["weight"])
            direction = (ESCALATION if polarity == BURDEN else DEESCALATION) if weight else None
            add(phrase, polarity=polarity, direction=direction, weight=weight)
        for phrase, spec in raw["governors"].items():
            if (spec["mode"] not in ("keep", "invert") or spec["default"] not in DIRECTIONS
                    or spec.get("to_level", "keep") not in ("keep", "invert")):
                raise TaxonomyError(f"bad governor spec for {phrase!r}: {spec}")
            add(
                phrase,
                mode=spec["mode"],
                default=spec["default"],
                gov_weight=float(spec["weight"]),
                polarity=_POLARITY.get(spec.get("polarity", ""), 0),
                level_mode=spec.get("to_level"),
            )
        for direction, cues in raw["direction"].items():
            if direction not in DIRECTIONS:
                raise TaxonomyError(f"unknown direction {direction!r}")
            for phrase, weight in cues.items():
                add(phrase, direction=direction, weight=float(weight))
        for phrase in raw["negators"]:
            add(phrase, negator=True)
        for phrase, factor in raw["hedges"].items():
            if not 0.0 <= float(factor) <= 1.0:
                raise TaxonomyError(f"hedge factor for {phrase!r} must be in [0, 1]")
            add(phrase, hedge=float(factor))
        for phrase, factor in raw.get("frames", {}).items():
            if not 0.0 < float(factor) <= 1.0:
                raise TaxonomyError(f"frame factor for {phrase!r} must be in (0, 1]")
            add(phrase, frame=float(factor))
        for phrase in raw["breaks"]:
            add(phrase, is_break=True)
        return found

    def resolve(self, phrases: tuple[str, ...]) -> Entry:
        """One Entry for a matched span, merging every phrase that matches it.

        Several phrases can match the same span (``retaliatory`` and
        ``retaliat*``); their effects are combined, the most specific phrase
        winning where they disagree.  Memoised per phrase tuple (a bounded
        set: the lexicon's own combinations).
        """
        entry = self._merged.get(phrases)
        if entry is not None:
            return entry
        ordered = sorted(phrases, key=lambda ph: self.entries[ph].specificity)
        merged = self.entries[ordered[0]]
        for phrase in ordered[1:]:
            merged = _merge(merged, self.entries[phrase])
        if len(ordered) > 1:  # ``simple`` is derived, so it is recomputed, not merged
            merged = replace(merged, simple=_is_simple(merged))
        self._merged[phrases] = merged
        return merged


def _is_simple(entry: Entry) -> bool:
    """True when a phrase only adds category evidence (no direction, scope or actor role)."""
    return (entry.direction is None and not entry.polarity and entry.mode is None
            and not entry.negator and entry.hedge == 1.0 and not entry.is_break
            and entry.frame == 1.0 and not entry.actors)


def _actor_keys(countries: dict[str, list[str]], people: dict[str, list[str]]
                ) -> dict[str, tuple[str, bool, re.Pattern[str] | None]]:
    """Lower-case alias key → (canonical, is_person, case check for short aliases)."""
    spelled: dict[str, tuple[str, bool, list[str]]] = {}
    for table, is_person in ((countries, False), (people, True)):
        for canonical, aliases in table.items():
            for alias in aliases:
                key = " ".join(clean_word(w) for w in normalize(alias).split())
                spelled.setdefault(key, (canonical, is_person, []))[2].append(alias)
    out: dict[str, tuple[str, bool, re.Pattern[str] | None]] = {}
    for key, (canonical, is_person, forms) in spelled.items():
        check = None
        if " " not in key and len(key) <= 3:
            alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            check = re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")
        out[key] = (canonical, is_person, check)
    return out


@lru_cache(maxsize=None)
def load_taxonomy(name: str = TAXONOMY_FILE) -> Taxonomy:
    """Parse and compile a packaged taxonomy file once per process."""
    return Taxonomy(read_packaged_json(name, "taxonomy"))


def read_packaged_json(name: str, what: str) -> Any:
    """A JSON file shipped inside this package (taxonomy, learned weights)."""
    try:
        return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaxonomyError(f"cannot read {what} {name}: {exc}") from exc
