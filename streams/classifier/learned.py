"""Learned layer of the default engine: linear models over n-grams + rules signals.

Why: the lexicon rules explain themselves but miss constructions no phrase
list anticipates (verbless moves such as "25% levy … unveiled", "lifts its
counter-duty to 84%", court rulings, stance carried by the verb of saying),
and look-alikes that slip through when a country is named.  A linear model
is only a sum of per-feature weights, so it can be scored in pure Python at
the cost of one dict lookup per unigram/bigram — the same order of cost as
the lexicon lookups — with no scikit-learn at run time.

The weights are trained offline (``python -m streams.classifier.train``,
deterministic, development corpus only) and shipped as ``weights.v1.json``.
Features are, per item:

* lexical: the cleaned, lower-cased unigrams and bigrams of the title and of
  the body (a number becomes ``#``); value 2 for the title, 1 for the body,
  summed when in both;
* ``rules.*``: the rules engine's own evidence for the same item (category
  scores, escalation/de-escalation/neutral sums, tension, framing damp,
  actor/context/look-alike flags).

Outputs: one logistic model per category (assigned at p ≥ 0.5) and a 3-way
softmax for direction; tension = P(escalation) − P(de-escalation), so it
lies in [−1, 1] by construction.  The same :func:`features` function defines
the features for training; :meth:`LearnedLayer.encode` is its allocation-free
run-time twin (a unit test checks they agree on the corpus).
"""

from __future__ import annotations

import math
from operator import itemgetter, mul
from functools import lru_cache
from typing import Any

from .errors import TaxonomyError
from .taxonomy import read_packaged_json
from .lexicon import clean_word
from .model import CATEGORIES, DEESCALATION, ESCALATION, NEUTRAL, Cue, intern_cue, round4

WEIGHTS_FILE = "weights.v1.json"
#: Output order of the weight vectors: five category logits, then direction.
OUTPUTS: tuple[str, ...] = (*CATEGORIES, ESCALATION, DEESCALATION, NEUTRAL)
_N_CAT = len(CATEGORIES)
#: Learned cues per assigned category / per direction (explanations, see docs).
TOP_CUES = 2
CUE_PREFIX = "learned:"
_DIR_OUTPUTS = (_N_CAT, _N_CAT + 1, _N_CAT + 2)  # escalation, de-escalation, neutral
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


def dense_features(sig: Signals) -> dict[str, float]:
    """The rules engine's evidence as ``rules.*`` features (bounded values)."""
    return dict(zip(DENSE_NAMES, dense_values(sig)))


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


def lexical_features(title_toks: list[str], body_toks: list[str]) -> dict[str, float]:
    """Unigrams and bigrams of each field; title presence 2, body presence 1."""
    feats: dict[str, float] = {}
    for toks, value in ((title_toks, 2.0), (body_toks, 1.0)):
        seen: set[str] = set()
        prev = ""
        for raw in toks:
            w = _WORDS.get(raw) or word(raw)
            if not w:
                prev = ""
                continue
            if w not in seen:
                seen.add(w)
                feats[w] = feats.get(w, 0.0) + value
            if prev:
                bigram = prev + " " + w
                if bigram not in seen:
                    seen.add(bigram)
                    feats[bigram] = feats.get(bigram, 0.0) + value
            prev = w
    return feats


def features(title_toks: list[str], body_toks: list[str], sig: Signals) -> dict[str, float]:
    """All features of one item (training and run time share this function)."""
    feats = lexical_features(title_toks, body_toks)
    feats.update(dense_features(sig))
    return feats


