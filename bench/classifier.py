"""Throughput of the classifier engines versus a plain `re` keyword scan.

Run: .venv/bin/python bench/classifier.py [--min-seconds 2]

Every figure is measured in the same process, single-threaded, over the same
texts (every item of seeds/corpus/*.jsonl, title and body), each repeated
until at least --min-seconds have elapsed.  The keyword scan is the floor: one
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

KEYWORDS = (
    "trade talks", "negotiations?", "trade deal", "tariffs?", "duties", "levy", "levies",
    "export controls?", "entity list", "export ban", "chips?", "semiconductors?", "rare earths?",
    "gallium", "germanium", "antimony", "graphite", "lithium", "magnets?", "critical minerals",
    "visas?", "students?", "entry ban",
)
KEYWORD_RE = re.compile(r"\b(?:" + "|".join(KEYWORDS) + r")\b", re.IGNORECASE)


def measure(fn: Callable[[str, str], object], texts: list[tuple[str, str]], min_seconds: float) -> float:
    """Items per second of ``fn`` over ``texts``, repeated to >= min_seconds."""
    for title, body in texts[:50]:  # warm-up: lazy training, caches
        fn(title, body)
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_seconds:
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
    parser.add_argument("--skip-ml", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    paths = sorted(CORPUS_DIR.glob("*.jsonl"))
    texts = [(it.title, it.body) for p in paths for it in load_items(p)]
    if not texts:
        print("no corpus found under", CORPUS_DIR, file=sys.stderr)
        return 2
    print(f"python {platform.python_version()} on {platform.machine()}, 1 core; "
          f"{len(texts)} items from {', '.join(p.name for p in paths)}")
    base = measure(keyword_scan, texts, args.min_seconds)
    print(f"{'re keyword scan':24} {base:>12,.0f} items/s")
    default = get_engine(DEFAULT_ENGINE)
    rate = measure(default.classify, texts, args.min_seconds)
    print(f"{'engine ' + default.name + ' (default)':24} {rate:>12,.0f} items/s   "
          f"= {rate / base:.3f} x keyword scan   target >= 20,000: {'OK' if rate >= 20_000 else 'MISSED'}")
    if not args.skip_ml:
        ml = get_engine("ml")
        ml_rate = measure(ml.classify, texts, args.min_seconds)
        print(f"{'engine ml':24} {ml_rate:>12,.0f} items/s   = {ml_rate / base:.3f} x keyword scan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
