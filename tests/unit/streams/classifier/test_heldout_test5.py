"""The issue-17 held-out part ``seeds/corpus/test5.jsonl`` is frozen and has the mix the issue asks for.

Why a checksum: the part was written before any classifier change of issue 17
and is only ever scored (``bench/quality.py --part test5``); an edit after
seeing scores would turn it into a tuning set.  Changing the file therefore
means changing ``FROZEN_SHA256`` here, visibly, in review.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from classifier_lab.corpus import CORPUS_DIR, HELD_OUT_PATHS, load_items

TEST5 = CORPUS_DIR / "test5.jsonl"
FROZEN_SHA256 = "1d7d2500a191640c2f9e196cfda6f6f126dbda172f39c2e9166a01206ca6af10"
#: The kinds of wording issue 17 lists, each needing >= 30 items.
ISSUE_KINDS = ("reversal", "breakdown", "enforcement", "admin", "retaliation")
OTHER_KINDS = ("negative", "plain_move", "neutral_report", "hedge_negation", "mixed")
STYLES = ("wire", "market", "official", "oped", "translated")


@pytest.fixture(scope="module")
def items():
    return load_items(TEST5)


def test_file_is_frozen() -> None:
    assert hashlib.sha256(TEST5.read_bytes()).hexdigest() == FROZEN_SHA256


def test_is_a_held_out_part_training_refuses() -> None:
    assert TEST5 in HELD_OUT_PATHS


def test_size_ids_and_labels(items) -> None:
    assert len(items) >= 250
    assert len({it.id for it in items}) == len(items)
    assert all(it.labelled and it.title.strip() and it.body.strip() for it in items)


@pytest.mark.parametrize("kind", ISSUE_KINDS)
def test_each_issue_kind_has_30_items(items, kind: str) -> None:
    assert Counter(it.raw["kind"] for it in items)[kind] >= 30


def test_every_item_has_a_known_kind_and_style(items) -> None:
    assert {it.raw["kind"] for it in items} <= set(ISSUE_KINDS + OTHER_KINDS)
    styles = Counter(it.raw["style"] for it in items)
    assert set(styles) == set(STYLES) and min(styles.values()) >= 15


def test_hard_negatives_are_irrelevant_and_neutral(items) -> None:
    neg = [it for it in items if it.raw["kind"] == "negative"]
    assert len(neg) >= 40
    assert all(it.categories == frozenset() and it.direction == "neutral" for it in neg)
    # every other kind is about US-China economic relations, so it has a category
    assert all(it.categories for it in items if it.raw["kind"] != "negative")


@pytest.mark.parametrize("other", sorted(p.name for p in CORPUS_DIR.glob("*.jsonl") if p.name != TEST5.name))
def test_no_text_shared_with_another_corpus_file(items, other: str) -> None:
    """Fresh text: no title or body of test5 appears in any other corpus part."""
    theirs = {s.strip().lower() for it in load_items(CORPUS_DIR / other) for s in (it.title, it.body)}
    ours = {s.strip().lower() for it in items for s in (it.title, it.body)}
    assert not ours & theirs


def test_direction_mix(items) -> None:
    dirs = Counter(it.direction for it in items)
    assert min(dirs.values()) >= 0.15 * len(items)


def _quality_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_quality", CORPUS_DIR.parents[1] / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("cats_right", "dir_right"), [(True, True), (True, False), (False, True), (False, False)])
def test_by_kind_counts_categories_direction_and_both(items, cats_right: bool, dir_right: bool) -> None:
    """bench/quality.py's per-kind figures, on predictions built to be right or wrong in each part."""
    from streams.classifier.model import Classification

    quality = _quality_module()
    sample = [it for it in items if it.categories][:12]
    preds = []
    for it in sample:
        cats = tuple(sorted(it.categories)) if cats_right else ("visas",) if "visas" not in it.categories else ()
        want = {"escalation": 0.9, "deescalation": -0.9, "neutral": 0.0}[it.direction]
        tension = want if dir_right else (-0.9 if it.direction != "deescalation" else 0.9)
        preds.append(Classification(cats, {}, tension, (), (), "t"))
    kinds = quality.by_kind(sample, preds)
    assert sum(v["items"] for v in kinds.values()) == len(sample)
    for v in kinds.values():
        assert v["categories"] == float(cats_right) and v["direction"] == float(dir_right)
        assert v["right"] == float(cats_right and dir_right)
