"""The sustained run (issue 15): ≥ 1,000,000 items through the real topology, one worker.

Run: .venv/bin/python bench/sustained.py [--items 1000000] [--step 100000] [--timeout 3600]
     (uses TENSION_KAFKA_BOOTSTRAP when set, else starts the embedded broker on free ports)

The items are preloaded into one 2-partition topic (every ``published_at`` in the current
hour: one dense pane, the fold's hardest case), then one ``tension worker`` (rocksdb store)
drains them from offset 0. It reuses ``bench/peers.py``'s preload, contender and watcher, so
the figures are comparable with its drain rounds; unlike ``peers.py --sustained`` it prints
each step *as it completes* (rate, the worker's RSS now and at peak, its CPU seconds, the
load average) and stops at ``--timeout`` with what it has, because a run that decays may not
finish before a deadline and a report with nothing in it tells nothing.

Printed at the end: the rate of each step, the ratio last step / first step (target ≥ 0.8
for 100k steps of 1M items) and the worker's peak RSS (VmHWM, target ≤ 400 MiB).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peers import cpu_s, peak_rss_mib, preload, prepare  # noqa: E402
from pipeline import bench_broker  # noqa: E402


def rss_mib(pid: int) -> float:
    """The process's resident set now (VmRSS), MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(bootstrap: str, n: int, step: int, timeout_s: float, tmp: Path) -> None:
    t = time.time()
    print(f"preloading {n:,} items...", flush=True)
    src = preload(bootstrap, n)
    print(f"preloaded in {time.time() - t:.0f} s; starting one worker (logs {tmp / 'logs'})", flush=True)
    contender = prepare("topo1", bootstrap, src, tmp)
    watch = contender.watch(bootstrap, n)
    pid = contender.procs[0].pid
    deadline = time.time() + timeout_s
    marks: list[float] = []  # time the k-th step completed
    rates: list[float] = []
    try:
        while time.time() < deadline and not watch.done.is_set():
            watch.done.wait(1.0)
            done = watch.done_at
            while watch.first is not None and len(done) >= (len(marks) + 1) * step:
                at = done[(len(marks) + 1) * step - 1]
                rates.append(step / (at - (marks[-1] if marks else watch.first)))
                marks.append(at)
                print(f"  {len(marks) * step:>9,} counted: {rates[-1]:7,.0f} items/s  RSS {rss_mib(pid):4.0f} MiB"
                      f" (peak {peak_rss_mib(pid):4.0f})  worker CPU {cpu_s(pid):6.0f} s"
                      f"  load {os.getloadavg()[0]:.1f}", flush=True)
        counted = len(watch.done_at)
        peak = peak_rss_mib(pid)
        cpu = cpu_s(pid)
    finally:
        contender.stop()
        watch.stop.set()
        watch.join(10)
    state = "done" if counted >= n else f"stopped at --timeout with {counted:,} counted"
    print(f"\nsustained {n:,} items, 1 worker: {state}; peak RSS {peak:.0f} MiB, worker CPU {cpu:.0f} s, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  items/s per {step:,}: " + ", ".join(f"{r:,.0f}" for r in rates))
    if len(rates) >= 2:
        print(f"  last / first: {rates[-1] / rates[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--step", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds the drain may take")
    a = ap.parse_args()
    bootstrap, cluster, tmp = bench_broker("bench-sustained-")
    print(f"broker {bootstrap}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}", flush=True)
    try:
        run(bootstrap, a.items, a.step, a.timeout, tmp)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
