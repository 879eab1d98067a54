"""Learned layer of the default engine: linear models over n-grams + lexicon signals.

Why: the lexicon rules explain themselves but miss constructions no phrase
list anticipates (verbless moves such as "25% levy … unveiled", "lifts its
counter-duty to 84%", court rulings, stance carried by the verb of saying),
and look-alikes that slip through when a country is named.  A linear model
is only a sum of per-feature weights, so it is scored in plain typed Python
(compiled by mypyc, see setup.py) at the cost of one dict lookup per token —
no scikit-learn at run time.

The weights are trained offline (``python -m classifier_lab.train``,
deterministic, development corpus only) and shipped as ``weights.v1.json``.
Features are, per item:

* lexical: the cleaned, lower-cased unigrams and bigrams (:func:`word`) of the
  title and of the body (a number becomes ``#``); value 2 for the title, 1 for
  the body, summed (3) when in both.  The run time never builds their names:
  the lexicon's token pass looks each raw token up once (:meth:`LearnedLayer.annotate`,
  memoised by ``PhraseMatcher.tokens_annotated``) and records feature indices;
* ``rules.*`` (:data:`DENSE_NAMES`, :func:`dense_values`): the lexicon's own
  evidence for the same item (category scores, escalation/de-escalation/neutral
  sums, tension, framing damp, actor/context/look-alike flags).

Outputs: one logistic model per category (assigned at p ≥ 0.5) and a 3-way
softmax for direction; tension = P(escalation) − P(de-escalation), so it
lies in [−1, 1] by construction.  This module is the only scorer of the
product.  The named features that training fits (``classifier_lab.train``)
and a plain reference scorer (``tests/unit/streams/classifier/classifier_oracle.py``) live
outside the runtime; unit tests check that both agree with this path float
for float.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from .errors import TaxonomyError
from .lexicon import clean_word
from .model import CATEGORIES, DEESCALATION, ESCALATION, NEUTRAL, Cue, intern_cue, round4
from .taxonomy import read_packaged_json

WEIGHTS_FILE = "weights.v1.json"
#: Output order of the weight vectors: five category logits, then direction.
OUTPUTS: tuple[str, ...] = (*CATEGORIES, ESCALATION, DEESCALATION, NEUTRAL)
N_OUTPUTS = len(OUTPUTS)
#: Learned cues per assigned category / per direction (explanations, see docs).
TOP_CUES = 2
CUE_PREFIX = "learned:"
_MEMO_MAX = 200_000
_EDGE = "$€£#*+~^<>|\"'`"


class Signals:
    """What the rules engine measured for one item (inputs of the learned layer).

    A plain class with ``__slots__``: compiled by mypyc it is a native
    class, so reading a field is a struct access (a ``NamedTuple`` field
    went through a generic attribute lookup, a dozen per item).
    """

    __slots__ = ("scores", "esc", "de", "neu", "damp", "actors", "context", "lookalike", "hedge")

    def __init__(self, scores: dict[str, float], esc: float, de: float, neu: float, damp: float,
                 actors: bool, context: bool, lookalike: bool, hedge: float = 1.0) -> None:
        self.scores = scores
        self.esc = esc  # escalation weight after framing
        self.de = de
        self.neu = neu
        self.damp = damp  # framing damp in (0, 1]; 1 = no framing
        self.actors = actors
        self.context = context
        self.lookalike = lookalike
        self.hedge = hedge  # direction weight kept after hedging, in (0, 1]

    def rules_tension(self) -> float:
        """The rules engine's own (ungated) tension; same formula as ``rules.tension``."""
        return (self.esc - self.de) / (self.esc + self.de + self.neu + 0.6)


DENSE_PREFIX = "rules."
#: Names of the ``rules.*`` features, in the order ``dense_values`` returns them.
DENSE_NAMES: tuple[str, ...] = (
    *(f"rules.score.{c}" for c in CATEGORIES), "rules.tension", "rules.esc", "rules.de",
    "rules.neu", "rules.frame", "rules.actor", "rules.context", "rules.lookalike", "rules.nocat",
)


