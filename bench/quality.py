"""Quality report: every held-out corpus part scored by the default engine, beside the lexicon alone.

Run: ``.venv/bin/python bench/quality.py`` (``--all-engines`` adds ml and
hybrid, which train scikit-learn models first; ``--json`` for a machine-
readable report; ``--part test6`` for one part, ``--part dev7`` for a
development part, ``--dev`` for every development part).  A part whose items
carry a ``kind`` (test5, test6, dev6, dev7: issue 17) also gets one line per
kind: items, category exact-match rate, direction accuracy, and both together
("right").  ``--errors`` lists the misclassified items of *development*
parts only (it refuses a held-out part).

Why a report and not a test: a pass/fail threshold over a held-out set in
``make test`` turns that set into a tuning target — every red run invites a
fix aimed at its items.  Here the figures are printed, with the targets of
docs/classifier.md beside them for reading, and nothing fails on them; the
baseline is the ``lexicon`` engine (the same rules without the learned layer)
scored in the same run.  Misclassified items are never listed for a
held-out part, on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier_lab.corpus import CORPUS_DIR, HELD_OUT_PATHS, Item, load_items  # noqa: E402
from classifier_lab.engines import get_engine  # noqa: E402  (production and research engines)
from classifier_lab.evaluate import Report, evaluate  # noqa: E402
from streams.classifier import CATEGORIES, DEFAULT_ENGINE  # noqa: E402
from streams.classifier.model import Classification  # noqa: E402

#: Targets of issue 17 on its held-out parts (docs/classifier.md; issue 4 asked 0.90 / 0.85 / 0.05): shown beside the
#: figures, never enforced.
TARGETS = {"macro_f1": 0.93, "direction": 0.90, "irrelevant_fp": 0.05}


def dev_paths() -> list[Path]:
    """Every development part (``dev*.jsonl``), in numeric order: what tuning may look at."""
    def order(p: Path) -> int:
        tail = p.stem[3:]
        return int(tail) if tail.isdigit() else 1

    return sorted(CORPUS_DIR.glob("dev*.jsonl"), key=order)


def parts(only: str | None, dev: bool = False) -> dict[str, list[Path]]:
    """Each held-out file alone, then all of them together; or the development parts; or one part by name."""
    found = [p for p in HELD_OUT_PATHS if p.exists()]
    if only is not None:
        named = {p.stem: [p] for p in [*found, *dev_paths()]}
        if only not in named:
            raise SystemExit(f"quality: no corpus part named {only!r} (have {sorted(named)})")
        return {only: named[only]}
    if dev:
        return {p.stem: [p] for p in dev_paths()}
    out = {p.stem: [p] for p in found}
    if len(found) > 1:
        out["all held-out"] = found
    return out


def errors(paths: list[Path], engine_name: str) -> list[str]:
    """One line per misclassified item of a development part (gold vs predicted, the kind, the title)."""
    held = {p.resolve() for p in HELD_OUT_PATHS}
    if any(p.resolve() in held for p in paths):
        raise SystemExit("quality: --errors lists development parts only; held-out items are never listed")
    engine = get_engine(engine_name)
    out = []
    for it in (it for p in paths for it in load_items(p)):
        pred = engine.classify(it.title, it.body)
        if frozenset(pred.categories) != it.categories or pred.direction != it.direction:
            gold = ",".join(sorted(it.categories or ())) or "-"
            got = ",".join(pred.categories) or "-"
            out.append(f"{it.id} [{it.raw.get('kind', '')}] gold {gold}/{it.direction} got {got}/{pred.direction}: "
                       f"{it.title}")
    return out


def by_kind(items: list[Item], preds: list[Classification]) -> dict[str, dict[str, float]]:
    """Accuracy per ``kind`` of wording (items without a kind are left out).

    Why per kind: issue 17's misses cluster by construction (reversals,
    breakdowns, enforcement, flows, non-tariff retaliation, look-alikes); a
    single overall figure hides a kind that fails.  ``categories`` is the
    exact-match rate of the category set (for look-alikes: nothing flagged),
    ``direction`` the direction accuracy, ``right`` both at once.
    """
    acc: dict[str, list[int]] = {}
    for it, pred in zip(items, preds, strict=True):
        kind = it.raw.get("kind")
        if not isinstance(kind, str):
            continue
        cats_ok = frozenset(pred.categories) == it.categories
        dir_ok = pred.direction == it.direction
        row = acc.setdefault(kind, [0, 0, 0, 0])
        row[0] += 1
        row[1] += cats_ok
        row[2] += dir_ok
        row[3] += cats_ok and dir_ok
    return {k: {"items": n, "categories": round(c / n, 4), "direction": round(d / n, 4), "right": round(r / n, 4)}
            for k, (n, c, d, r) in sorted(acc.items())}


def score(engine_name: str, paths: list[Path]) -> tuple[Report, float, dict[str, dict[str, float]]]:
    engine = get_engine(engine_name)
    items = [it for p in paths for it in load_items(p)]
    t0 = time.perf_counter()
    preds = [engine.classify(it.title, it.body) for it in items]
    seconds = time.perf_counter() - t0
    return evaluate(items, preds), seconds, by_kind(items, preds)


def summary(r: Report) -> dict[str, object]:
    return {
        "items": r.n_items,
        "macro_f1": round(r.macro_f1, 4),
        "direction_accuracy": round(r.direction_accuracy, 4),
        "irrelevant_items": r.irrelevant_items,
        "irrelevant_fp_rate": round(r.irrelevant_fp_rate, 4),
        "f1": {c: round(r.per_category[c].f1, 4) for c in CATEGORIES},
        "direction_confusion": r.confusion,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all-engines", action="store_true", help="also ml and hybrid (trains them first)")
    ap.add_argument("--part", default=None, help="one corpus part by file stem, e.g. test6 or dev7")
    ap.add_argument("--dev", action="store_true", help="every development part instead of the held-out ones")
    ap.add_argument("--errors", action="store_true", help="list misclassified items (development parts only)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    engines = [DEFAULT_ENGINE, "lexicon"] + (["ml", "hybrid"] if args.all_engines else [])
    report: dict[str, dict[str, object]] = {}
    chosen = parts(args.part, args.dev)
    if args.errors:
        for part, paths in chosen.items():
            for line in errors(paths, DEFAULT_ENGINE):
                print(f"{part} {line}")
        return 0
    for part, paths in chosen.items():
        report[part] = {}
        for name in engines:
            r, seconds, kinds = score(name, paths)
            report[part][name] = {**summary(r), "seconds": round(seconds, 3)}
            if kinds and len(paths) == 1:
                report[part][name]["kinds"] = kinds
    if args.json:
        print(json.dumps({"targets": TARGETS, "parts": report}, indent=2))
        return 0
    kind = "development" if args.dev else "held-out"
    print(f"{kind} quality (targets for reading, not enforced: macro-F1 >= {TARGETS['macro_f1']}, "
          f"direction >= {TARGETS['direction']}, irrelevant FP <= {TARGETS['irrelevant_fp']})")
    head = f"{'part':14} {'engine':8} {'items':>5} {'macroF1':>8} {'dir':>6} {'FP':>6}  " + " ".join(
        f"{c[:10]:>10}" for c in CATEGORIES)
    print(head)
    print("-" * len(head))
    for part, by_engine in report.items():
        for name, s in by_engine.items():
            f1 = s["f1"]
            assert isinstance(f1, dict)
            print(f"{part:14} {name:8} {s['items']:>5} {s['macro_f1']:>8.3f} {s['direction_accuracy']:>6.3f} "
                  f"{s['irrelevant_fp_rate']:>6.3f}  " + " ".join(f"{f1[c]:>10.3f}" for c in CATEGORIES))
    for part, by_engine in report.items():
        conf = by_engine[DEFAULT_ENGINE]["direction_confusion"]
        assert isinstance(conf, dict)
        cells = ", ".join(f"{g}->{p} {n}" for g, row in conf.items() for p, n in row.items() if g != p and n)
        print(f"direction confusions of {DEFAULT_ENGINE} on {part}: {cells or 'none'}")
    for part, by_engine in report.items():
        for name, s in by_engine.items():
            kinds = s.get("kinds")
            if not isinstance(kinds, dict):
                continue
            print(f"{part} {name} per kind: " + "; ".join(
                f"{k} {v['items']:.0f}: cat {v['categories']:.3f} dir {v['direction']:.3f} right {v['right']:.3f}"
                for k, v in kinds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
