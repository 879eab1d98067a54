"""No-Kafka microbenchmark of the index fold: one 500-item batch into a state already holding N items.

Run: .venv/bin/python bench/fold.py [--sizes 1000,10000,100000,1000000] [--old-max 50000]
                                    [--rounds 5] [--layout hour|spread] [--old-commit bdbccbb]

What is timed, per round: ``index_batch`` of 500 new items plus the state flush, i.e. the
index agent's work for one batch without Kafka. The median of ``--rounds`` rounds (after
one warm-up) is printed for

* ``new``: this tree, one :class:`streams.state.TableState` kept across batches (as the agent
  does) over a dict of bytes (the table's ``raw`` serializer: no decoding on read);
* ``new cold``: a fresh TableState per batch over the same dict (a restart, or the web API):
  what a batch costs before anything is cached;
* ``old``: the fold of ``--old-commit`` (the last commit before incremental totals), loaded
  from git history into temporary modules, over a dict that JSON-decodes every read and
  encodes every write (the Faust table's ``json`` serializer), measured for N ≤ ``--old-max``.

``--layout hour``: the N items and every batch fall within one hour (one pane, the tester's
case and the old code's worst: 25 windows of N items each). ``--layout spread``: the N items
are spread over the 30 days before that hour (retention keeps them all; windows close as the
prefill advances). The batch's non-final rows are compared old vs new: they must be equal.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streams.config import IndexConfig  # noqa: E402
from streams.processing import index_batch  # noqa: E402
from streams.state import TableState  # noqa: E402
from streams.windows import DAY_MS, HOUR_MS, Fact, Windows  # noqa: E402

CATS = ["tariffs", "visas", "trade_talks", "export_controls", "critical_minerals"]
DIRS = ["escalation", "deescalation", "neutral"]
T_HOUR = 1_760_000_000_000 - 1_760_000_000_000 % HOUR_MS  # the hour every timed batch falls in
BATCH = 500


def load_old(commit: str) -> dict[str, types.ModuleType]:
    """The old ``streams.index``/``windows``/``state``/``processing`` as modules ``_old_<name>``."""
    mods: dict[str, types.ModuleType] = {}
    for name in ("index", "windows", "state", "processing"):
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:streams/{name}.py"], check=True,
                             capture_output=True, text=True).stdout
        for dep in ("index", "windows", "state"):
            src = src.replace(f"from streams.{dep} import", f"from _old_{dep} import")
        mod = types.ModuleType(f"_old_{name}")
        sys.modules[mod.__name__] = mod
        exec(compile(src, f"{commit}:streams/{name}.py", "exec"), mod.__dict__)  # noqa: S102
        mods[name] = mod
    return mods


class JsonTable(dict):  # type: ignore[type-arg]
    """A dict that stores JSON text, like a Faust table with the json value serializer."""

    def __getitem__(self, key: str) -> Any:
        return json.loads(super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        raw = super().get(key)
        return default if raw is None else json.loads(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, json.dumps(value))

    def pop(self, key: str, default: Any = None) -> Any:
        raw = super().pop(key, None)
        return default if raw is None else json.loads(raw)


def make_facts(rng: random.Random, n: int, lo: int, hi: int, tag: str) -> list[Fact]:
    out = [Fact(f"{tag}{k:07d}", rng.randrange(lo, hi), rng.sample(CATS, rng.choice([0, 1, 1, 2])),
                round(rng.uniform(-1, 1), 3), rng.choice(DIRS), f"headline {tag}{k} about trade") for k in range(n)]
    out.sort(key=lambda f: f.ts)
    return out


def prefill(n: int, layout: str, rng: random.Random) -> list[Fact]:
    if layout == "hour":
        return make_facts(rng, n, T_HOUR, T_HOUR + HOUR_MS, "p")
    return make_facts(rng, n, T_HOUR - 30 * DAY_MS, T_HOUR, "p")


CPU: dict[str, float] = {}  # median process CPU seconds of the last median_time, by label


def median_time(rounds: int, step: Any, label: str = "") -> float:
    """Median wall seconds of ``rounds`` calls after a warm-up (CPU seconds go to ``CPU[label]``:
    on a shared box, CPU time is the steadier number)."""
    times, cpu = [], []
    for r in range(rounds + 1):
        t, c = time.perf_counter(), time.process_time()
        step(r)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU[label] = statistics.median(cpu[1:])
    return statistics.median(times[1:])


def run(n: int, layout: str, rounds: int, old: dict[str, types.ModuleType] | None) -> dict[str, Any]:
    cfg = IndexConfig()
    w = Windows.from_config(cfg)
    rng = random.Random(n)
    base = prefill(n, layout, rng)
    batches = [make_facts(rng, BATCH, T_HOUR, T_HOUR + HOUR_MS, f"b{r}-") for r in range(rounds + 1)]
    table: dict[str, Any] = {}
    state = TableState(table, cfg)
    t = time.perf_counter()
    for k in range(0, len(base), 5000):
        index_batch(state, base[k:k + 5000], w, cfg)
        state.flush()
    fill_s = time.perf_counter() - t
    cold_table = dict(table)
    facts_in_state = base if old is not None else None
    del base  # a million Fact objects would make every full GC pass, not the fold, the cost
    gc.collect()
    out: dict[str, Any] = {"n": n, "fill_s": fill_s}
    new_rows: list[Any] = []

    def new_step(r: int) -> None:
        res = index_batch(state, batches[r], w, cfg)
        state.flush()
        if r == 0:
            new_rows.extend(res.updates)

    out["new"] = median_time(rounds, new_step, "new")
    out["new_cpu"] = CPU["new"]

    def cold_step(r: int) -> None:
        s = TableState(cold_table, cfg)
        index_batch(s, batches[r], w, cfg)
        s.flush()

    out["cold"] = median_time(rounds, cold_step)
    if old is not None:
        plain: dict[str, Any] = {}
        assert facts_in_state is not None
        for k in range(0, len(facts_in_state), 5000):  # the old reducer alone: its rows cost O(N) per batch
            old["windows"].apply(plain, facts_in_state[k:k + 5000], w)
        jt = JsonTable()
        for key, value in plain.items():
            jt[key] = value
        old_rows: list[Any] = []

        def old_step(r: int) -> None:
            s = old["state"].TableState(jt)
            res = old["processing"].index_batch(s, batches[r], w, cfg)
            s.flush()
            if r == 0:
                old_rows.extend(res.updates)

        out["old"] = median_time(rounds, old_step)
        out["same_rows"] = old_rows == new_rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000,100000,1000000")
    ap.add_argument("--old-max", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--layout", choices=["hour", "spread"], default="hour")
    ap.add_argument("--old-commit", default="bdbccbb")
    args = ap.parse_args()
    old = load_old(args.old_commit)
    print(f"layout={args.layout}, batch={BATCH}, median of {args.rounds} rounds, seconds per batch")
    print(f"{'N':>9} {'old':>9} {'new':>9} {'new cpu':>9} {'new cold':>9} {'old/new':>8} {'rows equal':>10}"
          f" {'prefill s':>9}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, args.layout, args.rounds, old if n <= args.old_max else None)
        old_s = f"{r['old']:9.4f}" if "old" in r else f"{'-':>9}"
        ratio = f"{r['old'] / r['new']:8.1f}" if "old" in r else f"{'-':>8}"
        same = str(r.get("same_rows", "-"))
        print(f"{n:>9} {old_s} {r['new']:9.4f} {r['new_cpu']:9.4f} {r['cold']:9.4f} {ratio} {same:>10}"
              f" {r['fill_s']:9.1f}", flush=True)


if __name__ == "__main__":
    main()
