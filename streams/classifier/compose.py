"""Compositional direction and the US–China relevance gate (issue 17).

Why: the lexicon and the learned layer score words, so "eases the licensing
requirement" reads as escalation (the restriction word dominates) and "the
truce collapses" as de-escalation (the cooperation word dominates).  Here the
direction of a move is *composed*: a predicate's polarity times its object's
polarity.  The vocabulary is data (``composition.v1.json``); the rules are
the few lines of :meth:`Composer._scan_field` and :meth:`Composer.apply`:

1. objects are ``measure`` (restrictions: +1) or ``relief`` (cooperation and
   flows: talks, truces, licences, exports, approvals: −1); in a compound the
   last object word is the head ("tariff pause" is a pause); "zero"/"free"
   next to a measure make it relief; a word that is both ("pause", "ban",
   "curb") is the verb when no determiner, object or verb precedes it and an
   object follows ("China bans exports");
2. predicates ``raise`` (+1: impose, extend, resume, rebound…) or ``lower``
   (−1: ease, lift, suspend, collapse, stall, fall…) bind the nearest object
   within ``window`` words after them, else before them; intransitives and
   passives ("is put on hold") bind their subject — the first object of the
   noun group before them ("talks on tariffs stall" are talks) — and verbs
   that never take an object ("stocks climb as …") nothing after them; the
   move is predicate × object: ease (−1) × licensing requirement (+1) ⇒
   de-escalation, collapse (−1) × talks (−1) ⇒ escalation;
3. standalone terms (charges, smuggling, retaliation, "no deal", supply
   fears…; "reprieve", "cleared") count on their own, at a lower weight;
4. a lowering predicate of a plan ("drops plan to") reverses the move it
   governs; a negator up to ``window`` words before flips a move and weakens
   it; a hedge scales it; a number right after a predicate strengthens it;
5. title evidence weighs ``title_weight``; reporting frames (explainers,
   analysts, deferrals) damp a field's moves; the composed score c is
   squashed (s = c / (|c| + 1)) and, when |c| reaches ``min_evidence``,
   pulls the engine's tension t: (t + b·s) / (1 + b·|s|), b =
   ``blend.composed_agreeing`` when the title's moves agree, else
   ``blend.composed`` — strictly inside (−1, 1) and monotone in t.

The relevance gate (``relevance.py``, only for items the engine gave a
category) keeps a category only with a US–China frame and a policy context;
otherwise every category is dropped and the item is neutral.  Both steps
return cues that show their reasoning, e.g.
``"eases → licensing requirement ⇒ deescalation"``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import CATEGORIES, DEESCALATION, ESCALATION, Classification, Cue, round4
from .relevance import RelevanceGate

COMPOSITION_FILE = "composition.v1.json"
_PUNCT = ".,;:!?\"'()[]{}«»“”‘’"


def lemmas(token: str) -> tuple[str, ...]:
    """The token and the base forms it may inflect (plural, past, gerund): cheap, rule-based, no dictionary."""
    out = [token]
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", ""),
                         ("ing", ""), ("ing", "e"), ("ying", "ie")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 2:
            out.append(token[: len(token) - len(suffix)] + repl)
    if len(token) > 5 and token.endswith("ed") and token[-3] == token[-4]:
        out.append(token[:-3])  # stopped -> stop, scrapped -> scrap
    if len(token) > 6 and token.endswith("ing") and token[-4] == token[-5]:
        out.append(token[:-4])  # scrapping -> scrap
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Tok:
    word: str
    lem: tuple[str, ...]
    brk: bool  # a clause break follows / is this token
    hits: tuple[str | None, str | None, str | None] = (None, None, None)  # one-word object, predicate, standalone
    start: bool = False  # some lemma can start a multi-word term
    live: bool = False  # start or any hit: the scan skips every other token at once


_BREAK = _Tok("", ("",), True)
_OBJ, _PRED, _ALONE = 0, 1, 2
_MAX_MEMO = 50_000


class Composer:
    """Compiled composition data; :meth:`apply` post-processes one classification."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data["version"]
        self._obj: dict[str, tuple[int, str | None]] = {}
        for polarity, key in ((1, "measure"), (-1, "relief")):
            for term, cat in data["objects"][key].items():
                self._obj[term] = (polarity, cat)
        self._pred: dict[str, int] = {t: p for p, k in ((1, "raise"), (-1, "lower")) for t in data["predicates"][k]}
        self._alone = {t: 1 for t in data["standalone"]["escalation"]}
        self._alone.update({t: -1 for t in data["standalone"]["deescalation"]})
        self._neg = set(data["negators"])
        self._hedge: dict[str, float] = dict(data["hedges"])
        self._breaks = set(data["clause_breaks"])
        self._window: int = data["window"]
        self._qfactor: float = data["quantity_factor"]
        self._title_w: float = data["title_weight"]
        w = data["weights"]
        self._w_comp, self._w_alone, self._w_neg = w["compose"], w["standalone"], w["negated"]
        b = data["blend"]
        self._b_learned, self._b_comp, self._b_min = b["learned"], b["composed"], b["min_evidence"]
        self._b_agree: float = b["composed_agreeing"]
        self._gate = RelevanceGate(data["relevance"])
        self._memo: dict[str, tuple[_Tok, ...]] = {}
        terms = [*self._obj, *self._pred, *self._alone]
        self._starts = {t.split()[0] for t in terms if " " in t}
        self._lengths: list[dict[str, set[int]]] = [{}, {}, {}]
        for kind, table in ((_OBJ, self._obj), (_PRED, self._pred), (_ALONE, self._alone)):
            for t in (t for t in table if " " in t):
                self._lengths[kind].setdefault(t.split()[0], set()).add(len(t.split()))
        self._add_categories: bool = data["add_categories"]
        self._free = set(data["free_markers"])
        self._intrans = set(data["intransitive"])
        self._passive = set(data["passive_markers"])
        self._nominal = set(data["nominal_markers"])
        self._subject_only = set(data["subject_only"])
        self._plans = set(data["plan_nouns"])
        self._subject_window: int = data["subject_window"]
        fr = data["frames"]
        self._frame_t, self._frame_b = fr["title"], fr["body"]
        self._frame_words = {f for f in fr["terms"] if " " not in f}
        self._frame_phrases = tuple(f" {f} " for f in fr["terms"] if " " in f)
        self._before = {1: data["window_before"]["raise"], -1: data["window_before"]["lower"]}

    # -- token level -----------------------------------------------------
    def _tokens(self, text: str) -> list[_Tok]:
        """Lower-cased words with their lemmas and clause breaks; each distinct raw token analysed once."""
        out: list[_Tok] = []
        memo = self._memo
        if len(memo) > _MAX_MEMO:
            memo.clear()
        for raw in text.lower().replace("-", " ").replace("/", " ").split():
            toks = memo.get(raw)
            if toks is None:
                toks = memo[raw] = self._analyse(raw)
            out.extend(toks)
        return out

    def _analyse(self, raw: str) -> tuple[_Tok, ...]:
        word = raw.strip(_PUNCT)
        if word.endswith("'s"):
            word = word[:-2]
        found: list[_Tok] = []
        if word:
            lem = lemmas(word)
            hits = tuple(next((x for x in lem if x in table), None) for table in (self._obj, self._pred, self._alone))
            start = any(x in self._starts for x in lem)
            found.append(_Tok(word, lem, word in self._breaks, hits,  # type: ignore[arg-type]
                              start, start or any(h is not None for h in hits)))
        if raw[-1:] in ".;:!?" or raw.endswith((".\"", ".'")):
            found.append(_BREAK)
        return tuple(found)

    def _match(self, toks: list[_Tok], i: int, table: dict[str, Any], kind: int) -> tuple[str, int] | None:
        """Longest term of ``table`` at token i, matched on lemmas: (term, length); multi-word terms only
        when the first word can start one, one-word hits found once per distinct token (``_analyse``)."""
        tok = toks[i]
        if tok.start:
            lengths = self._lengths[kind]  # first word -> the lengths of this table's terms it starts
            for n in sorted({k for x in tok.lem for k in lengths.get(x, ()) if i + k <= len(toks)}, reverse=True):
                words = toks[i + 1:i + n]
                if any(t.brk and not t.word for t in words):
                    continue
                for x in tok.lem:
                    if n in lengths.get(x, ()):
                        for combo in itertools.product(*(t.lem for t in words)):
                            term = x + " " + " ".join(combo)
                            if term in table:
                                return term, n
        hit = tok.hits[kind]
        return (hit, 1) if hit is not None else None

    def _scan_field(self, toks: list[_Tok], weight: float, cues: list[Cue], cats: set[str]) -> tuple[float, bool]:
        objs: dict[int, tuple[str, int, int, str | None]] = {}  # start -> (term, end, polarity, category)
        i = 0
        while i < len(toks):
            if not toks[i].live:
                i += 1
                continue
            m = self._match(toks, i, self._obj, _OBJ)
            if m and m[1] == 1 and self._verb_reading(toks, i):
                m = None
            if m:
                pol, cat = self._obj[m[0]]
                objs[i] = (m[0], i + m[1], pol, cat)
                i += m[1]
            else:
                i += 1
        # a compound's head is its last object word
        heads: dict[int, tuple[str, int, str | None]] = {}
        starts = sorted(objs)
        for k, s in enumerate(starts):
            term, end, pol, cat = objs[s]
            j = k
            while j + 1 < len(starts) and starts[j + 1] == objs[starts[j]][1]:
                j += 1
            hterm, _, hpol, hcat = objs[starts[j]]
            near = {toks[x].word for x in (s - 1, objs[starts[j]][1]) if 0 <= x < len(toks)}
            if hpol > 0 and near & self._free:  # "zero tariffs", "duty free": the absence of a measure is relief
                hterm, hpol = f"no {hterm}", -1
            heads[s] = (hterm, hpol, hcat or cat)
        total, moved = 0.0, False
        undo, undo_word = False, ""  # a lowering predicate of a plan: "drops plan to add …" reverses the next move
        i = 0
        while i < len(toks):
            tok = toks[i]
            if not tok.live:
                i += 1
                continue
            if i in objs:
                i = objs[i][1]
                continue
            pm = self._match(toks, i, self._pred, _PRED)
            if pm is not None and self._pred[pm[0]] < 0 and self._plan_follows(toks, i + pm[1]):
                undo, undo_word = True, tok.word
                i += pm[1]
                continue
            am = None if pm else self._match(toks, i, self._alone, _ALONE)
            if pm is None and am is None:
                i += 1
                continue
            term, n = pm or am  # type: ignore[misc]
            scale, prefix = self._modifiers(toks, i)
            if pm is not None:
                subject_first = term in self._intrans or any(
                    0 <= i - k and toks[i - k].word in self._passive for k in (1, 2))
                obj = self._bind(toks, i, n, objs, heads, self._before[self._pred[term]], subject_first,
                                 term in self._subject_only)
                if obj is None:
                    i += n
                    continue
                oterm, opol, ocat = obj
                end = i + n
                if end < len(toks) and any(ch.isdigit() for ch in toks[end].word) or (
                        end < len(toks) and toks[end].word in ("by", "to") and end + 1 < len(toks)
                        and any(ch.isdigit() for ch in toks[end + 1].word)):
                    scale *= self._qfactor
                sign = self._pred[term] * opol
                value = sign * self._w_comp * scale * weight
                phrase = f"{prefix}{tok.word} → {oterm}"
                if undo:
                    value, phrase, undo = -value, f"{undo_word} plan to {phrase}", False
                if ocat is not None:
                    cats.add(ocat)
            else:
                sign = self._alone[term]
                value = sign * self._w_alone * scale * weight
                phrase = f"{prefix}{term}"
            if value:
                moved = True
                total += value
                direction = ESCALATION if value > 0 else DEESCALATION
                cues.append(Cue(f"compose:{phrase} ⇒ {direction}", None, direction, round4(abs(value))))
            i += n
        return total, moved

    def _verb_reading(self, toks: list[_Tok], i: int) -> bool:
        """A word that is both object and predicate ("pause", "ban", "curb", "freeze") is the verb when it
        is not after a determiner, preposition, object or predicate and an object follows in its clause."""
        tok = toks[i]
        if tok.hits[_PRED] is None:
            return False
        prev = toks[i - 1] if i > 0 else _BREAK
        if prev.word in self._nominal or prev.hits[_OBJ] is not None or prev.hits[_PRED] is not None:
            return False
        for j in range(i + 1, min(len(toks), i + 1 + self._window)):
            if toks[j].brk:
                return False
            if toks[j].hits[_OBJ] is not None or toks[j].start:
                return True
        return False

    def _plan_follows(self, toks: list[_Tok], j: int) -> bool:
        """A plan noun ("plan", "decision", "proposal"…) then "to" within 3 words: the predicate undoes a move."""
        for k in range(j, min(len(toks) - 1, j + 3)):
            if toks[k].brk:
                return False
            if any(lem in self._plans for lem in toks[k].lem) and toks[k + 1].word == "to":
                return True
        return False

    def _modifiers(self, toks: list[_Tok], i: int) -> tuple[float, str]:
        """Negation flips (and weakens), the smallest hedge factor scales; both only within the clause."""
        scale, negs, words, skip = 1.0, 0, [], -1
        for j in range(i - 1, max(-1, i - 1 - self._window), -1):
            t = toks[j]
            if t.brk:
                break
            if j == skip:  # the first word of a two-word negator already counted ("no longer")
                continue
            if j > 0 and any(f"{lem} {t.word}" in self._neg for lem in toks[j - 1].lem):
                negs, skip = negs + 1, j - 1
                words.append(t.word)
            elif t.word in self._neg:
                negs += 1
                words.append(t.word)
            for lem in t.lem:
                if lem in self._hedge:
                    scale = min(scale, self._hedge[lem]) if scale < 1.0 else self._hedge[lem]
                    words.append(t.word)
                    break
        if negs % 2:
            scale = -scale * self._w_neg
        prefix = " ".join(reversed(words)) + " " if words else ""
        return scale, prefix

    def _bind(self, toks: list[_Tok], i: int, n: int, objs: dict[int, Any],
              heads: dict[int, tuple[str, int, str | None]], before: int,
              subject_first: bool, subject_only: bool = False) -> tuple[str, int, str | None] | None:
        """The predicate's object: after it, else before it; intransitive predicates look at their subject first."""
        def after() -> tuple[str, int, str | None] | None:
            for j in range(i + n, min(len(toks), i + n + self._window)):
                if toks[j].brk:
                    break
                if j in heads:
                    return heads[j]
            return None

        def prior(width: int, farthest: bool = False) -> tuple[str, int, str | None] | None:
            found = None
            for j in range(i - 1, max(-1, i - 1 - width), -1):
                if toks[j].brk:
                    break
                if farthest and found is not None and toks[j].hits[_PRED] is not None:
                    break  # the subject's noun group ends at the previous verb: "pause lapses, duties return"
                for s, (_, end, _, _) in objs.items():
                    if s <= j < end:
                        if not farthest:
                            return heads[s]
                        found = heads[s]
            return found

        if subject_first:
            # the subject is the head of the noun group, its first object: "talks on tariffs stall" are talks;
            # the noun use binds what follows: "collapse of talks"
            nxt = toks[i + n].word if i + n < len(toks) else ""
            later = after() if not subject_only or nxt in ("of", "in") else None
            return prior(self._subject_window, farthest=True) or later
        return after() or prior(before)

    def _frame(self, toks: list[_Tok], factor: float) -> float:
        """Reporting frames (explainers, analysts, deferrals) damp a field's composed moves."""
        words = {lem for t in toks for lem in t.lem}
        if words & self._frame_words:
            return factor
        low = " " + " ".join(t.word for t in toks) + " "
        return factor if any(f in low for f in self._frame_phrases) else 1.0

    # -- item level ------------------------------------------------------
    def apply(self, c: Classification, title: str, body: str, version: str) -> Classification:
        if not c.categories and not (self._add_categories and "US" in c.actors and "China" in c.actors):
            return Classification(c.categories, c.scores, c.tension, c.cues, c.actors, version)  # the common case
        cues: list[Cue] = []
        cats: set[str] = set()
        tt, tb = self._tokens(title), self._tokens(body)
        st, mt = self._scan_field(tt, self._title_w, cues, cats) if tt else (0.0, False)
        n_title = len(cues)
        sb, mb = self._scan_field(tb, 1.0, cues, cats) if tb else (0.0, False)
        moved = mt or mb
        if not c.categories and not mt:
            return Classification(c.categories, c.scores, c.tension, c.cues, c.actors, version)
        ok, why, both = self._gate.check(tt + [_BREAK] + tb, c.actors, c.categories, moved)
        if not ok:
            gate = Cue(f"relevance: {why} ⇒ no category", None, "neutral", 0.0)
            scores = {k: min(v, 0.49) for k, v in c.scores.items()}
            return Classification((), scores, 0.0, c.cues + (gate,), c.actors, version)
        categories = list(c.categories)
        scores = dict(c.scores)
        # a title move on a named US–China pair adds its object's category: "impose port charges on US vessels"
        if not categories and mt and self._add_categories and both:
            categories = [k for k in CATEGORIES if k in cats]
            for k in categories:
                scores[k] = max(scores.get(k, 0.0), 0.5)
        if not categories:
            return Classification(c.categories, c.scores, c.tension, c.cues, c.actors, version)
        composed = st * self._frame(tt, self._frame_t) + sb * self._frame(tb, self._frame_b)
        tension = c.tension
        if abs(composed) >= self._b_min:
            squashed = composed / (abs(composed) + 1.0)
            signs = {q.direction for q in cues[:n_title]}
            strength = self._b_agree if len(signs) == 1 and st * sb >= 0 else self._b_comp
            pull = strength * squashed
            # (t + pull) / (1 + |pull|) stays strictly inside (-1, 1) and keeps the order of t
            tension = (self._b_learned * c.tension + pull) / (1.0 + abs(pull))
        gate = Cue(f"relevance: {why}", None, "neutral", 0.0)
        return Classification(tuple(k for k in CATEGORIES if k in categories), scores, round4(tension),
                              c.cues + tuple(cues) + (gate,), c.actors, version)


@lru_cache(maxsize=1)
def load_composer() -> Composer:
    return Composer(json.loads(Path(__file__).with_name(COMPOSITION_FILE).read_text(encoding="utf-8")))
