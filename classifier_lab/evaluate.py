"""Quality metrics for classifier output against labelled items.

All functions are pure (labels and predictions in, numbers out) so the CLI,
the target test and the docs figures share one definition of each metric.
Conventions: a category with no gold and no predicted positives scores
precision = recall = F1 = 1 (nothing to find, nothing wrongly found); with
gold positives but no predictions, precision is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .corpus import Item
from streams.classifier.model import CATEGORIES, DIRECTIONS, Classification


@dataclass(frozen=True, slots=True)
class PRF:
    precision: float
    recall: float
    f1: float
    support: int  # gold positives
    predicted: int


@dataclass(frozen=True, slots=True)
class Misclassified:
    id: str
    title: str
    gold_categories: tuple[str, ...]
    predicted_categories: tuple[str, ...]
    gold_direction: str
    predicted_direction: str
    tension: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "gold_categories": list(self.gold_categories),
            "predicted_categories": list(self.predicted_categories),
            "gold_direction": self.gold_direction,
            "predicted_direction": self.predicted_direction,
            "tension": self.tension,
        }


@dataclass(frozen=True, slots=True)
class Report:
    n_items: int
    per_category: dict[str, PRF]
    macro_f1: float
    direction_accuracy: float
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    irrelevant_items: int
    irrelevant_fp_rate: float
    misclassified: list[Misclassified] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "per_category": {
                c: {"precision": m.precision, "recall": m.recall, "f1": m.f1,
                    "support": m.support, "predicted": m.predicted}
                for c, m in self.per_category.items()
            },
            "macro_f1": self.macro_f1,
            "direction_accuracy": self.direction_accuracy,
            "confusion": self.confusion,
            "irrelevant_items": self.irrelevant_items,
            "irrelevant_fp_rate": self.irrelevant_fp_rate,
            "misclassified": [m.to_dict() for m in self.misclassified],
        }


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 with the empty-set conventions of this module."""
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def per_category(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]]) -> dict[str, PRF]:
    """Per-category precision/recall/F1 over parallel gold/pred label sets."""
    _check_parallel(gold, pred)
    out: dict[str, PRF] = {}
    for cat in CATEGORIES:
        tp = sum(1 for g, p in zip(gold, pred) if cat in g and cat in p)
        fp = sum(1 for g, p in zip(gold, pred) if cat not in g and cat in p)
        fn = sum(1 for g, p in zip(gold, pred) if cat in g and cat not in p)
        precision, recall, f1 = prf(tp, fp, fn)
        out[cat] = PRF(precision, recall, f1, tp + fn, tp + fp)
    return out


def macro_f1(metrics: dict[str, PRF]) -> float:
    """Unweighted mean F1 over the five categories."""
    return sum(metrics[c].f1 for c in CATEGORIES) / len(CATEGORIES)


def direction_accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    _check_parallel(gold, pred)
    return sum(1 for g, p in zip(gold, pred) if g == p) / len(gold) if gold else 1.0


def direction_confusion(gold: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts indexed gold direction → predicted direction."""
    _check_parallel(gold, pred)
    table = {g: dict.fromkeys(DIRECTIONS, 0) for g in DIRECTIONS}
    for g, p in zip(gold, pred):
        table[g][p] += 1
    return table


def irrelevant_fp_rate(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]]) -> tuple[int, float]:
    """(number of irrelevant items, share of them given any category)."""
    _check_parallel(gold, pred)
    flagged = [bool(p) for g, p in zip(gold, pred) if not g]
    return len(flagged), (sum(flagged) / len(flagged) if flagged else 0.0)


def evaluate(items: Sequence[Item], results: Sequence[Classification]) -> Report:
    """Full report for labelled ``items`` and their parallel ``results``."""
    _check_parallel(items, results)
    if any(not it.labelled for it in items):
        raise ValueError("evaluate() needs labelled items")
    gold_c = [it.categories or frozenset() for it in items]
    pred_c = [frozenset(r.categories) for r in results]
    gold_d = [it.direction or "neutral" for it in items]
    pred_d = [r.direction for r in results]
    metrics = per_category(gold_c, pred_c)
    n_irr, fp_rate = irrelevant_fp_rate(gold_c, pred_c)
    wrong = [
        Misclassified(it.id, it.title, _ordered(gc), _ordered(pc), gd, pd, r.tension)
        for it, r, gc, pc, gd, pd in zip(items, results, gold_c, pred_c, gold_d, pred_d)
        if gc != pc or gd != pd
    ]
    return Report(
        n_items=len(items),
        per_category=metrics,
        macro_f1=macro_f1(metrics),
        direction_accuracy=direction_accuracy(gold_d, pred_d),
        confusion=direction_confusion(gold_d, pred_d),
        irrelevant_items=n_irr,
        irrelevant_fp_rate=fp_rate,
        misclassified=wrong,
    )


def _ordered(cats: frozenset[str]) -> tuple[str, ...]:
    return tuple(c for c in CATEGORIES if c in cats)


def _check_parallel(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} gold vs {len(b)} predicted")
