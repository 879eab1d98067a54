"""Train the learned layer offline and export ``weights.v1.json``.

Run: ``python -m classifier_lab.train`` (needs the ``ml`` extra), or with
``--cv`` to print k-fold cross-validation figures on the development data for
every configuration of the grid and every engine.

``--check`` retrains into memory and compares with the shipped file
(``make weights-check``): it fails on stale weights and on a hand-edited file
(see :func:`compare` for what "equal" means across BLAS kernels).
A full retrain takes minutes, so it is an explicit command, not part of
``make test``; the unit tests train on a small ``--subset`` instead and check
the file's ``checksum`` field, which any hand edit breaks.

Why a script and a shipped file: the default engine must not need
scikit-learn, must not retrain at start-up, and must give the Faust agent and
``tension classify`` bit-identical results.  Training is deterministic (fixed
file order, sorted features, lbfgs, no random state involved) so anyone can
re-run it and get the same bytes.

Only development data is read: ``seeds/corpus/dev.jsonl`` to ``dev5.jsonl``.
Every held-out file (``corpus.HELD_OUT_PATHS``) is refused outright.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streams.classifier
from streams.classifier.learned import OUTPUTS, WEIGHTS_FILE, LearnedLayer
from streams.classifier.model import CATEGORIES, DEESCALATION, ESCALATION, NEUTRAL
from streams.classifier.rules import RulesEngine

from .corpus import CORPUS_DIR, HELD_OUT_PATHS, Item, load_items
from .evaluate import Report, evaluate
from .features import item_features

TRAIN_FILES: tuple[str, ...] = ("dev.jsonl", "dev2.jsonl", "dev3.jsonl", "dev4.jsonl", "dev5.jsonl")
WEIGHTS_VERSION = "2.0.0"  # 2: category logits from the text model (tf-idf of words only)
#: Chosen by 5-fold cross-validation on the development data (``--cv``).
CONFIG: dict[str, Any] = {"C_cat": 3.0, "C_dir": 3.0, "dense_scale": 10.0, "min_df": 2, "C_text": 3.0,
                          "dir_balanced": False, "tension_rules_share": 0.0,
                          "category_rules_share": 0.5, "hedge_share": 0.5}
GRID: tuple[dict[str, Any], ...] = tuple(
    {"C_cat": cc, "C_dir": cd, "dense_scale": ds, "min_df": 2, "dir_balanced": False}
    for cc in (3.0, 10.0) for cd in (1.0, 3.0) for ds in (3.0, 10.0)
)
#: Post-hoc blends tried for every fitted configuration (no refit needed).
BLENDS: tuple[tuple[float, float], ...] = tuple(
    (a, b) for a in (0.0, 0.3, 0.5) for b in (0.0, 0.3, 0.5)
)
FOLDS = 5
_DIRECTIONS = (ESCALATION, DEESCALATION, NEUTRAL)
_ROUND = 5
#: The shipped weights: a data file of the runtime package, written only by training.
SHIPPED_WEIGHTS = Path(streams.classifier.__file__).with_name(WEIGHTS_FILE)


def training_items(corpus_dir: Path = CORPUS_DIR) -> tuple[list[Item], str]:
    """Development items in a fixed order, plus a digest of the files read."""
    items: list[Item] = []
    h = hashlib.sha256()
    for name in TRAIN_FILES:
        path = corpus_dir / name
        if any(path.resolve() == p.resolve() for p in HELD_OUT_PATHS):  # never train on held-out data
            raise ValueError("refusing to train on the held-out test part")
        if not path.exists():
            continue
        h.update(name.encode() + b"\0" + path.read_bytes())
        items.extend(load_items(path))
    return items, h.hexdigest()


def subset(items: list[Item], n: int | None) -> list[Item]:
    """``n`` items evenly spaced over the fixed training order (every file represented); all if None."""
    if n is None or n >= len(items):
        return items
    if n < 1:
        raise ValueError("a training subset needs at least one item")
    return [items[(i * len(items)) // n] for i in range(n)]


def checksum(weights: dict[str, Any]) -> str:
    """SHA-256 of the weights file's content without its own ``checksum`` field."""
    body = {k: v for k, v in weights.items() if k != "checksum"}
    return hashlib.sha256(_dump(body).encode()).hexdigest()


