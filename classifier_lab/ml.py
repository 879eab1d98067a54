"""Learned engine: TF-IDF + logistic regression, trained on the dev corpus.

It exists to measure the rules engine against a data-driven baseline (and to
feed the hybrid).  scikit-learn is imported lazily so that the default rules
engine runs without the ``ml`` extra.  Training is deterministic (fixed
``random_state``, deterministic solvers) and happens once per process on first
use; the dev part is small enough that this takes well under a second.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.classifier import get_engine
from streams.classifier.errors import EngineUnavailableError
from streams.classifier.lexicon import normalize
from streams.classifier.model import CATEGORIES, DEESCALATION, ESCALATION, NEUTRAL, Classification, Cue, clamp_unit

from .corpus import DEV_PATH, CorpusError, Item, load_items

log = logging.getLogger(__name__)
ML_VERSION = "1.0.0"
_SEED = 13
_TOP_CUES = 3


def _text(title: str, body: str) -> str:
    # Title repeated: the cheapest way to weight it above the body in a bag of words.
    return f"{normalize(title)} {normalize(title)} {normalize(body)}"


class MLEngine:
    """One-vs-rest logistic regression per category plus a 3-way direction model."""

    name = "ml"

    def __init__(self, train_path: Path = DEV_PATH) -> None:
        self._path = train_path
        self._lock = threading.Lock()
        self._model: dict[str, Any] | None = None
        self.version = f"ml-{ML_VERSION}"

    # -- training ---------------------------------------------------------

    def _ensure_trained(self) -> dict[str, Any]:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._train()
        return self._model

    def _train(self) -> dict[str, Any]:
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
        except ImportError as exc:  # pragma: no cover - depends on installed extras
            raise EngineUnavailableError("the ml engine needs the 'ml' extra (scikit-learn)") from exc
        try:
            items = load_items(self._path)
        except (OSError, CorpusError) as exc:
            raise EngineUnavailableError(f"cannot load training corpus {self._path}: {exc}") from exc
        return train_models(items, TfidfVectorizer, LogisticRegression, self._path)

    # -- inference --------------------------------------------------------

    def classify(self, title: str, body: str = "") -> Classification:
        model = self._ensure_trained()
        vec = model["vectorizer"].transform([_text(title, body)])
        scores: dict[str, float] = {}
        chosen: list[str] = []
        cues: list[Cue] = []
        for cat in CATEGORIES:
            clf = model["categories"][cat]
            prob = float(clf.predict_proba(vec)[0, 1]) if clf is not None else 0.0
            scores[cat] = clamp_unit(prob, 0.0)
            if prob >= 0.5:
                chosen.append(cat)
                cues.extend(_top_features(vec, clf.coef_[0], model["features"], cat, NEUTRAL))
        dclf = model["direction"]
        probs = dict(zip(dclf.classes_, dclf.predict_proba(vec)[0]))
        tension = float(probs.get(ESCALATION, 0.0) - probs.get(DEESCALATION, 0.0))
        if not chosen:
            tension = 0.0  # same gate as the rules engine: irrelevant items are neutral
        for direction in (ESCALATION, DEESCALATION):
            if direction in dclf.classes_ and probs[direction] >= 0.34:
                row = list(dclf.classes_).index(direction)
                cues.extend(_top_features(vec, dclf.coef_[row], model["features"], None, direction))
        return Classification(
            categories=tuple(chosen),
            scores=scores,
            tension=clamp_unit(tension),
            cues=tuple(cues),
            actors=get_engine("lexicon").classify(title, body).actors,  # the same actors as every engine
            version=model["version"],
        )


def train_models(items: Sequence[Item], vectorizer_cls: Any, logreg_cls: Any,
                 path: Path) -> dict[str, Any]:
    """Fit the vectoriser, one classifier per category and the direction model."""
    texts = [_text(it.title, it.body) for it in items]
    vectorizer = vectorizer_cls(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    categories: dict[str, Any] = {}
    for cat in CATEGORIES:
        y = [int(cat in (it.categories or ())) for it in items]
        if len(set(y)) < 2:
            categories[cat] = None
            continue
        clf = logreg_cls(C=10.0, class_weight="balanced", solver="liblinear", random_state=_SEED)
        categories[cat] = clf.fit(matrix, y)
    directions = [it.direction or NEUTRAL for it in items]
    dclf = logreg_cls(C=10.0, class_weight="balanced", solver="lbfgs", max_iter=2000,
                      random_state=_SEED)
    dclf.fit(matrix, directions)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    log.info("trained ml classifier on %d items from %s (%s)", len(items), path, digest)
    return {
        "vectorizer": vectorizer,
        "features": vectorizer.get_feature_names_out(),
        "categories": categories,
        "direction": dclf,
        "version": f"ml-{ML_VERSION}+{digest}",
    }


def _top_features(vec: Any, coef: Any, features: Any, category: str | None,
                  direction: str) -> list[Cue]:
    """Explain a decision by the present n-grams with the largest contribution."""
    row = vec.tocoo()
    contrib = sorted(
        ((float(v * coef[j]), int(j)) for j, v in zip(row.col, row.data)), reverse=True
    )
    return [
        Cue(str(features[j]), category, direction, round(c, 4))
        for c, j in contrib[:_TOP_CUES]
        if c > 0
    ]