class LearnedLayer:
    """Scores feature dicts with exported linear weights; immutable, thread-safe."""

    def __init__(self, raw: dict[str, Any]) -> None:
        try:
            if tuple(raw["outputs"]) != OUTPUTS:
                raise TaxonomyError(f"weights outputs must be {OUTPUTS}")
            self.version: str = str(raw["version"])
            self.digest: str = str(raw["digest"])
            self.bias: tuple[float, ...] = tuple(float(b) for b in raw["bias"])
            table: dict[str, list[float]] = raw["weights"]
            config = raw.get("config", {})
            # Shares of the rules engine's own tension / category scores in
            # the final figures (chosen by cross-validation, see train.py).
            self.tension_rules_share = float(config.get("tension_rules_share", 0.0))
            self.category_rules_share = float(config.get("category_rules_share", 0.0))
            # How much hedging ("may", "is weighing") shrinks the learned
            # tension: the probabilities say *which* way, hedges say how firmly.
            self.hedge_share = float(config.get("hedge_share", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaxonomyError(f"weights file is missing or mistypes {exc}") from exc
        if len(self.bias) != len(OUTPUTS) or any(len(w) != len(OUTPUTS) for w in table.values()):
            raise TaxonomyError("every weight vector must have one entry per output")
        self.names: tuple[str, ...] = tuple(table)
        # Text model (weights 2.x): the category outputs read the words only,
        # idf-weighted and unit-normalised; rules.* features have idf 0.
        idf_table: dict[str, float] = raw.get("idf", {})
        self.idf: tuple[float, ...] = tuple(float(idf_table.get(n, 0.0)) for n in self.names)
        self.index: dict[str, int] = {f: i for i, f in enumerate(table)}
        self._bigrams: dict[str, dict[str, int]] = {}
        for i, name in enumerate(self.names):
            if " " in name:
                first, second = name.split(" ", 1)
                self._bigrams.setdefault(first, {})[second] = i
        self._tokens: dict[str, tuple[str, int, dict[str, int] | None]] = {}
        # Column-major: one list per output, so scoring is len(OUTPUTS) C-level sums.
        self.columns: tuple[list[float], ...] = tuple(
            [float(w[k]) for w in table.values()] for k in range(len(OUTPUTS))
        )
        self._fast = FastScorer(self)

    def encode(self, title_toks: list[str], body_toks: list[str], sig: Signals
               ) -> tuple[list[int], list[float]]:
        """Known feature indices and values of one item — the run-time twin of :func:`features`.

        Hot path: one memoised lookup per raw token gives its unigram index
        and the table of bigrams it can start, so no feature string is built.
        Same values as ``features`` restricted to the known features
        (a unit test checks it on the corpus).
        """
        memo = self._tokens
        fields: list[dict[int, float]] = []
        for toks, value in ((title_toks, 2.0), (body_toks, 1.0)):
            # Per field, a dict keyed by feature index dedups for free; an
            # empty word has index -1 and no bigram table, so it also cuts
            # the bigram chain (as ``lexical_features`` does).
            found: dict[int, float] = {}
            follow: dict[str, int] | None = None
            for raw in toks:
                w, uni, nxt = memo.get(raw) or self._token(raw)
                if uni >= 0:
                    found[uni] = value
                if follow is not None:
                    bi = follow.get(w)
                    if bi is not None:
                        found[bi] = value
                follow = nxt
            fields.append(found)
        acc, body = fields
        for i in body:
            acc[i] = acc.get(i, 0.0) + 1.0
        index = self.index
        for name, x in dense_features(sig).items():
            j = index.get(name)
            if j is not None:
                acc[j] = acc.get(j, 0.0) + x
        return list(acc), list(acc.values())

    def _token(self, raw: str) -> tuple[str, int, dict[str, int] | None]:
        """(feature word, unigram index or -1, bigrams it starts) of a raw token, memoised."""
        if len(self._tokens) >= _MEMO_MAX:
            self._tokens.clear()
        w = word(raw)
        info = (w, self.index.get(w, -1), self._bigrams.get(w)) if w else ("", -1, None)
        self._tokens[raw] = info
        return info

    def annotate(self, raw: str) -> tuple[str, int, dict[str, int] | None]:
        """(feature word, unigram index or -1, bigrams it starts) of a raw token (unmemoised)."""
        w = word(raw)
        return (w, self.index.get(w, -1), self._bigrams.get(w)) if w else ("", -1, None)

    def run(self, title_toks: list[str], body_toks: list[str], sig: Signals
            ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """``decide(*encode(...))`` in one go, on the fast path (see ``learned_fast``)."""
        return self._fast.run(title_toks, body_toks, sig)

    def run_found(self, found: dict[Any, Any], title_toks: list[str], body_toks: list[str],
                  sig: Signals) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """``run`` when the feature values were already collected (the matcher's fused pass)."""
        return self._fast.score(found, sig)

    def decide(self, idx: list[int], vals: list[float], sig: Signals
               ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """(category scores, chosen categories, tension, learned cues) for one item.

        The reference path (with ``encode``): ``run`` must give exactly the
        same result, float for float (a unit test checks it).
        """
        if len(idx) == 1:  # itemgetter of one index returns a bare value: pad
            idx, vals = [idx[0], idx[0]], [vals[0], 0.0]
        get = itemgetter(*idx) if idx else None
        scores: dict[str, float] = {}
        chosen: list[str] = []
        cues: list[Cue] = []
        beta = self.category_rules_share
        columns = self.columns
        bias = self.bias
        # Text model: words present (either field), idf-weighted, unit length;
        # products idf·w summed in feature order, then divided by the norm.
        idf = list(get(self.idf)) if get else []
        if len(idx) == 2 and idx[0] == idx[1]:
            idf[1] = 0.0  # the padding above must not count twice
        norm = math.sqrt(sum([d * d for d in idf]))
        for k, cat in enumerate(CATEGORIES):
            text = list(map(mul, idf, get(columns[k]))) if get else []
            z = bias[k] + sum(text) / norm if norm else bias[k]
            p = _sigmoid(z)
            if beta:
                p = beta * sig.scores[cat] + (1.0 - beta) * p
            scores[cat] = round4(p)
            if scores[cat] >= 0.5:
                chosen.append(cat)
                if norm:  # contributions recomputed only for assigned categories
                    cues.extend(self._top([t / norm for t in text], idx, cat, NEUTRAL))
        if not chosen:
            return scores, (), 0.0, cues  # irrelevant news is neutral by definition
        contribs = [list(map(mul, vals, get(columns[k]))) if get else [] for k in _DIR_OUTPUTS]
        z = [bias[k] + sum(c) for k, c in zip(_DIR_OUTPUTS, contribs)]
        tension = self.tension_of(z[0], z[1], z[2], sig)
        if tension > 0:
            cues.extend(self._top(contribs[0], idx, None, ESCALATION))
        elif tension < 0:
            cues.extend(self._top(contribs[1], idx, None, DEESCALATION))
        return scores, tuple(chosen), tension, cues

    def tension_of(self, z_esc: float, z_de: float, z_neu: float, sig: Signals) -> float:
        """Tension from the direction logits: P(esc) − P(de-esc), blended and hedged.

        Shared by the reference and the fast path, so both do this arithmetic
        the same way.
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

    def _top(self, contrib: list[float], idx: list[int], category: str | None,
             direction: str) -> list[Cue]:
        """The features that pushed an output up the most, as cues (ties: first seen)."""
        names = self.names
        out: list[Cue] = []
        prev_j, prev_v = -1, 0.0
        for value in sorted(contrib, reverse=True)[:TOP_CUES]:  # C-level sort, no key calls
            if value <= 0:
                break
            j = contrib.index(value, prev_j + 1) if value == prev_v else contrib.index(value)
            prev_j, prev_v = j, value
            out.append(intern_cue(CUE_PREFIX + names[idx[j]], category, direction, round4(value)))
        return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@lru_cache(maxsize=None)
def load_weights(name: str = WEIGHTS_FILE) -> LearnedLayer:
    """Parse a packaged weights file once per process."""
    return LearnedLayer(read_packaged_json(name, "learned weights"))


from .learned_fast import FastScorer  # noqa: E402  (needs the names above)
