"""Quality targets of issue 4 on the held-out corpus parts, each alone and together.

The held-out part is ``test.jsonl`` (written with the first development part)
plus ``test2.jsonl`` to ``test4.jsonl`` (written later, blind: their authors
read only docs/corpus.md).  Neither is read by tuning or training.  Runs in `make test`;
skipped only when a file is absent.

Known misses are strict xfails listed in ``MISSES``: a miss that starts to
pass turns the test red, so the list can only shrink on purpose.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streams.classifier import DEFAULT_ENGINE, get_engine
from streams.classifier.corpus import HELD_OUT_PATHS, load_items
from streams.classifier.evaluate import Report, evaluate

PARTS: dict[str, tuple[str, ...]] = {
    "test": ("test.jsonl",),
    "test2": ("test2.jsonl",),
    "test3": ("test3.jsonl",),
    "test4": ("test4.jsonl",),
    "held-out": tuple(p.name for p in HELD_OUT_PATHS),
}
#: (part, target) pairs the default engine does not meet yet (docs/classifier.md).
MISSES: frozenset[tuple[str, str]] = frozenset()  # none since weights 2.0.0
TARGETS: dict[str, Callable[[Report], bool]] = {
    "macro_f1": lambda r: r.macro_f1 >= 0.90,
    "direction": lambda r: r.direction_accuracy >= 0.85,
    "irrelevant_fp": lambda r: r.irrelevant_items > 0 and r.irrelevant_fp_rate <= 0.05,
}
_cache: dict[str, Report] = {}


def _report(part: str) -> Report:
    if part not in _cache:
        paths = [p for p in HELD_OUT_PATHS if p.name in PARTS[part]]
        missing = [p for p in paths if not p.exists()]
        if missing:
            pytest.skip(f"held-out corpus {missing} is absent")
        items = [it for p in paths for it in load_items(p)]
        engine = get_engine(DEFAULT_ENGINE)
        _cache[part] = evaluate(items, [engine.classify(it.title, it.body) for it in items])
    return _cache[part]


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("part", sorted(PARTS))
def test_target(part: str, target: str, request: pytest.FixtureRequest) -> None:
    if (part, target) in MISSES:
        request.applymarker(pytest.mark.xfail(
            strict=True, reason=f"issue 4 open: {target} below target on {part}; strict, so meeting "
                                "it turns this red until the entry leaves MISSES"))
    report = _report(part)
    assert TARGETS[target](report), (
        f"{part}: macro-F1 {report.macro_f1:.3f}, direction {report.direction_accuracy:.3f}, "
        f"irrelevant FP {report.irrelevant_fp_rate:.3f}")
