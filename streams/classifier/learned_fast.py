"""Fast path of the learned layer: ``decide(*encode(...))`` with less work per item.

Why a second path: ``encode`` + ``decide`` (kept as the readable reference)
cost ~2× the whole lexicon scan, mostly in per-item churn: an index list and
a value list, an ``itemgetter`` per item, a ``map(mul, ...)`` per output and
again per cue.  Here every feature's contribution to the 8 outputs is
*precomputed* as a row tuple for each value a lexical feature can take
(title 2, body 1, both 3; ``v * w`` is the very product the reference
computes), so an item costs one list of row tuples, one ``zip(*rows)`` and
one C-level ``sum`` per needed output.

Exactness: the reference sums ``v_i * w_i`` with the builtin ``sum`` in
feature order (title features in order of first mention, then body-only
ones, then the ``rules.*`` features).  This path sums the very same floats
in the very same order with the same builtin, so every logit — and hence
every score, tension and cue — is bit-identical.  The one case where the
orders could differ (a token spelled like a ``rules.*`` feature name, whose
value then merges with the dense one) is sent to the reference path.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .learned import (
    CATEGORIES,
    DEESCALATION,
    ESCALATION,
    NEUTRAL,
    CUE_PREFIX,
    DENSE_NAMES,
    TOP_CUES,
    Cue,
    Signals,
    _cue,
    dense_values,
)

if TYPE_CHECKING:
    from .learned import LearnedLayer

Row = tuple[float, ...]


class FastScorer:
    """Precomputed per-feature contribution rows of one :class:`LearnedLayer`."""

    def __init__(self, layer: LearnedLayer) -> None:
        self._layer = layer
        cols = layer.columns
        ones: list[Row] = [tuple(col[i] for col in cols) for i in range(len(layer.names))]
        self._r1 = ones
        self._r2: list[Row] = [tuple(2.0 * w for w in r) for r in ones]
        self._r3: list[Row] = [tuple(3.0 * w for w in r) for r in ones]
        # Dense (rules.*) features the weights know, in ``dense_features`` order.
        self._dense: list[tuple[int, int]] = [
            (pos, layer.index[name]) for pos, name in enumerate(DENSE_NAMES) if name in layer.index
        ]
        self._dense_idx: list[int] = [j for _, j in self._dense]
        self._dense_set = frozenset(self._dense_idx)
        self._cue_names = [CUE_PREFIX + name for name in layer.names]
        self._r1get = ones.__getitem__
        self._r2get = self._r2.__getitem__
        if TOP_CUES != 2:  # _top below is specialised; the reference handles any count
            self._top = layer._top  # type: ignore[method-assign]

    def run(self, title_toks: list[str], body_toks: list[str], sig: Signals
            ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Same result as ``layer.decide(*layer.encode(...), sig)``, float for float."""
        layer = self._layer
        memo = layer._tokens
        fields: list[dict[int, None]] = []
        for toks in (title_toks, body_toks):
            found: dict[int, None] = {}  # ordered set of feature indices
            follow: dict[str, int] | None = None
            for raw in toks:
                w, uni, nxt = memo.get(raw) or layer._token(raw)
                if uni >= 0:
                    found[uni] = None
                if follow is not None:
                    bi = follow.get(w)
                    if bi is not None:
                        found[bi] = None
                follow = nxt
            fields.append(found)
        return self.score(fields[0], fields[1], title_toks, body_toks, sig)

    def score(self, title: dict[int, None], body: dict[int, None], title_toks: list[str],
              body_toks: list[str], sig: Signals
              ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Decide from the per-field feature indices (ordered sets, first mention first)."""
        layer = self._layer
        dense_set = self._dense_set
        if not (dense_set.isdisjoint(title) and dense_set.isdisjoint(body)):
            idx, vals = layer.encode(title_toks, body_toks, sig)  # "rules.tension" as a word
            return layer.decide(idx, vals, sig)
        r1 = self._r1
        # Rows in the reference's order, with C-level map/list calls: title
        # features (value 2, or 3 when also in the body), then body-only ones.
        tl = list(title)
        rows = list(map(self._r2get, tl))
        if body:
            both = title.keys() & body.keys()
            if both:
                r3 = self._r3
                body = body.copy()
                for i in both:
                    rows[tl.index(i)] = r3[i]
                    del body[i]
            bl = list(body)
            rows += map(self._r1get, bl)
        else:
            bl = []
        values = dense_values(sig)
        dense: list[int] = []  # rules.* features with a non-zero value, in order
        for pos, j in self._dense:
            x = values[pos]
            # A zero value contributes ±0.0 to every sum: it changes no logit
            # (at most the sign of a zero partial sum, which the bias then
            # absorbs) and is never a cue (cues need a positive contribution).
            if x == 0.0:
                continue
            dense.append(j)
            rows.append(r1[j] if x == 1.0 else tuple(map(x.__mul__, r1[j])))
        cols = list(zip(*rows)) if rows else [()] * len(self._layer.bias)
        return self._decide(cols, tl, bl, dense, sig)

    def _decide(self, cols: list[Row], title: list[int], body: list[int], dense: list[int],
                sig: Signals) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """``LearnedLayer.decide`` over precomputed contribution columns (same arithmetic)."""
        layer = self._layer
        scores: dict[str, float] = {}
        chosen: list[str] = []
        cues: list[Cue] = []
        beta = layer.category_rules_share
        bias = layer.bias
        idx: list[int] | None = None
        exp = math.exp
        for k, cat in enumerate(CATEGORIES):
            z = bias[k] + sum(cols[k])
            if z >= 0:  # _sigmoid inlined (same arithmetic)
                p = 1.0 / (1.0 + exp(-z))
            else:
                ez = exp(z)
                p = ez / (1.0 + ez)
            if beta:
                p = beta * sig.scores[cat] + (1.0 - beta) * p
            score = scores[cat] = round(p, 4)
            if score >= 0.5:
                chosen.append(cat)
                if idx is None:
                    idx = title + body + dense
                cues.extend(self._top(cols[k], idx, cat, NEUTRAL))
        if not chosen:
            return scores, (), 0.0, cues
        n = len(CATEGORIES)
        z = [bias[n] + sum(cols[n]), bias[n + 1] + sum(cols[n + 1]), bias[n + 2] + sum(cols[n + 2])]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        tension = (e[0] - e[1]) / (e[0] + e[1] + e[2])
        alpha = layer.tension_rules_share
        if alpha:
            tension = alpha * sig.rules_tension() + (1.0 - alpha) * tension
        if layer.hedge_share and sig.hedge < 1.0:
            tension *= 1.0 - layer.hedge_share * (1.0 - sig.hedge)
        if idx is None:
            idx = title + body + dense
        if tension > 0:
            cues.extend(self._top(cols[n], idx, None, ESCALATION))
        elif tension < 0:
            cues.extend(self._top(cols[n + 1], idx, None, DEESCALATION))
        return scores, tuple(chosen), tension, cues

    def _top(self, contrib: Row, idx: list[int], category: str | None, direction: str
             ) -> list[Cue]:
        """``LearnedLayer._top`` for ``TOP_CUES`` = 2 with two C-level ``max`` calls, no sort.

        The two largest values of ``contrib`` (with multiplicity) are the first
        two of the reference's descending sort; positions are found the same
        way (a tie takes the next occurrence), so the cues are identical.
        """
        if not contrib:
            return []
        v1 = max(contrib)
        if v1 <= 0:
            return []
        j1 = contrib.index(v1)
        names = self._cue_names
        out = [_cue(names[idx[j1]], category, direction, round(v1, 4))]
        rest = contrib[:j1] + contrib[j1 + 1:]
        if rest:
            v2 = max(rest)
            if v2 > 0:
                j2 = contrib.index(v2, j1 + 1) if v2 == v1 else contrib.index(v2)
                out.append(_cue(names[idx[j2]], category, direction, round(v2, 4)))
        return out
