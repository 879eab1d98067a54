"""Quality targets of issue 4 on the held-out corpus part (seeds/corpus/test.jsonl).

Runs in `make test`; skipped only when the corpus file is absent.
"""

from __future__ import annotations

import pytest

from streams.classifier import DEFAULT_ENGINE, get_engine
from streams.classifier.corpus import TEST_PATH, load_items
from streams.classifier.evaluate import evaluate


@pytest.fixture(scope="module")
def report():
    if not TEST_PATH.exists():
        pytest.skip(f"held-out corpus {TEST_PATH} is absent")
    items = load_items(TEST_PATH)
    engine = get_engine(DEFAULT_ENGINE)
    return evaluate(items, [engine.classify(it.title, it.body) for it in items])


def test_macro_f1_target(report) -> None:
    assert report.macro_f1 >= 0.90


@pytest.mark.xfail(strict=True, reason="issue 4 open: default engine below target on the held-out part "
                   "(see docs/classifier.md); strict, so meeting the target turns this red until the mark goes")
def test_direction_accuracy_target(report) -> None:
    assert report.direction_accuracy >= 0.85


@pytest.mark.xfail(strict=True, reason="issue 4 open: default engine below target on the held-out part "
                   "(see docs/classifier.md); strict, so meeting the target turns this red until the mark goes")
def test_irrelevant_false_positive_target(report) -> None:
    assert report.irrelevant_items > 0
    assert report.irrelevant_fp_rate <= 0.05
