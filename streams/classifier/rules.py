"""The default engine: weighted lexicon rules with negation, hedging and scope.

Why rules: every number they produce can be traced to a phrase in the
versioned lexicon (the ``cues``), they need no training data, and with the
trie-compiled matcher they run at tens of thousands of items per second on
one core.  The scoring model is described in docs/classifier.md; in short:

* category evidence = sum of cue weights (title × ``title_weight``), each
  distinct phrase counted once per field, look-alikes subtracting;
  score = raw / (raw + threshold), so a category is assigned at score ≥ 0.5;
* direction evidence comes from standalone cues and from *governors* (verbs
  or adjectives such as "lift", "impose", "new") applied to a following
  *polar* object ("ban" is a burden, "licences" a relief): "lifted the ban"
  de-escalates while "revoked licences" escalates;
* a negator in scope flips a direction and scales it by ``negation_factor``;
  hedges scale it by their factor (the smallest one in scope wins);
* tension = (E − D) / (E + D + N + k), hence strictly inside (−1, 1).
"""

from __future__ import annotations

from typing import Any

from .model import (
    DEESCALATION,
    ESCALATION,
    NEUTRAL,
    Classification,
    Cue,
    clamp_unit,
    intern_cue,
    round4,
)
from .lexicon import Hit, normalize
from .learned import LearnedLayer, Signals
from .taxonomy import BURDEN, Entry, Taxonomy, load_taxonomy
from .evidence import (
    _CUE_CACHE_MAX,
    _CUE_STRIP,
    _FLIP,
    _NO_TOKS,
    NEGATED_NOUN_WEIGHT,
    _category_of,
    _Evidence,
    _hedge_ratio,
    _modifier_state,
    _Pending,
    _span,
)


