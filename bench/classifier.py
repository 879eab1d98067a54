"""Throughput of the classifier engines versus a plain `re` keyword scan.

Run: .venv/bin/python bench/classifier.py [--min-seconds 2] [--rounds 5] [--ml]

Every figure is measured in the same process, single-threaded, over the same
texts (every item of seeds/corpus/*.jsonl, title and body), each given
--min-seconds in total, split into --rounds interleaved rounds (scan, engine,
scan, engine, ...).  Each contender's median round is reported, with its
best round beside it (other jobs on a shared machine only ever slow a round
down), and the ratio to the baselines of the same run: the keyword scan (the
floor: one alternation regex of the category keywords, findall over title +
body) and the lexicon engine.  ``--ml`` adds the research engine ``ml``
(scikit-learn, from ``classifier_lab``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier_lab.corpus import CORPUS_DIR, load_items  # noqa: E402
from streams.classifier import DEFAULT_ENGINE, get_engine  # noqa: E402
from streams.classifier.learned import load_weights  # noqa: E402
from streams.classifier.native import describe  # noqa: E402
from streams.classifier.rules import RulesEngine  # noqa: E402

TARGET = 35_000  # issue 17: the default engine, composition on, one core

KEYWORDS = (
    "trade talks", "negotiations?", "trade deal", "tariffs?", "duties", "levy", "levies",
    "export controls?", "entity list", "export ban", "chips?", "semiconductors?", "rare earths?",
    "gallium", "germanium", "antimony", "graphite", "lithium", "magnets?", "critical minerals",
    "visas?", "students?", "entry ban",
)
KEYWORD_RE = re.compile(r"\b(?:" + "|".join(KEYWORDS) + r")\b", re.IGNORECASE)


def measure(fn: Callable[[str, str], object], texts: list[tuple[str, str]], seconds: float) -> float:
    """Items per second of ``fn`` over ``texts``, repeated for at least ``seconds``."""
    for title, body in texts[:50]:  # warm-up: lazy training, caches
        fn(title, body)
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for title, body in texts:
            fn(title, body)
        done += len(texts)
        elapsed = time.perf_counter() - start
    return done / elapsed


def keyword_scan(title: str, body: str) -> object:
    return KEYWORD_RE.findall(title + "\n" + body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5,
                        help="split the time into this many interleaved rounds; the median and the best are reported")
    parser.add_argument("--ml", action="store_true", help="also the research engine ml (needs scikit-learn)")
    parser.add_argument("--skip-ml", action="store_true", help=argparse.SUPPRESS)  # the old flag: now the default
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    paths = sorted(CORPUS_DIR.glob("*.jsonl"))
    texts = [(it.title, it.body) for p in paths for it in load_items(p)]
    if not texts:
        print("no corpus found under", CORPUS_DIR, file=sys.stderr)
        return 2
    load = "load average %.2f %.2f %.2f" % os.getloadavg() if hasattr(os, "getloadavg") else ""
    print(f"python {platform.python_version()} on {platform.machine()}, 1 core, median (best) of "
          f"{args.rounds} rounds in {args.min_seconds:g} s per engine; "
          f"{len(texts)} items from {', '.join(p.name for p in paths)}; {load}")
    print(f"classifier modules: {describe()}")
    default = get_engine(DEFAULT_ENGINE)
    fns: dict[str, Callable[[str, str], object]] = {
        "scan": keyword_scan,
        "default": default.classify,
        "lexicon": get_engine("lexicon").classify,  # the default engine without its learned layer
        # the default engine before issue 17: lexicon + learned layer, without composition and gate,
        # measured in the same run so the cost of composition is read beside it
        "uncomposed": RulesEngine(learned=load_weights()).classify,
    }
    if args.ml:
        from classifier_lab.engines import get_engine as get_any_engine

        fns["ml"] = get_any_engine("ml").classify
    # Rounds are interleaved (scan, engine, scan, engine, ...) so that load
    # from other jobs hits every contender alike.
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(1, args.rounds)):
        for name, fn in fns.items():
            runs[name].append(measure(fn, texts, args.min_seconds / max(1, args.rounds)))
    med = {name: statistics.median(r) for name, r in runs.items()}
    best = {name: max(r) for name, r in runs.items()}
    if hasattr(os, "getloadavg"):  # shared machines: say how busy it was during the runs
        print("load average after the runs %.2f %.2f %.2f" % os.getloadavg())

    def line(label: str, name: str, note: str = "") -> None:
        print(f"{label:24} {med[name]:>9,.0f} items/s (best {best[name]:>7,.0f})"
              f"   = {med[name] / med['scan']:.3f} x scan, {med[name] / med['lexicon']:.3f} x lexicon{note}")

    print(f"{'re keyword scan':24} {med['scan']:>9,.0f} items/s (best {best['scan']:>7,.0f})")
    rate = med["default"]
    line(f"engine {default.name} (default)", "default",
         f"   target >= {TARGET:,} (issue 17): {'OK' if rate >= TARGET else 'MISSED'}")
    line("  without composition", "uncomposed", "   (lexicon + learned layer: the default before issue 17)")
    line("engine lexicon", "lexicon")
    if "ml" in med:
        line("engine ml (research)", "ml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
