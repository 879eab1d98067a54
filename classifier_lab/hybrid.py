"""Hybrid engine: rules and ml scores averaged, rules cues kept for explanation.

Why: the two engines make different mistakes (the rules miss unseen
phrasings, the learned model misses rare constructions such as negation), so
blending their confidences can beat both; the measured figures decide
whether it is worth its cost (it is as slow as the ml engine).
"""

from __future__ import annotations

from streams.classifier.engines import Engine
from streams.classifier.model import CATEGORIES, Classification, clamp_unit

RULES_SHARE = 0.5


class HybridEngine:
    name = "hybrid"

    def __init__(self, rules: Engine, ml: Engine) -> None:
        self._rules = rules
        self._ml = ml
        self.version = f"hybrid-{rules.version}+{ml.version}"

    def classify(self, title: str, body: str = "") -> Classification:
        r = self._rules.classify(title, body)
        m = self._ml.classify(title, body)
        scores = {
            c: clamp_unit(RULES_SHARE * r.scores[c] + (1 - RULES_SHARE) * m.scores[c], 0.0)
            for c in CATEGORIES
        }
        chosen = tuple(c for c in CATEGORIES if scores[c] >= 0.5)
        tension = RULES_SHARE * r.tension + (1 - RULES_SHARE) * m.tension
        if not chosen:
            tension = 0.0
        return Classification(
            categories=chosen,
            scores=scores,
            tension=clamp_unit(tension),
            cues=r.cues + m.cues,
            actors=r.actors,
            version=self.version,
        )