def _dump(weights: dict[str, Any]) -> str:
    return json.dumps(weights, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def render(weights: dict[str, Any]) -> str:
    """The exact text of a weights file: canonical JSON with its checksum, newline-terminated."""
    return _dump({**weights, "checksum": checksum(weights)}) + "\n"


#: How far a retrain may land from the shipped weights and still match: lbfgs stops at its own
#: tolerance, so another BLAS kernel (e.g. OPENBLAS_CORETYPE=Prescott) moves direction weights
#: by up to ~1e-4 and flips their 5th decimal; a hand edit breaks the checksum whatever its size.
NUMERIC_TOLERANCE = 1e-3
_NUMERIC = ("weights", "bias", "idf")


def compare(shipped: str, retrained: str, tolerance: float = NUMERIC_TOLERANCE) -> tuple[list[str], str]:
    """(failures, note): why ``shipped`` is not what training produces; no failures when it is.

    It is when the texts are byte-identical, or when the shipped file is exactly as training
    writes it (canonical form, valid checksum), every non-numeric field is equal, and every
    weight, bias and idf value lies within ``tolerance`` of the retrain.
    """
    if shipped == retrained:
        return [], "byte-identical"
    try:
        a, b = json.loads(shipped), json.loads(retrained)
    except json.JSONDecodeError as exc:
        return [f"not valid JSON: {exc}"], ""
    failures: list[str] = []
    if a.get("checksum") != checksum(a):
        failures.append("the file's checksum does not match its content (edited by hand?)")
    elif render(a) != shipped:
        failures.append("the file is not in the form training writes (edited by hand?)")
    failures += [f"field {k!r} differs" for k in sorted(set(a) | set(b))
                 if k not in (*_NUMERIC, "checksum") and a.get(k) != b.get(k)]
    worst = 0.0
    for field in _NUMERIC:
        rows_a, rows_b = _rows(a.get(field)), _rows(b.get(field))
        if set(rows_a) != set(rows_b):
            failures.append(f"{field}: {len(set(rows_a) ^ set(rows_b))} row(s) present in only one file")
        beyond = []
        for name in sorted(set(rows_a) & set(rows_b)):
            va, vb = rows_a[name], rows_b[name]
            gap = max((abs(x - y) for x, y in zip(va, vb)), default=0.0) if len(va) == len(vb) else math.inf
            worst = max(worst, gap)
            if gap > tolerance:
                beyond.append(name)
        if beyond:
            failures.append(f"{field}: {len(beyond)} weight row(s) differ by more than {tolerance:g}, "
                            f"e.g. {beyond[:5]}")
    return failures, ("" if failures else f"equal within {tolerance:g} (largest difference {worst:.2g})")


def _rows(value: Any) -> dict[str, list[float]]:
    """A numeric field as named rows of floats (``bias`` is one unnamed row)."""
    if isinstance(value, dict):
        return {k: (v if isinstance(v, list) else [v]) for k, v in value.items()}
    return {"": list(value)} if isinstance(value, list) else {}


def _prune(feats: Sequence[dict[str, float]], min_df: int) -> set[str]:
    """Lexical features seen in at least ``min_df`` items, plus every rules feature."""
    df: dict[str, int] = {}
    for f in feats:
        for name in f:
            df[name] = df.get(name, 0) + 1
    return {n for n, c in df.items() if c >= min_df or n.startswith("rules.")}


def fit(feats: Sequence[dict[str, float]], items: Sequence[Item], config: dict[str, Any],
        digest: str = "") -> dict[str, Any]:
    """Fit the category and direction models; return the exportable weights dict."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    keep = _prune(feats, config["min_df"])
    scale = config["dense_scale"]
    rows = [{n: (v * scale if n.startswith("rules.") else v) for n, v in f.items() if n in keep}
            for f in feats]
    vec = DictVectorizer(sort=True)
    x = vec.fit_transform(rows)
    names = list(vec.get_feature_names_out())
    n_feat = len(names)
    coef = [[0.0] * n_feat for _ in OUTPUTS]
    bias = [0.0] * len(OUTPUTS)
    idf = _idf(rows, names)
    for k, cat in enumerate(CATEGORIES):
        y = [int(cat in (it.categories or ())) for it in items]
        if len(set(y)) < 2:
            bias[k] = -10.0
            continue
        coef[k], bias[k] = _fit_text_category(rows, names, idf, y, config)
    y_dir = [it.direction or NEUTRAL for it in items]
    dclf = LogisticRegression(C=config["C_dir"], solver="lbfgs", max_iter=5000,
                              class_weight="balanced" if config["dir_balanced"] else None)
    dclf.fit(x, y_dir)
    classes = list(dclf.classes_)
    for j, d in enumerate(_DIRECTIONS):
        row = classes.index(d)
        coef[len(CATEGORIES) + j] = [float(w) for w in dclf.coef_[row]]
        bias[len(CATEGORIES) + j] = float(dclf.intercept_[row])
    weights: dict[str, list[float]] = {}
    for i, name in enumerate(names):
        factor = scale if name.startswith("rules.") else 1.0  # fold the scaling into the weights
        vector = [round(coef[k][i] * factor, _ROUND) for k in range(len(OUTPUTS))]
        if any(vector):
            weights[name] = vector
    config_text = json.dumps(config, sort_keys=True)
    return {
        "version": WEIGHTS_VERSION,
        "digest": hashlib.sha256((digest + config_text).encode()).hexdigest()[:8],
        # Kept word for word (the module moved to classifier_lab.train): the text is part of the
        # shipped file's bytes, which `make weights-check` compares, so it is updated with the next retrain.
        "description": "Learned layer of the default classifier engine; generated by "
                       "`python -m streams.classifier.train` from development data only. Do not edit.",
        "trained_on": list(TRAIN_FILES),
        "n_items": len(items),
        "config": config,
        "outputs": list(OUTPUTS),
        "bias": [round(b, _ROUND) for b in bias],
        "weights": weights,
        "idf": {name: round(idf[name], _ROUND) for name in weights if name in idf},
    }


def _idf(rows: Sequence[dict[str, float]], names: Sequence[str]) -> dict[str, float]:
    """Smoothed inverse document frequency of every lexical feature (as scikit-learn's)."""
    df: dict[str, int] = {}
    for row in rows:
        for name in row:
            if not name.startswith("rules."):
                df[name] = df.get(name, 0) + 1
    n = len(rows)
    return {name: math.log((1 + n) / (1 + df[name])) + 1.0 for name in names if name in df}


def _text_row(row: dict[str, float], idf: dict[str, float]) -> dict[str, float]:
    """The text model's input: words present (either field), idf-weighted, unit length."""
    vec = {name: idf[name] for name in row if name in idf}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {name: v / norm for name, v in vec.items()} if norm else {}


def _fit_text_category(rows: Sequence[dict[str, float]], names: Sequence[str],
                       idf: dict[str, float], y: list[int], config: dict[str, Any]
                       ) -> tuple[list[float], float]:
    """One category of the text model: balanced logistic regression on words only.

    Why words only: the rules.* features repeat the lexicon's mistakes on
    look-alikes it has never seen ("pay deal", "tourist levy"); a model of the
    words alone disagrees there, and the blend with the lexicon score cuts
    false positives on unseen look-alikes by more than half at equal dev
    cross-validation figures (docs/classifier.md).
    """
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer(sort=True)
    vec.fit([{name: 1.0} for name in names])  # the same column order as the main model
    x = vec.transform([_text_row(row, idf) for row in rows])
    x.indices = x.indices.astype("int32")  # liblinear takes 32-bit sparse indices only
    x.indptr = x.indptr.astype("int32")
    clf = LogisticRegression(C=config["C_text"], class_weight="balanced", solver="liblinear")
    clf.fit(x, y)
    return [float(w) for w in clf.coef_[0]], float(clf.intercept_[0])


def _folds(n: int, k: int = FOLDS) -> list[list[int]]:
    """Deterministic interleaved folds (items are ordered by file, so each fold mixes files)."""
    return [list(range(f, n, k)) for f in range(k)]


def _cv_learned(feats: list[dict[str, float]], items: list[Item], config: dict[str, Any]
                ) -> dict[tuple[float, float], list[Any]]:
    """Out-of-fold predictions of the fused engine for every item, per blend."""
    preds: dict[tuple[float, float], list[Any]] = {b: [None] * len(items) for b in BLENDS}
    for test_idx in _folds(len(items)):
        held = set(test_idx)
        train_idx = [i for i in range(len(items)) if i not in held]
        raw = fit([feats[i] for i in train_idx], [items[i] for i in train_idx], config)
        for a, b in BLENDS:
            blended = dict(raw, config=dict(config, tension_rules_share=a, category_rules_share=b))
            engine = RulesEngine(learned=LearnedLayer(blended))
            for i in test_idx:
                preds[(a, b)][i] = engine.classify(items[i].title, items[i].body)
    return preds


def _cv_ml(items: list[Item]) -> tuple[list[Any], list[Any], list[Any]]:
    """Out-of-fold predictions of ml and hybrid (fold-trained rules+learned inside hybrid)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from .hybrid import HybridEngine
    from .ml import MLEngine, train_models

    lexicon = RulesEngine()
    feats = [item_features(lexicon, it.title, it.body) for it in items]
    ml_p: list[Any] = [None] * len(items)
    hy_p: list[Any] = [None] * len(items)
    rules_p: list[Any] = [None] * len(items)
    for test_idx in _folds(len(items)):
        held = set(test_idx)
        train = [items[i] for i in range(len(items)) if i not in held]
        ml = MLEngine()
        ml._model = train_models(train, TfidfVectorizer, LogisticRegression, CORPUS_DIR / TRAIN_FILES[0])
        fused = RulesEngine(learned=LearnedLayer(
            fit([feats[i] for i in range(len(items)) if i not in held], train, CONFIG)))
        hybrid = HybridEngine(rules=fused, ml=ml)
        for i in test_idx:
            it = items[i]
            ml_p[i] = ml.classify(it.title, it.body)
            hy_p[i] = hybrid.classify(it.title, it.body)
            rules_p[i] = fused.classify(it.title, it.body)
    return rules_p, ml_p, hy_p


def _line(name: str, r: Report) -> str:
    f1 = " ".join(f"{r.per_category[c].f1:.3f}" for c in CATEGORIES)
    return (f"{name:34} macroF1 {r.macro_f1:.3f}  dir {r.direction_accuracy:.3f}  "
            f"FP {r.irrelevant_fp_rate:.3f} (of {r.irrelevant_items})  F1s {f1}")


def _subsets(items: list[Item]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"all": list(range(len(items)))}
    for name in TRAIN_FILES:
        prefix = name.split(".")[0] + "-"
        out[name] = [i for i, it in enumerate(items) if it.id.startswith(prefix)]
    return out


def _report(name: str, items: list[Item], preds: list[Any]) -> None:
    for sub, idx in _subsets(items).items():
        if idx:
            print(_line(f"{name} [{sub}]", evaluate([items[i] for i in idx], [preds[i] for i in idx])))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the learned layer (development data only).")
    parser.add_argument("--out", type=Path, default=SHIPPED_WEIGHTS)
    parser.add_argument("--cv", action="store_true", help="cross-validate the grid (no file written)")
    parser.add_argument("--cv-engines", action="store_true",
                        help="cross-validate lexicon, rules (fused), ml and hybrid with CONFIG")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="train on N evenly spaced development items (quick determinism checks)")
    parser.add_argument("--check", type=Path, nargs="?", const=SHIPPED_WEIGHTS,
                        default=None, metavar="FILE",
                        help="retrain and compare with FILE (default: the shipped weights); exit 1 if they differ")
    args = parser.parse_args(argv)
    items, digest = training_items()
    if args.subset is not None:
        items = subset(items, args.subset)
        digest = hashlib.sha256(f"{digest}:subset={args.subset}".encode()).hexdigest()
    lexicon = RulesEngine()
    feats = [item_features(lexicon, it.title, it.body) for it in items]
    if args.cv:
        _report("lexicon (untrained)", items, [lexicon.classify(it.title, it.body) for it in items])
        dev3 = _subsets(items)["dev5.jsonl"]
        for config in GRID:
            for (a, b), preds in _cv_learned(feats, items, config).items():
                tag = f"C{config['C_cat']:g}/{config['C_dir']:g} s{config['dense_scale']:g} a{a:g} b{b:g}"
                r3 = evaluate([items[i] for i in dev3], [preds[i] for i in dev3])
                print(_line(tag, evaluate(items, preds)),
                      f"| dev5 {r3.macro_f1:.3f} {r3.direction_accuracy:.3f} {r3.irrelevant_fp_rate:.3f}",
                      flush=True)
        return 0
    if args.cv_engines:
        _report("lexicon (untrained)", items, [lexicon.classify(it.title, it.body) for it in items])
        rules_p, ml_p, hy_p = _cv_ml(items)
        _report("rules (lexicon+learned) CV", items, rules_p)
        _report("ml CV", items, ml_p)
        _report("hybrid CV", items, hy_p)
        return 0
    text = render(fit(feats, items, CONFIG, digest))
    if args.check is not None:
        try:
            shipped = args.check.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"weights check: cannot read {args.check}: {exc}", file=sys.stderr)
            return 1
        failures, note = compare(shipped, text)
        for line in failures:
            print(f"weights check: {args.check}: {line}", file=sys.stderr)
        if failures:
            print("weights check FAILED: the file is not what training produces; "
                  "re-run `python -m classifier_lab.train` (never edit it by hand)", file=sys.stderr)
            return 1
        print(f"weights check passed: {args.check} equals a retrain on {len(items)} items ({note})")
        return 0
    args.out.write_text(text, encoding="utf-8")
    raw = json.loads(text)
    print(f"wrote {args.out} ({len(raw['weights'])} features, {len(items)} items, digest {raw['digest']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