def dense_values(sig: Signals) -> list[float]:
    """Values of the ``DENSE_NAMES`` features (a list: no names built per item)."""
    esc, de, neu = sig.esc, sig.de, sig.neu
    scores = sig.scores
    values = [scores[c] for c in CATEGORIES]
    values += (
        (esc - de) / (esc + de + neu + 0.6),  # == sig.rules_tension()
        esc / (esc + 1.0),
        de / (de + 1.0),
        neu / (neu + 1.0),
        1.0 - sig.damp,
        1.0 if sig.actors else 0.0,
        1.0 if sig.context else 0.0,
        1.0 if sig.lookalike else 0.0,
    )
    none_chosen = 1.0
    for v in scores.values():  # a loop, not any(genexpr): cheaper compiled
        if v >= 0.5:
            none_chosen = 0.0
            break
    values.append(none_chosen)
    return values


_WORDS: dict[str, str] = {}


def word(raw: str) -> str:
    """Feature form of a raw token (memoised): cleaned, numbers folded to ``#``."""
    w = _WORDS.get(raw)
    if w is None:
        if len(_WORDS) >= _MEMO_MAX:
            _WORDS.clear()
        w = clean_word(raw).strip(_EDGE)
        if w and (w[0].isdigit() or w[-1].isdigit()):
            w = "#"
        elif w.startswith(DENSE_PREFIX):
            w = ""  # a word spelled like a rules.* feature must not collide with it
        _WORDS[raw] = w
    return w


class _Weights:
    """One feature's weights, ready to sum; compiled, a native class whose fields are C doubles.

    Why not a tuple: reading a float out of a tuple is a bounds check and an
    unboxing per weight, nine per feature per item; a native field is one
    load.  ``t0`` … ``t4`` are idf × the category weights and ``tsq`` idf²:
    the text model reads presence only, so these products are the same for
    every item and are formed once, here — the very doubles the reference
    scorer forms per item.  ``e``, ``d``, ``n`` are the direction weights
    (escalation, de-escalation, neutral), multiplied by the item's value.
    """

    __slots__ = ("t0", "t1", "t2", "t3", "t4", "tsq", "e", "d", "n")

    def __init__(self, w: list[float], idf: float) -> None:
        self.t0 = idf * w[0]
        self.t1 = idf * w[1]
        self.t2 = idf * w[2]
        self.t3 = idf * w[3]
        self.t4 = idf * w[4]
        self.tsq = idf * idf
        self.e = w[5]
        self.d = w[6]
        self.n = w[7]

    def text(self, k: int) -> float:
        """Category ``k``'s term (idf × weight)."""
        if k == 0:
            return self.t0
        if k == 1:
            return self.t1
        if k == 2:
            return self.t2
        if k == 3:
            return self.t3
        return self.t4


