"""The learned layer fused into the default engine: weights file, training, bounds, cues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.classifier import CATEGORIES, CLASSIFIER_VERSION, classify, get_engine
from streams.classifier.corpus import CORPUS_DIR, HELD_OUT_PATHS, load_items
from streams.classifier.learned import CUE_PREFIX, OUTPUTS, WEIGHTS_FILE, load_weights
from streams.classifier.rules import RulesEngine

WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "streams" / "classifier" / WEIGHTS_FILE


def _dev_items():
    return load_items(CORPUS_DIR / "dev.jsonl")[:120] + load_items(CORPUS_DIR / "dev2.jsonl")[:30]


def test_weights_file_loads_and_names_its_outputs() -> None:
    raw = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert raw["outputs"] == list(OUTPUTS)
    for held_out in HELD_OUT_PATHS:
        assert held_out.name not in raw["trained_on"]
    layer = load_weights()
    assert len(layer.names) == len(raw["weights"]) > 100
    assert layer.digest in CLASSIFIER_VERSION and get_engine("rules").version == CLASSIFIER_VERSION


def test_run_time_encoding_matches_training_features() -> None:
    """``LearnedLayer.encode`` (hot path) and ``features`` (training) must agree exactly."""
    from streams.classifier.learned import Signals, features
    from streams.classifier.lexicon import normalize

    layer = load_weights()
    sig = Signals(dict.fromkeys(CATEGORIES, 0.25), 1.0, 0.5, 0.2, 0.8, True, False, True, 0.7)
    for it in _dev_items():
        tt, tb = normalize(it.title).split(), normalize(it.body).split()
        idx, vals = layer.encode(tt, tb, sig)
        want = {layer.index[n]: v for n, v in features(tt, tb, sig).items() if n in layer.index}
        assert dict(zip(idx, vals)) == want, it.id


def test_training_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from streams.classifier import train

    out = tmp_path / "w.json"
    assert train.main(["--out", str(out)]) == 0
    assert out.read_bytes() == WEIGHTS_PATH.read_bytes(), "shipped weights are stale: re-run train"


def test_training_never_reads_the_held_out_part() -> None:
    from streams.classifier import train

    assert all("test" not in name for name in train.TRAIN_FILES)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("US imposes new tariffs and bans chip exports " * 30, "retaliation escalates " * 30),
        ("truce extended, tariffs lifted, deal agreed " * 30, ""),
        ("", ""),
        ("Visa card payments volume rises", "Cardholders spent more."),
    ],
)
def test_scores_and_tension_are_bounded(title: str, body: str) -> None:
    c = classify(title, body)
    assert -1.0 <= c.tension <= 1.0
    assert all(0.0 <= c.scores[cat] <= 1.0 for cat in CATEGORIES)
    assert (not c.categories) <= (c.tension == 0.0)


def test_learned_cues_explain_decisions() -> None:
    c = classify("China lifts ban on gallium exports to the United States",
                 "Officials said licences will be granted.")
    assert c.direction == "deescalation"
    learned = [cue for cue in c.cues if cue.phrase.startswith(CUE_PREFIX)]
    for cat in c.categories:
        assert any(cue.category == cat and cue.weight > 0 for cue in learned), cat
    assert any(cue.direction == "deescalation" for cue in learned)
    # the rules cues stay first and unprefixed
    assert not c.cues[0].phrase.startswith(CUE_PREFIX)


def test_learned_engine_agrees_with_itself_and_lexicon_engine_is_kept() -> None:
    rules = get_engine("rules")
    lexicon = get_engine("lexicon")
    assert isinstance(lexicon, RulesEngine) and lexicon.version != rules.version
    for it in _dev_items()[:40]:
        a = rules.classify(it.title, it.body)
        assert a == rules.classify(it.title, it.body)
        assert a.actors == lexicon.classify(it.title, it.body).actors
