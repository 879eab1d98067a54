"""The learned layer fused into the default engine: weights file, training, bounds, cues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.classifier import CATEGORIES, CLASSIFIER_VERSION, classify, get_engine
from classifier_lab.corpus import CORPUS_DIR, HELD_OUT_PATHS, load_items
from streams.classifier.learned import CUE_PREFIX, OUTPUTS, WEIGHTS_FILE, load_weights
from streams.classifier.rules import RulesEngine

WEIGHTS_PATH = Path(__file__).resolve().parents[4] / "streams" / "classifier" / WEIGHTS_FILE


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
    """What the run time records per item (indices, values) == training's named features, restricted.

    Both through the fused token pass the engine runs and through the
    reference ``encode`` (which ``test_classifier_fast`` ties to the scorer).
    """
    from classifier_lab.features import features
    from streams.classifier.learned import Signals
    from streams.classifier.lexicon import normalize
    from streams.classifier.taxonomy import load_taxonomy
    from tests.unit.streams.classifier.classifier_oracle import encode

    layer = load_weights()
    matcher = load_taxonomy().matcher
    sig = Signals(dict.fromkeys(CATEGORIES, 0.25), 1.0, 0.5, 0.2, 0.8, True, False, True, 0.7)
    for it in _dev_items():
        tt, tb = normalize(it.title).split(), normalize(it.body).split()
        want = {layer.index[n]: v for n, v in features(tt, tb, sig).items() if n in layer.index}
        idx, vals = encode(layer, tt, tb, sig)
        assert dict(zip(idx, vals)) == want, it.id
        found: dict = {}
        matcher.tokens_annotated(normalize(it.title), layer.annotate, found)
        matcher.tokens_annotated(normalize(it.body), layer.annotate, found, True)
        lexical = {i: v for i, v in want.items() if not layer.names[i].startswith("rules.")}
        assert found == lexical, it.id


#: Small enough to train in seconds on a busy 2-core machine, large enough to touch every file
#: and every category; the full retrain is `make weights-check` (docs/classifier.md).
SUBSET = 60


@pytest.fixture(scope="module")
def subset_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights trained in this process on the fixed subset (sklearn is imported once per run)."""
    pytest.importorskip("sklearn")
    from classifier_lab import train

    out = tmp_path_factory.mktemp("weights") / "w.json"
    assert train.main(["--subset", str(SUBSET), "--out", str(out)]) == 0
    return out


def test_training_is_deterministic_across_processes(subset_weights: Path) -> None:
    """A fresh interpreter with another hash seed retrains the same bytes (`--check` passes)."""
    env = {**os.environ, "PYTHONHASHSEED": "4242"}  # this process's seed is random: set order must not leak
    proc = subprocess.run([sys.executable, "-m", "classifier_lab.train", "--subset", str(SUBSET),
                           "--check", str(subset_weights)], capture_output=True, text=True, env=env,
                          cwd=WEIGHTS_PATH.parents[2], timeout=120)
    assert proc.returncode == 0, proc.stderr
    raw = json.loads(subset_weights.read_text(encoding="utf-8"))
    assert raw["n_items"] == SUBSET and raw["checksum"] and raw["weights"]


def test_weights_check_fails_on_a_hand_edit(subset_weights: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from classifier_lab import train

    raw = json.loads(subset_weights.read_text(encoding="utf-8"))
    name = sorted(raw["weights"])[len(raw["weights"]) // 2]
    raw["weights"][name][0] += 0.01  # one weight nudged by hand, file re-serialised canonically
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(raw, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    assert train.main(["--subset", str(SUBSET), "--check", str(edited)]) == 1
    err = capsys.readouterr().err
    assert "weight row(s) differ" in err and "checksum" in err and name in err and "FAILED" in err


def test_weights_check_tolerates_solver_noise_only_in_a_file_training_wrote(subset_weights: Path) -> None:
    """Another BLAS kernel moves lbfgs weights by ~1e-4: equal within tolerance, if the checksum holds."""
    from classifier_lab import train

    text = subset_weights.read_text(encoding="utf-8")
    raw = json.loads(text)
    noisy = {**raw, "bias": [b + 1e-4 for b in raw["bias"]]}
    failures, note = train.compare(train.render(noisy), text)
    assert failures == [] and note.startswith("equal within")
    far = {**raw, "bias": [b + 0.01 for b in raw["bias"]]}
    assert any("bias" in f for f in train.compare(train.render(far), text)[0])
    assert train.compare(text, text) == ([], "byte-identical")


@pytest.mark.parametrize("edit", ["weight", "bias", "whitespace"])
def test_shipped_weights_carry_a_matching_checksum(edit: str) -> None:
    """Any hand edit of the shipped file breaks its checksum; only a retrain writes a valid one."""
    from classifier_lab import train

    text = WEIGHTS_PATH.read_text(encoding="utf-8")
    raw = json.loads(text)
    assert raw["checksum"] == train.checksum(raw) and train.render(raw) == text
    if edit == "weight":
        name = next(iter(sorted(raw["weights"])))
        raw["weights"][name] = [w + 0.5 for w in raw["weights"][name]]
        assert train.checksum(raw) != raw["checksum"]
    elif edit == "bias":
        raw["bias"][0] += 1e-5
        assert train.checksum(raw) != raw["checksum"]
    else:
        assert train.compare(text.replace(",", ", ", 1), text)[0] != []


def test_subset_is_spread_over_every_training_file() -> None:
    from classifier_lab import train

    items, _ = train.training_items()
    picked = train.subset(items, SUBSET)
    assert len(picked) == SUBSET and len({it.id for it in picked}) == SUBSET
    assert {it.id.split("-")[0] for it in picked} == {name.split(".")[0] for name in train.TRAIN_FILES}
    assert train.subset(items, None) == items


def test_training_never_reads_the_held_out_part() -> None:
    from classifier_lab import train

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