class LearnedLayer:
    """Exported linear weights and their scorer; immutable after construction, thread-safe."""

    def __init__(self, raw: dict[str, Any]) -> None:
        try:
            if tuple(raw["outputs"]) != OUTPUTS:
                raise TaxonomyError(f"weights outputs must be {OUTPUTS}")
            self.version: str = str(raw["version"])
            self.digest: str = str(raw["digest"])
            self.bias: tuple[float, ...] = tuple(float(b) for b in raw["bias"])
            table: dict[str, list[float]] = raw["weights"]
            config = raw.get("config", {})
            # Shares of the lexicon's own tension / category scores in
            # the final figures (chosen by cross-validation, see classifier_lab.train).
            self.tension_rules_share = float(config.get("tension_rules_share", 0.0))
            self.category_rules_share = float(config.get("category_rules_share", 0.0))
            # How much hedging ("may", "is weighing") shrinks the learned
            # tension: the probabilities say *which* way, hedges say how firmly.
            self.hedge_share = float(config.get("hedge_share", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaxonomyError(f"weights file is missing or mistypes {exc}") from exc
        if len(self.bias) != N_OUTPUTS or any(len(w) != N_OUTPUTS for w in table.values()):
            raise TaxonomyError("every weight vector must have one entry per output")
        self.names: tuple[str, ...] = tuple(table)
        # Text model (weights 2.x): the category outputs read the words only,
        # idf-weighted and unit-normalised; rules.* features have idf 0.
        idf_table: dict[str, float] = raw.get("idf", {})
        self.index: dict[str, int] = {f: i for i, f in enumerate(table)}
        self._bigrams: dict[str, dict[str, int]] = {}
        for i, name in enumerate(self.names):
            if " " in name:
                first, second = name.split(" ", 1)
                self._bigrams.setdefault(first, {})[second] = i
        # One record per feature, in index order.  An item is scored by one
        # pass over its features' records with nine running sums (_decide).
        self._w: list[_Weights] = [_Weights([float(x) for x in w], float(idf_table.get(name, 0.0)))
                                   for name, w in table.items()]
        # Dense (rules.*) features the weights know, in ``dense_values`` order.
        self._dense: list[tuple[int, int]] = [
            (pos, self.index[name]) for pos, name in enumerate(DENSE_NAMES) if name in self.index
        ]
        self._cue_names = [CUE_PREFIX + name for name in self.names]

    def annotate(self, raw: str) -> tuple[str, int, dict[str, int] | None]:
        """(feature word, unigram index or -1, {next word: bigram index} or None) of a raw token.

        Unmemoised: ``PhraseMatcher.tokens_annotated`` memoises it with the
        token's lexicon analysis, so the hot loop costs one lookup per token.
        """
        w = word(raw)
        return (w, self.index.get(w, -1), self._bigrams.get(w)) if w else ("", -1, None)

    def score(self, found: dict[Any, Any], sig: Signals
              ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Decide from the item's feature values (index → 2 title, 1 body, 3 both).

        ``found`` is filled by ``PhraseMatcher.tokens_annotated``: title
        features in order of first mention, then body-only ones.  The
        indices are typed ``Any`` on purpose: compiled, an ``int`` key is unboxed and boxed again (a new
        object above 256) at every use; as objects they pass along untouched.
        """
        # The item's features in the reference's order with their values, then
        # the non-zero rules.* features.
        weights = self._w
        ws: list[_Weights] = []
        vals: list[float] = []
        idx: list[Any] = []
        for i, v in found.items():
            ws.append(weights[i])
            vals.append(v)
            idx.append(i)
        values = dense_values(sig)
        for pos, j in self._dense:
            x = values[pos]
            # A zero value contributes ±0.0 to every sum: it changes no logit
            # (at most the sign of a zero partial sum, which the bias then
            # absorbs) and is never a cue (cues need a positive contribution).
            if x == 0.0:
                continue
            ws.append(weights[j])
            vals.append(x)
            idx.append(j)
        return self._decide(ws, vals, idx, sig)

    def _decide(self, ws: list[_Weights], vals: list[float], idx: list[Any], sig: Signals
                ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Scores, chosen categories, tension and learned cues from the item's features.

        Each logit is the bias plus the contributions summed one by one in
        feature order — the arithmetic of the reference scorer
        (tests/unit/streams/classifier/classifier_oracle.py), which sums with the builtin ``sum``
        (CPython 3.11: plain left-to-right double addition), so both agree bit
        for bit.
        """
        # Running sums in locals (unboxed doubles once compiled); a list of
        # sums would box a new float on every addition.  Category outputs are
        # the text model's: idf·w over the words, and the squared norm; the
        # direction outputs weigh each feature by its value.
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = nsq = 0.0
        for j in range(len(ws)):
            w = ws[j]
            v = vals[j]
            s0 += w.t0
            s1 += w.t1
            s2 += w.t2
            s3 += w.t3
            s4 += w.t4
            nsq += w.tsq
            s5 += v * w.e
            s6 += v * w.d
            s7 += v * w.n
        cat_sums = [s0, s1, s2, s3, s4]
        norm = math.sqrt(nsq)
        scores: dict[str, float] = {}
        chosen: list[str] = []
        cues: list[Cue] = []
        beta = self.category_rules_share
        bias = self.bias
        for k, cat in enumerate(CATEGORIES):
            z = bias[k] + cat_sums[k] / norm if norm else bias[k]
            if z >= 0:  # the logistic function, the reference's arithmetic
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                ez = math.exp(z)
                p = ez / (1.0 + ez)
            if beta:
                p = beta * sig.scores[cat] + (1.0 - beta) * p
            score = scores[cat] = round4(p)
            if score >= 0.5:
                chosen.append(cat)
                if norm:
                    cues.extend(self._top(ws, vals, k, idx, cat, NEUTRAL, norm))
        if not chosen:
            return scores, (), 0.0, cues
        n = len(CATEGORIES)
        tension = self.tension_of(bias[n] + s5, bias[n + 1] + s6, bias[n + 2] + s7, sig)
        if tension > 0:
            cues.extend(self._top(ws, vals, n, idx, None, ESCALATION))
        elif tension < 0:
            cues.extend(self._top(ws, vals, n + 1, idx, None, DEESCALATION))
        return scores, tuple(chosen), tension, cues

    def _top(self, ws: list[_Weights], vals: list[float], k: int, idx: list[Any], category: str | None,
             direction: str, norm: float = 0.0) -> list[Cue]:
        """The (``TOP_CUES`` =) 2 features that pushed output ``k`` up the most, as cues.

        Output ``k``: a category (its text terms over ``norm``), else
        escalation or de-escalation (value × weight).  One pass, no sort: the
        first occurrence of the maximum, then the first occurrence of the
        runner-up (a tie with the maximum takes its next occurrence) — the
        first two of a descending stable sort, as the reference scorer takes them.
        """
        j1 = j2 = -1
        v1 = v2 = 0.0
        esc = k == len(CATEGORIES)
        for j in range(len(ws)):
            w = ws[j]
            if norm:
                v = w.text(k) / norm
            else:
                v = vals[j] * (w.e if esc else w.d)
            if j1 < 0 or v > v1:
                if j1 >= 0:
                    v2, j2 = v1, j1
                v1, j1 = v, j
            elif j2 < 0 or v > v2:
                v2, j2 = v, j
        if j1 < 0 or v1 <= 0:
            return []
        names = self._cue_names
        out = [intern_cue(names[idx[j1]], category, direction, round4(v1))]
        if j2 >= 0 and v2 > 0:
            out.append(intern_cue(names[idx[j2]], category, direction, round4(v2)))
        return out

    def tension_of(self, z_esc: float, z_de: float, z_neu: float, sig: Signals) -> float:
        """Tension from the direction logits: P(esc) − P(de-esc), blended and hedged.

        Public so that the reference scorer (tests/unit/streams/classifier/classifier_oracle.py)
        does this arithmetic exactly the same way.
        """
        top = max(z_esc, z_de, z_neu)
        e_esc = math.exp(z_esc - top)
        e_de = math.exp(z_de - top)
        e_neu = math.exp(z_neu - top)
        tension = (e_esc - e_de) / (e_esc + e_de + e_neu)
        alpha = self.tension_rules_share
        if alpha:
            tension = alpha * sig.rules_tension() + (1.0 - alpha) * tension
        if self.hedge_share and sig.hedge < 1.0:
            tension *= 1.0 - self.hedge_share * (1.0 - sig.hedge)
        return tension


@lru_cache(maxsize=None)
def load_weights(name: str = WEIGHTS_FILE) -> LearnedLayer:
    """Parse a packaged weights file once per process."""
    return LearnedLayer(read_packaged_json(name, "learned weights"))
