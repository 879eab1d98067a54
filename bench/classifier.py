"""Throughput of the classifier engines versus a plain `re` keyword scan.

Run: .venv/bin/python bench/classifier.py [--min-seconds 2] [--rounds 5]

Every figure is measured in the same process, single-threaded, over the same
texts (every item of seeds/corpus/*.jsonl, title and body), each given
--min-seconds in total, split into --rounds interleaved rounds (scan, engine,
scan, engine, ...); the fastest round of each is reported, because other jobs
on a shared machine only ever slow a round down.  The keyword scan is the floor: one
alternation regex of the category keywords, findall over title + body.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streams.classifier import DEFAULT_ENGINE, get_engine  # noqa: E402
from streams.classifier.corpus import CORPUS_DIR, load_items  # noqa: E402
from streams.classifier.learned import load_weights  # noqa: E402
from streams.classifier.native import describe  # noqa: E402
from streams.classifier.rules import RulesEngine  # noqa: E402

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
                        help="split the time into this many rounds and report the best (shared machines)")
    parser.add_argument("--skip-ml", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    paths = sorted(CORPUS_DIR.glob("*.jsonl"))
    texts = [(it.title, it.body) for p in paths for it in load_items(p)]
    if not texts:
        print("no corpus found under", CORPUS_DIR, file=sys.stderr)
        return 2
    load = "load average %.2f %.2f %.2f" % os.getloadavg() if hasattr(os, "getloadavg") else ""
    print(f"python {platform.python_version()} on {platform.machine()}, 1 core, best of "
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
    if not args.skip_ml:
        fns["ml"] = get_engine("ml").classify
    # Rounds are interleaved (scan, engine, scan, engine, ...) so that load
    # from other jobs hits every contender alike; each keeps its best round.
    best = dict.fromkeys(fns, 0.0)
    for _ in range(max(1, args.rounds)):
        for name, fn in fns.items():
            best[name] = max(best[name], measure(fn, texts, args.min_seconds / max(1, args.rounds)))
    base = best["scan"]
    if hasattr(os, "getloadavg"):  # shared machines: say how busy it was during the runs
        print("load average after the runs %.2f %.2f %.2f" % os.getloadavg())
    print(f"{'re keyword scan':24} {base:>12,.0f} items/s")
    rate = best["default"]
    print(f"{'engine ' + default.name + ' (default)':24} {rate:>12,.0f} items/s   "
          f"= {rate / base:.3f} x keyword scan   target >= 35,000 (issue 17): {'OK' if rate >= 35_000 else 'MISSED'}")
    print(f"{'  without composition':24} {best['uncomposed']:>12,.0f} items/s   "
          f"= {best['uncomposed'] / base:.3f} x keyword scan   (the default engine before issue 17)")
    print(f"{'engine lexicon':24} {best['lexicon']:>12,.0f} items/s   "
          f"= {best['lexicon'] / base:.3f} x keyword scan")
    if "ml" in best:
        print(f"{'engine ml':24} {best['ml']:>12,.0f} items/s   = {best['ml'] / base:.3f} x keyword scan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
