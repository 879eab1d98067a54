"""Evaluation metrics on a tiny hand-made set, checked against hand arithmetic."""

from __future__ import annotations

import pytest

from streams.classifier import Classification
from classifier_lab.corpus import Item
from classifier_lab.evaluate import (
    direction_accuracy,
    direction_confusion,
    evaluate,
    irrelevant_fp_rate,
    macro_f1,
    per_category,
    prf,
)

F = frozenset


def test_prf_arithmetic() -> None:
    assert prf(2, 1, 1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 0, 3) == (0.0, 0.0, 0.0)
    assert prf(3, 0, 0) == (1.0, 1.0, 1.0)


def test_per_category_and_macro() -> None:
    gold = [F({"tariffs"}), F({"tariffs", "visas"}), F(), F({"visas"})]
    pred = [F({"tariffs"}), F({"tariffs"}), F({"visas"}), F({"visas"})]
    m = per_category(gold, pred)
    assert (m["tariffs"].precision, m["tariffs"].recall) == (1.0, 1.0)
    assert m["visas"].precision == pytest.approx(0.5)
    assert m["visas"].recall == pytest.approx(0.5)
    assert m["visas"].support == 2 and m["visas"].predicted == 2
    # three categories absent from both gold and predictions count as perfect
    assert macro_f1(m) == pytest.approx((1.0 + 0.5 + 3 * 1.0) / 5)


def test_direction_metrics() -> None:
    gold = ["escalation", "neutral", "deescalation", "neutral"]
    pred = ["escalation", "escalation", "deescalation", "neutral"]
    assert direction_accuracy(gold, pred) == 0.75
    table = direction_confusion(gold, pred)
    assert table["neutral"]["escalation"] == 1 and table["escalation"]["escalation"] == 1
    assert sum(sum(row.values()) for row in table.values()) == 4


def test_irrelevant_false_positive_rate() -> None:
    gold = [F(), F(), F(), F({"tariffs"})]
    pred = [F({"visas"}), F(), F(), F()]
    assert irrelevant_fp_rate(gold, pred) == (3, pytest.approx(1 / 3))


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        per_category([F()], [])


def _cls(cats: tuple[str, ...], tension: float) -> Classification:
    return Classification(cats, {}, tension, (), (), "test")


def test_evaluate_lists_misclassified_items() -> None:
    items = [
        Item("a", "t1", "", {}, F({"tariffs"}), "escalation"),
        Item("b", "t2", "", {}, F(), "neutral"),
        Item("c", "t3", "", {}, F({"visas"}), "deescalation"),
    ]
    results = [_cls(("tariffs",), 0.8), _cls(("visas",), 0.0), _cls(("visas",), 0.05)]
    report = evaluate(items, results)
    assert [m.id for m in report.misclassified] == ["b", "c"]
    assert report.direction_accuracy == pytest.approx(2 / 3)
    assert report.irrelevant_items == 1 and report.irrelevant_fp_rate == 1.0
    assert report.to_dict()["misclassified"][1]["predicted_direction"] == "neutral"