class RulesEngine:
    """Lexicon engine, optionally topped by the learned layer; stateless, safe to share.

    ``learned=None`` is the pure lexicon engine (registered as ``lexicon``);
    with a :class:`~.learned.LearnedLayer` the rules evidence and the item's
    n-grams are fed to the exported linear models, which make the decision
    (registered as ``rules``, the default).
    """

    name = "rules"

    def __init__(self, taxonomy: Taxonomy | None = None, learned: LearnedLayer | None = None) -> None:
        self._tx = taxonomy or load_taxonomy()
        self._p = self._tx.params
        self._learned = learned
        if learned is None:
            self.name = "lexicon"
            self.version = f"rules-{self._tx.version}"
        else:
            self.version = f"rules-{self._tx.version}+learned-{learned.version}.{learned.digest}"
        self._cat_cues: dict[tuple[str, str, float], tuple[tuple[str, float, Cue], ...]] = {}
        # One bound method kept for the engine's life: the matcher's fused-pass
        # memo is tied to its annotator.
        self._annotate = learned.annotate if learned is not None else None

    def classify(self, title: str, body: str = "") -> Classification:
        """Score one item; never raises on any ``str`` input."""
        ev = _Evidence()
        learned = self._learned
        if learned is not None:
            return self._classify_learned(learned, title, body, ev)
        if title:
            self._scan(normalize(title), self._p.title_weight, "t", ev)
        if body:
            self._scan(normalize(body), 1.0, "b", ev)
        actors = self._actors(ev.actors, title, body) if ev.actors else ()
        scores, chosen, esc, de, neu, damp = self._measure(ev, actors)
        tension = (esc - de) / (esc + de + neu + self._p.tension_smoothing)
        if self._p.neutral_gate and not chosen:
            tension = 0.0
        return Classification(tuple(chosen), scores, clamp_unit(tension), tuple(ev.cues),
                              actors, self.version)

    def evidence(self, title: str, body: str = "") -> tuple[list[str], list[str], tuple[str, ...],
                                                           Signals, tuple[Cue, ...]]:
        """The lexicon's pass alone: (title tokens, body tokens, actors, signals, lexicon cues).

        What training (``classifier_lab.train``) and the reference scorer of
        the tests read; the engine itself gets the same values in its fused
        pass (``_classify_learned``).
        """
        ev = _Evidence()
        toks_t = self._scan(normalize(title), self._p.title_weight, "t", ev) if title else _NO_TOKS
        toks_b = self._scan(normalize(body), 1.0, "b", ev) if body else _NO_TOKS
        actors, sig = self._signals(ev, title, body)
        return toks_t, toks_b, actors, sig, tuple(ev.cues)

    def _classify_learned(self, learned: LearnedLayer, title: str, body: str, ev: _Evidence
                          ) -> Classification:
        """The default engine: one token pass per field feeds the lexicon and the learned layer."""
        matcher = self._tx.matcher
        annotate = self._annotate
        assert annotate is not None  # set whenever the learned layer is
        found: dict[Any, Any] = {}  # feature index → value, both fields (see tokens_annotated)
        if title:
            toks, hits = matcher.tokens_annotated(normalize(title), annotate, found)
            if hits:
                self._walk(toks, hits, self._p.title_weight, "t", ev)
        if body:
            toks, hits = matcher.tokens_annotated(normalize(body), annotate, found, True)
            if hits:
                self._walk(toks, hits, 1.0, "b", ev)
        actors, sig = self._signals(ev, title, body)
        l_scores, l_chosen, tension, l_cues = learned.score(found, sig)
        if l_cues:
            ev.cues.extend(l_cues)  # lexicon cues first, then the learned ones
        return Classification(l_chosen, l_scores, clamp_unit(tension), tuple(ev.cues), actors, self.version)

    def _signals(self, ev: _Evidence, title: str, body: str) -> tuple[tuple[str, ...], Signals]:
        """The actors and the lexicon evidence the learned layer reads, from one item's scan."""
        actors = self._actors(ev.actors, title, body) if ev.actors else ()
        scores, _, esc, de, neu, damp = self._measure(ev, actors)
        return actors, Signals(scores, esc, de, neu, damp, bool(actors), ev.context, bool(ev.lookalike),
                               _hedge_ratio(ev))

    def _actors(self, keys: list[str], title: str, body: str) -> tuple[str, ...]:
        """Canonical actors, countries first, each group in order of first mention."""
        countries: dict[str, None] = {}
        people: dict[str, None] = {}
        done: set[str] = set()
        for key in keys:
            if key in done:
                continue
            done.add(key)
            found = self._tx.actor(key, title, body)
            if found is not None:
                (people if found[1] else countries).setdefault(found[0], None)
        return (*countries, *people)

    # -- decision ---------------------------------------------------------

    def _measure(self, ev: _Evidence, actors: tuple[str, ...]
                 ) -> tuple[dict[str, float], list[str], float, float, float, float]:
        """(category scores, rules categories, E, D, N after framing, framing damp)."""
        p = self._p
        # A category needs economic/policy context: a country or official, or
        # policy vocabulary.  Policy words do not count for a category that a
        # homonym phrase argued against ("soccer" for trade, "visa card" for
        # visas): then only a named actor restores full weight.
        factor = 1.0 if (ev.context or actors) else p.no_context_factor
        lookalike = p.lookalike_context_factor if (ev.lookalike and not actors) else factor
        scores: dict[str, float] = {}
        chosen: list[str] = []
        threshold = p.category_threshold
        for cat, raw in ev.raw.items():
            if raw > 0:
                raw *= lookalike if cat in ev.lookalike else factor
                scores[cat] = round4(raw / (raw + threshold))  # < 1 by construction
                if raw >= threshold:
                    chosen.append(cat)
            else:
                scores[cat] = 0.0
        esc, de, neu = ev.sums[ESCALATION], ev.sums[DEESCALATION], ev.sums[NEUTRAL]
        # Framing ("analysts say", "explainer", "to meet next week") says the
        # item reports no move itself: move words in it are damped, fully when
        # the framing is in the title, partly when only the body has it.
        damp = ev.frame["t"] * ev.frame["b"] ** p.body_frame_power
        if damp < 1.0:
            esc *= damp
            de *= damp
        return scores, chosen, esc, de, neu, damp

    # -- scanning ---------------------------------------------------------

    def _scan(self, text: str, mult: float, fld: str, ev: _Evidence) -> list[str]:
        """One left-to-right pass over a field (hot loop: kept flat on purpose).

        Positions are token indices; "within N words" means at most N tokens
        between the end of one phrase and the start of the next.
        """
        toks, hits = self._tx.matcher.tokens(text)
        if hits:
            self._walk(toks, hits, mult, fld, ev)
        return toks

    def _walk(self, toks: list[str], hits: list[Hit], mult: float, fld: str, ev: _Evidence) -> None:
        """The scan proper over a field's tokens and phrase-starting hits."""
        matcher = self._tx.matcher
        p = self._p
        mod_scope = p.modifier_scope_words
        obj_scope = p.object_scope_words
        resolve = self._tx.resolve
        merged = self._tx._merged  # resolve's memo, read inline (one call less per match)
        seen = ev.seen
        cues = ev.cues
        mods: list[tuple[int, Entry, int]] = []  # (end token, modifier, start token)
        verb: _Pending | None = None
        last_polar: tuple[int, Entry, int] | None = None  # (end, entry, start)
        prev_end = -1
        for start, end, phrases in matcher.matches(toks, hits):
            if phrases is None:
                entry = None
            else:
                entry = merged.get(phrases) or resolve(phrases)
            if entry is not None and entry.simple:  # fast path: category evidence only
                key = (entry.phrase, fld)
                if key not in seen:
                    seen.add(key)
                    self._category_evidence(entry, toks, start, end, mult, ev)
                if entry.context:
                    ev.context = True
                adjacent = start == prev_end
                prev_end = end
                if mods and start - mods[0][0] > mod_scope:
                    mods = [m for m in mods if start - m[0] <= mod_scope]
                if verb is not None:
                    if start - verb.last_idx > obj_scope:
                        self._flush(verb, toks, mult, fld, ev)
                        verb = None
                continue
            if entry is None or entry.is_break:
                if verb is not None:
                    self._flush(verb, toks, mult, fld, ev)
                    verb = None
                mods.clear()
                last_polar = None
                continue
            adjacent = start == prev_end
            prev_end = end
            if mods and start - mods[0][0] > mod_scope:
                mods = [m for m in mods if start - m[0] <= mod_scope]
            if verb is not None and start - verb.last_idx > obj_scope:
                self._flush(verb, toks, mult, fld, ev)
                verb = None
            if entry.categories:
                key = (entry.phrase, fld)
                if key not in seen:
                    seen.add(key)
                    self._category_evidence(entry, toks, start, end, mult, ev)
            if entry.context:
                ev.context = True
            if entry.actors:
                ev.actors.extend(entry.actors)
            if entry.frame < ev.frame[fld]:
                ev.frame[fld] = entry.frame
                cues.append(intern_cue(_span(toks, start, end), None, NEUTRAL, round4(1.0 - entry.frame)))
            if entry.negator or entry.hedge < 1.0:
                mods.append((end, entry, start))
            polarity = entry.polarity
            mode = entry.mode
            if polarity and verb is not None:
                # The first polar word after a governor is its object; an
                # immediately following polar word is the compound's head
                # ("extend the tariff truce" governs "truce", not "tariff").
                if verb.obj is None or (adjacent and verb.obj_end == start):
                    verb.obj = entry
                    verb.obj_end = end
                verb.last_idx = end
            elif mode == "keep" and verb is not None and verb.obj is None:
                verb.last_idx = end  # "impose new tariffs": adjective joins the verb
            elif mode is not None:
                back, back_start = None, start
                if verb is not None and verb.obj is None and verb.entry.polarity:
                    back, back_start = verb.entry, verb.start  # dual noun/verb read as noun
                    verb = None
                elif last_polar is not None and start - last_polar[0] <= obj_scope:
                    back, back_start = last_polar[1], last_polar[2]
                if verb is not None:
                    self._flush(verb, toks, mult, fld, ev)
                    verb = None
                negs, hedge, mod_start = _modifier_state(mods) if mods else (0, 1.0, start)
                verb = _Pending(entry, min(start, mod_start), end, end, negs, hedge)
                if back is not None:
                    verb.back_obj = back
                    verb.start = min(verb.start, back_start)
                last_polar = None
            elif entry.direction is not None and entry.weight:
                negs, hedge, mod_start = _modifier_state(mods) if mods else (0, 1.0, start)
                self._emit(_span(toks, min(start, mod_start), end), _category_of(entry),
                           entry.direction, entry.weight, negs, hedge, mult, fld, ev)
            elif polarity:
                negs, hedge, mod_start = _modifier_state(mods) if mods else (0, 1.0, start)
                if negs % 2:  # "no talks", "without tariffs": the absence is the move
                    direction = DEESCALATION if polarity == BURDEN else ESCALATION
                    self._emit(_span(toks, mod_start, end), _category_of(entry), _FLIP[direction],
                               NEGATED_NOUN_WEIGHT, negs, hedge, mult, fld, ev)
                else:
                    last_polar = (end, entry, start)
        if verb is not None:
            self._flush(verb, toks, mult, fld, ev)

    def _category_evidence(self, entry: Entry, toks: list[str], start: int, end: int,
                           mult: float, ev: _Evidence) -> None:
        """Add a phrase's category weights and cues (each phrase once per field).

        The (weight, cue) list depends only on the phrase, its spelling and
        the field multiplier, so it is memoised: most items reuse it.
        """
        spelled = toks[start] if end - start == 1 else " ".join(toks[start:end])
        ck = (entry.phrase, spelled, mult)
        made = self._cat_cues.get(ck)
        if made is None:
            if len(self._cat_cues) >= _CUE_CACHE_MAX:
                self._cat_cues.clear()
            text = spelled.strip(_CUE_STRIP)
            made = self._cat_cues[ck] = tuple(
                (cat, weight * mult, Cue(text, cat, NEUTRAL, round4(weight * mult)))
                for cat, weight in entry.categories
            )
        raw = ev.raw
        for cat, weight, cue in made:
            raw[cat] += weight
            if weight < 0:
                ev.lookalike.add(cat)
            ev.cues.append(cue)

    def _flush(self, verb: _Pending, toks: list[str], mult: float, fld: str,
               ev: _Evidence) -> None:
        """Emit a pending governor: object-driven, else its default direction."""
        gov = verb.entry
        obj = verb.obj or verb.back_obj
        if obj is not None:
            burden = obj.polarity == BURDEN
            mode = gov.mode
            if gov.level_mode is not None and _new_level(toks, verb.end):
                mode = gov.level_mode  # "lifts its levy ... to 25 percent" raises it
            if mode == "invert":
                burden = not burden
            direction = ESCALATION if burden else DEESCALATION
            end = verb.obj_end if verb.obj is not None else verb.end
            self._emit(_span(toks, verb.start, end), _category_of(obj), direction,
                       gov.gov_weight, verb.negs, verb.hedge, mult, fld, ev)
        elif gov.default != NEUTRAL:
            self._emit(_span(toks, verb.start, verb.end), None, gov.default, gov.gov_weight,
                       verb.negs, verb.hedge, mult, fld, ev)
        return None

    def _emit(self, phrase: str, category: str | None, direction: str, weight: float,
              negs: int, hedge: float, mult: float, fld: str, ev: _Evidence) -> None:
        p = self._p
        if negs % 2:
            direction = _FLIP[direction]
            weight *= p.negation_factor
        elif negs:
            weight *= p.double_negation_factor
        weight *= hedge * (p.title_direction_weight if fld == "t" else mult)
        key = (phrase, direction, fld)
        if weight <= 0 or key in ev.seen:
            return
        ev.seen.add(key)
        ev.sums[direction] += weight
        ev.full += weight / hedge
        ev.cues.append(intern_cue(phrase, category, direction, round4(weight)))


#: How far after a governor a new level ("to 25 percent") still belongs to it.
_LEVEL_SCOPE = 10


def _new_level(toks: list[str], start: int) -> bool:
    """True when "to <number> percent" follows ``start`` within the clause.

    Why: "lift" means remove ("lifts the ban") unless a new level follows
    ("lifts its levy on LNG to 25 percent"), when it means raise; governors
    with ``to_level`` in the lexicon switch mode on this.
    """
    stop = min(len(toks) - 2, start + _LEVEL_SCOPE)
    for i in range(start, stop):
        tok = toks[i]
        if tok == "to" and toks[i + 1][:1].isdigit() and toks[i + 2].startswith("percent"):
            return True
        if tok[-1:] in ".;:!?":
            return False
    return False
