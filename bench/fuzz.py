"""Long fuzzing run of the producer's readers and the Avro decode path (issue 13).

Runs the hypothesis targets of ``tests/unit/test_fuzz_*.py`` with many more
examples than ``make test`` does (there: 60 per target via the default of
``TENSION_FUZZ_EXAMPLES``), and prints hypothesis' statistics: examples run
per target, time, and what the inputs became (items, rejections by reason).

    python bench/fuzz.py                 # 20 000 examples per target
    python bench/fuzz.py --examples 500  # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=int(os.environ.get("TENSION_FUZZ_EXAMPLES", "20000")),
                        help="hypothesis examples per target (default 20000, or TENSION_FUZZ_EXAMPLES)")
    parser.add_argument("-k", default="", help="only the targets matching this pytest -k expression")
    args = parser.parse_args()
    os.environ["TENSION_FUZZ_EXAMPLES"] = str(args.examples)  # read by the test module at import
    sys.path.insert(0, str(ROOT))
    import pytest

    targets = sorted(str(p) for p in (ROOT / "tests" / "unit").glob("test_fuzz_*.py"))
    started = time.monotonic()
    argv = [*targets, "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", "--timeout", "0",
            "--durations", "0", *(["-k", args.k] if args.k else [])]
    status = pytest.main(argv)
    print(f"fuzz: {args.examples} examples per target, {time.monotonic() - started:.0f}s, exit status {int(status)}")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
