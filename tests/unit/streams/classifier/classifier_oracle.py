"""Reference scorer of the learned layer: the oracle the production path is checked against.

Why it lives in the tests: the product has one scorer (``LearnedLayer.score``,
fed by the fused token pass of ``PhraseMatcher.tokens_annotated``), written
for speed — typed loops, eight running sums, indices collected while the
lexicon scans.  This module computes the same decision the plain way, from
the issue-17 definition: two token passes (``RulesEngine.evidence``), the
named features restricted to the ones the weights know (:func:`encode`), then
per output a sum of products with the builtin ``sum`` and a sort for the cues
(:func:`decide`).  ``test_classifier_fast.py`` requires both to agree float
for float; nothing in ``streams/`` imports this file.
"""

from __future__ import annotations

import math
from functools import lru_cache
from operator import itemgetter, mul

from classifier_lab.features import dense_features
from streams.classifier.engines import ComposedEngine
from streams.classifier.learned import CUE_PREFIX, N_OUTPUTS, TOP_CUES, WEIGHTS_FILE, LearnedLayer, Signals
from streams.classifier.model import (
    CATEGORIES,
    DEESCALATION,
    ESCALATION,
    NEUTRAL,
    Classification,
    Cue,
    clamp_unit,
    round4,
)
from streams.classifier.rules import RulesEngine
from streams.classifier.taxonomy import read_packaged_json

_N_CAT = len(CATEGORIES)
_DIR_OUTPUTS = (_N_CAT, _N_CAT + 1, _N_CAT + 2)  # escalation, de-escalation, neutral


@lru_cache(maxsize=1)
def _columns() -> tuple[tuple[list[float], ...], tuple[float, ...]]:
    """The shipped weights read straight from the file: one list per output, and the idf per feature.

    Not from the ``LearnedLayer``'s own records, so that the oracle does not
    share the production path's parsing; feature index = position in the file.
    """
    raw = read_packaged_json(WEIGHTS_FILE, "learned weights")
    table = raw["weights"]
    cols = tuple([float(w[k]) for w in table.values()] for k in range(N_OUTPUTS))
    return cols, tuple(float(raw["idf"].get(name, 0.0)) for name in table)


def encode(layer: LearnedLayer, title_toks: list[str], body_toks: list[str], sig: Signals
           ) -> tuple[list[int], list[float]]:
    """Known feature indices and values of one item, in order: title features, body-only ones, rules.*."""
    fields: list[dict[int, float]] = []
    for toks, value in ((title_toks, 2.0), (body_toks, 1.0)):
        found: dict[int, float] = {}
        follow: dict[str, int] | None = None
        for raw in toks:
            w, uni, nxt = layer.annotate(raw)
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
    for name, x in dense_features(sig).items():
        j = layer.index.get(name)
        if j is not None:
            acc[j] = acc.get(j, 0.0) + x
    return list(acc), list(acc.values())


def decide(layer: LearnedLayer, idx: list[int], vals: list[float], sig: Signals
           ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
    """(category scores, chosen categories, tension, learned cues), computed the plain way."""
    columns, idf_all = _columns()
    assert len(idf_all) == len(layer.names), "the oracle scores the shipped weights only"
    if len(idx) == 1:  # itemgetter of one index returns a bare value: pad
        idx, vals = [idx[0], idx[0]], [vals[0], 0.0]
    get = itemgetter(*idx) if idx else None
    scores: dict[str, float] = {}
    chosen: list[str] = []
    cues: list[Cue] = []
    beta = layer.category_rules_share
    bias = layer.bias
    idf = list(get(idf_all)) if get else []
    if len(idx) == 2 and idx[0] == idx[1]:
        idf[1] = 0.0  # the padding above must not count twice
    norm = math.sqrt(sum([d * d for d in idf]))
    for k, cat in enumerate(CATEGORIES):
        text = list(map(mul, idf, get(columns[k]))) if get else []
        z = bias[k] + sum(text) / norm if norm else bias[k]
        p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        if beta:
            p = beta * sig.scores[cat] + (1.0 - beta) * p
        scores[cat] = round4(p)
        if scores[cat] >= 0.5:
            chosen.append(cat)
            if norm:
                cues.extend(_top(layer, [t / norm for t in text], idx, cat, NEUTRAL))
    if not chosen:
        return scores, (), 0.0, cues
    contribs = [list(map(mul, vals, get(columns[k]))) if get else [] for k in _DIR_OUTPUTS]
    z_out = [bias[k] + sum(c) for k, c in zip(_DIR_OUTPUTS, contribs)]
    tension = layer.tension_of(z_out[0], z_out[1], z_out[2], sig)
    if tension > 0:
        cues.extend(_top(layer, contribs[0], idx, None, ESCALATION))
    elif tension < 0:
        cues.extend(_top(layer, contribs[1], idx, None, DEESCALATION))
    return scores, tuple(chosen), tension, cues


def _top(layer: LearnedLayer, contrib: list[float], idx: list[int], category: str | None,
         direction: str) -> list[Cue]:
    """The features that pushed an output up the most, by a descending stable sort (ties: first seen)."""
    order = sorted(range(len(contrib)), key=lambda j: -contrib[j])
    return [Cue(CUE_PREFIX + layer.names[idx[j]], category, direction, round4(contrib[j]))
            for j in order[:TOP_CUES] if contrib[j] > 0]


def reference_learned(engine: RulesEngine, title: str, body: str = "") -> Classification:
    """Lexicon + learned layer (the default engine before composition), the plain way."""
    layer = engine._learned
    assert layer is not None, "the reference needs an engine with a learned layer"
    toks_t, toks_b, actors, sig, cues = engine.evidence(title, body)
    scores, chosen, tension, l_cues = decide(layer, *encode(layer, toks_t, toks_b, sig), sig)
    return Classification(chosen, scores, clamp_unit(tension), cues + tuple(l_cues), actors, engine.version)


def reference_classify(engine: ComposedEngine, title: str, body: str = "") -> Classification:
    """The default engine, the plain way: the learned reference, then the same composition."""
    inner = engine.inner
    assert isinstance(inner, RulesEngine)
    return engine.composer.apply(reference_learned(inner, title, body), title, body, engine.version)
