"""Fast path of the learned layer: ``decide(*encode(...))`` with less work per item.

Why a second path: ``encode`` + ``decide`` (kept as the readable reference)
cost ~2× the whole lexicon scan, mostly in per-item churn: an index list and
a value list, an ``itemgetter`` per item, a ``map(mul, ...)`` per output and
again per cue.  Here each feature's weights for the 8 outputs sit in one row
tuple; an item costs a list of (row, value) pairs and one pass of eight
running sums kept in locals, written as plain typed loops because setup.py
compiles this module with mypyc (where they become C loops over doubles).

Exactness: the reference sums ``v_i * w_i`` with the builtin ``sum`` in
feature order (title features in order of first mention, then body-only
ones, then the ``rules.*`` features); on CPython 3.11 that is plain
left-to-right double addition.  This path forms the very same products and
adds them in the very same order, so every logit — and hence every score,
tension and cue — is bit-identical (a unit test compares the two paths).
A token spelled like a ``rules.*`` feature name is no word at all
(``learned.word``), so lexical and dense features never merge.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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
    dense_values,
)
from .lexicon import FIELD_BODY, FIELD_BOTH, FIELD_TITLE
from .model import intern_cue, round4

if TYPE_CHECKING:
    from .learned import LearnedLayer

Row = tuple[float, ...]
N_OUTPUTS = len(CATEGORIES) + 3  # category logits, then escalation, de-escalation, neutral


class FastScorer:
    """Precomputed per-feature contribution rows of one :class:`LearnedLayer`."""

    def __init__(self, layer: LearnedLayer) -> None:
        self._layer = layer
        cols = layer.columns
        if len(cols) != N_OUTPUTS:  # _decide keeps one local sum per output
            raise ValueError(f"the fast path expects {N_OUTPUTS} outputs, the weights have {len(cols)}")
        # Each row: the feature's weight for every output, then its idf (0 for
        # rules.* features), which the text model's category outputs use.
        ones: list[Row] = [(*(col[i] for col in cols), layer.idf[i]) for i in range(len(layer.names))]
        self._r1 = ones
        # Dense (rules.*) features the weights know, in ``dense_features`` order.
        self._dense: list[tuple[int, int]] = [
            (pos, layer.index[name]) for pos, name in enumerate(DENSE_NAMES) if name in layer.index
        ]
        self._cue_names = [CUE_PREFIX + name for name in layer.names]

    def run(self, title_toks: list[str], body_toks: list[str], sig: Signals
            ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Same result as ``layer.decide(*layer.encode(...), sig)``, float for float."""
        layer = self._layer
        memo = layer._tokens
        found: dict[Any, Any] = {}  # feature index → value, as ``tokens_annotated`` fills it
        for toks, in_body in ((title_toks, False), (body_toks, True)):
            follow: dict[str, int] | None = None
            for raw in toks:
                w, uni, nxt = memo.get(raw) or layer._token(raw)
                if follow is not None:
                    bi = follow.get(w)
                else:
                    bi = None
                for i in ((uni,) if bi is None else (uni, bi)):
                    if i < 0:
                        continue
                    if not in_body:
                        found[i] = FIELD_TITLE
                    elif i not in found:
                        found[i] = FIELD_BODY
                    elif found[i] is FIELD_TITLE:
                        found[i] = FIELD_BOTH
                follow = nxt
        return self.score(found, sig)

    def score(self, found: dict[Any, Any], sig: Signals
              ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """Decide from the item's feature values (index → 2 title, 1 body, 3 both).

        ``found`` is in the reference's order: title features in order of
        first mention, then body-only ones.  The indices are typed ``Any`` on
        purpose: compiled, an ``int`` key is unboxed and boxed again (a new
        object above 256) at every use; as objects they pass along untouched.
        """
        # Feature rows in the reference's order with their values, then the
        # non-zero rules.* features.  ``value * weight`` is formed where it is
        # summed, exactly the product the reference computes.
        r1 = self._r1
        rows: list[Row] = []
        vals: list[float] = []
        idx: list[Any] = []
        for i, v in found.items():
            rows.append(r1[i])
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
            rows.append(r1[j])
            vals.append(x)
            idx.append(j)
        return self._decide(rows, vals, idx, sig)

    def _decide(self, rows: list[Row], vals: list[float], idx: list[Any], sig: Signals
                ) -> tuple[dict[str, float], tuple[str, ...], float, list[Cue]]:
        """``LearnedLayer.decide`` over the item's contribution rows (same arithmetic).

        Each logit is the bias plus the contributions summed one by one in row
        order, which is what the builtin ``sum`` does for floats on the
        reference path (CPython 3.11: plain left-to-right double addition).
        """
        layer = self._layer
        # Running sums in locals (unboxed doubles once compiled); a list of
        # sums would box a new float on every addition.  Category outputs are
        # the text model's: idf·w over the words, and the squared norm; the
        # direction outputs weigh each feature by its value.
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = nsq = 0.0
        for j in range(len(rows)):
            row = rows[j]
            v = vals[j]
            d = row[8]
            s0 += d * row[0]
            s1 += d * row[1]
            s2 += d * row[2]
            s3 += d * row[3]
            s4 += d * row[4]
            nsq += d * d
            s5 += v * row[5]
            s6 += v * row[6]
            s7 += v * row[7]
        cat_sums = [s0, s1, s2, s3, s4]
        norm = math.sqrt(nsq)
        scores: dict[str, float] = {}
        chosen: list[str] = []
        cues: list[Cue] = []
        beta = layer.category_rules_share
        bias = layer.bias
        for k, cat in enumerate(CATEGORIES):
            z = bias[k] + cat_sums[k] / norm if norm else bias[k]
            if z >= 0:  # _sigmoid inlined (same arithmetic)
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
                    cues.extend(self._top(rows, vals, k, idx, cat, NEUTRAL, norm))
        if not chosen:
            return scores, (), 0.0, cues
        n = len(CATEGORIES)
        tension = layer.tension_of(bias[n] + s5, bias[n + 1] + s6, bias[n + 2] + s7, sig)
        if tension > 0:
            cues.extend(self._top(rows, vals, n, idx, None, ESCALATION))
        elif tension < 0:
            cues.extend(self._top(rows, vals, n + 1, idx, None, DEESCALATION))
        return scores, tuple(chosen), tension, cues

    def _top(self, rows: list[Row], vals: list[float], k: int, idx: list[Any], category: str | None,
             direction: str, norm: float = 0.0) -> list[Cue]:
        """``LearnedLayer._top`` for ``TOP_CUES`` = 2 in one pass over output ``k``, no sort.

        The two largest contributions (with multiplicity) are the first two of
        the reference's descending stable sort: the first occurrence of the
        maximum, then the first occurrence of the runner-up (a tie with the
        maximum takes its next occurrence), so the cues are identical.
        """
        if TOP_CUES != 2:  # specialised below; the reference handles any count
            contrib = ([row[8] * row[k] / norm for row in rows] if norm
                       else [v * row[k] for v, row in zip(vals, rows)])
            return self._layer._top(contrib, idx, category, direction)
        j1 = j2 = -1
        v1 = v2 = 0.0
        for j in range(len(rows)):
            row = rows[j]
            v = row[8] * row[k] / norm if norm else vals[j] * row[k]
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
