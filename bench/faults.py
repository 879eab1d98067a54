"""Cluster faults under load: what the pipeline loses, doubles, and how long it stalls.

Run: .venv/bin/python bench/faults.py [--items 400] [--case leader-kill ...]
     (starts its own three-node embedded KRaft cluster on free ports; ~1.2 GB of heap)

One three-node cluster serves every case. Each case builds a private pipeline on
it: uuid-named topics at replication 3 (brokers default ``min.insync.replicas=2``),
an idempotent ``acks=all`` producer feeding ``news.raw.v1`` at a steady rate, one
or two ``tension worker`` subprocesses (rocksdb store, same app id) and one
``tension sink sqlite`` subprocess. Mid-stream, the case injects its fault:

* ``leader-kill``      SIGKILL the broker leading the facts partition (not the active controller)
* ``controller-kill``  SIGKILL the active controller (the KRaft quorum leader)
* ``rolling-restart``  SIGTERM each broker in turn, restart it, wait for ISR 3 before the next
* ``worker-loss-sb0``  two workers, SIGKILL the one owning the index table; standby_replicas 0
* ``worker-loss-sb1``  the same with standby_replicas 1

Nothing is restarted by the harness except the faulted broker (after processing resumed,
to check it rejoins: every partition of the case's topics back to 3 in-sync replicas).
Then it waits until the app's group and the sink committed everything and compares the
SQLite store with the offline reference (the very items classified offline, folded by
``streams.offline``, as `tension index` does).

Definitions printed with the table:
* resumed: seconds from the fault until every raw partition has a newly classified item
  (a record written to the classified topic at an offset at or past its end at the fault)
  and the index topic got a record past its end at the fault; for the rolling restart,
  the worst of its three steps;
* lost: reference items missing from SQLite ``items``, plus item counts missing from the
  final daily ``overall`` index rows;
* counted twice: item counts in excess of the reference in those final rows (a duplicate
  row in ``items`` cannot exist: ``item_id`` is its key).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fault_pipeline import (  # noqa: E402
    Feeder, Pipeline, case_items, index_owner, leader_of, pipeline, settle, wait_full_isr,
)
from devenv.localkafka import LocalCluster, assemble  # noqa: E402
from devenv.procs import free_port_block  # noqa: E402
from tension.settings import LocalKafkaSettings  # noqa: E402
from tests.helpers import wait_for  # noqa: E402

log = logging.getLogger("bench.faults")

CASES = ("leader-kill", "controller-kill", "rolling-restart", "worker-loss-sb0", "worker-loss-sb1")
# Shorter than Kafka's defaults so a killed node is fenced (and its leaderships moved) in seconds.
BROKER_OVERRIDES = {"broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500,
                    "replica.lag.time.max.ms": 5000, "group.min.session.timeout.ms": 3000}
DEFINITIONS = (
    "resumed: s from the fault until every raw partition has a newly classified item and the index topic a "
    "new record (offsets at/past the ends at the fault); rolling restart: worst of its 3 steps. "
    "lost: reference items missing from SQLite items + counts missing from final daily 'overall' rows. "
    "counted twice: counts above the reference in those rows."
)


def start_cluster(tmp: Path) -> LocalCluster:
    """Three combined KRaft nodes on free ports with the fault timeouts (caller stops it)."""
    cfg = LocalKafkaSettings()
    dist = assemble(cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version)
    base = free_port_block(span=24)
    cluster = LocalCluster(dist, tmp, nodes=3, port=base, controller_port=base + 1, heap="384m",
                           overrides=BROKER_OVERRIDES)
    cluster.start(timeout_s=180)
    return cluster


@dataclass
class Result:
    case: str
    resumed_s: float
    lost: int
    doubled: int
    rejoined: bool
    seconds: float
    notes: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)  # stored rows that differ from the reference



FEED_SECONDS = {"leader-kill": 10.0, "controller-kill": 10.0, "rolling-restart": 45.0,
                "worker-loss-sb0": 8.0, "worker-loss-sb1": 8.0}


def wait_ready(p: Pipeline) -> None:
    """Every worker has partitions and the API answers: the stream starts on a running topology."""
    for w in p.workers:
        wait_for(lambda w=w: "newly assigned" in (w.log.read_text(errors="replace") if w.log.exists() else ""),
                 120, f"worker {w.name} to get partitions")

    def api() -> bool:
        p.check_alive()
        for w in p.workers:  # mid-rebalance a worker may not know the table's owner yet: any answer will do
            try:
                if w.get("/api/categories")[0] == 200:
                    return True
            except OSError:
                continue
        return False

    wait_for(api, 120, "the worker API")
    if len(p.workers) > 1:
        index_owner(p)


def broker_target(cluster: LocalCluster, p: Pipeline, case: str) -> tuple[int, str]:
    """The node to kill and why: the facts-partition leader (not the controller), or the controller."""
    controller = wait_for(cluster.active_controller, 30, "the active controller")
    if case == "controller-kill":
        return controller, f"node {controller} (active controller)"  # type: ignore[return-value]
    t = p.s.topics
    for role, topic, part in [("facts", p.s.cfg.facts_topic, 0), ("raw", t.raw, 0), ("raw", t.raw, 1),
                              ("classified", t.classified, 0), ("classified", t.classified, 1)]:
        leader = leader_of(cluster, topic, part)
        if leader != controller:
            return leader, f"node {leader} (leader of {role}[{part}], not the controller)"
    leader = leader_of(cluster, p.s.cfg.facts_topic)
    return leader, f"node {leader} (leader of facts[0], also the active controller)"


def run_case(cluster: LocalCluster, tmp: Path, case: str, n_items: int = 300, timeout_s: float = 150.0) -> Result:
    """Run one fault case on a fresh pipeline; the result says what was lost, doubled, how long it stalled."""
    assert case in CASES, case
    began = time.monotonic()
    two_workers = case.startswith("worker-loss")
    with pipeline(cluster, tmp, 2 if two_workers else 1, 0 if case == "worker-loss-sb0" else 1) as p:
        items, order = case_items(n_items, p.s.partitions, seed=CASES.index(case) + 21)
        raw_partition = {i.id: int(i.attributes["partition"]) for i in items}
        wait_ready(p)
        notes: list[str] = []
        # the rolling restart feeds a part per step (and one before): items flow at every step
        phases = 1 + len(cluster.running_pids()) if case == "rolling-restart" else 1
        feeder = Feeder(p.s, order, rate_per_s=len(order) / FEED_SECONDS[case], phases=phases)
        wait_for(lambda: p.check_alive() or p.classified() >= len(order) // 4, 90, "a quarter classified",
                 interval_s=0.05)

        def fault(action: Callable[[], None]) -> float:
            ends = p.watcher.ends()
            at = time.monotonic()
            action()
            got = wait_for(lambda: p.check_alive() or p.watcher.resumed_after(at, ends, raw_partition), 90,
                           "processing to resume", interval_s=0.1)
            return float(got)  # type: ignore[arg-type]

        rejoined = True
        if case == "rolling-restart":
            steps = []
            for node in sorted(cluster.running_pids()):
                feeder.advance()
                steps.append(fault(lambda node=node: cluster.stop_node(node)))
                cluster.start_node(node, timeout_s=120)
                wait_full_isr(cluster, p.s.app_id.rsplit("-", 1)[-1], 90)
            resumed = max(steps)
            notes.append("steps " + ", ".join(f"{x:.1f}" for x in steps) + " s")
        elif two_workers:
            victim = index_owner(p)
            p.killed.add(victim.name)
            before = raw_offsets(p)
            resumed = fault(lambda: victim.kill())
            notes.append(f"killed {victim.name} (owned the index table)")
            notes.append(f"raw committed/end at the kill {before}, after resuming {raw_offsets(p)}")
        else:
            node, why = broker_target(cluster, p, case)
            notes.append(f"killed {why}")
            resumed = fault(lambda: cluster.kill_node(node))
            cluster.start_node(node, timeout_s=120)
            try:
                wait_full_isr(cluster, p.s.app_id.rsplit("-", 1)[-1], 90)
            except AssertionError as exc:
                rejoined = False
                notes.append(str(exc))
        feeder.join(120)
        lost, doubled, diffs = settle(p, items, timeout_s)
    return Result(case, resumed, lost, doubled, rejoined, time.monotonic() - began, notes, diffs)


def raw_offsets(p: Pipeline) -> list[tuple[int, int]]:
    """(committed, end) of the app group on every raw partition (diagnostics for a loss)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": p.s.bootstrap, "group.id": p.s.app_id, "enable.auto.commit": False})
    try:
        topic = p.s.topics.raw
        tps = [TopicPartition(topic, k) for k in sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)]
        return [(tp.offset, c.get_watermark_offsets(tp, timeout=10)[1]) for tp in c.committed(tps, timeout=10)]
    finally:
        c.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=300, help="corpus items per case (plus one flush item per partition)")
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (worker and sink logs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tmp = Path(tempfile.mkdtemp(prefix="tension-faults-"))
    cluster = start_cluster(tmp / "kafka")
    results = []
    try:
        for case in args.case or CASES:
            try:
                results.append(run_case(cluster, tmp / case, case, args.items))
            except AssertionError as exc:  # a deadline missed: report the case as failed and go on
                results.append(Result(case, float("nan"), -1, -1, False, float("nan"), [f"FAILED: {exc}"]))
                print(f"{case}: FAILED: {exc}", flush=True)
                continue
            r = results[-1]
            print(f"{case}: resumed {r.resumed_s:.1f}s lost {r.lost} doubled {r.doubled} "
                  f"rejoined {r.rejoined} ({r.seconds:.0f}s) {'; '.join(r.notes)}", flush=True)
    finally:
        cluster.stop()
    print(f"\n{args.items} items per case, 3 KRaft nodes, replication 3, min.insync.replicas 2, acks=all")
    print("| fault | resumed after (s) | items lost | items counted twice | ISR back to 3 | notes |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r.case} | {r.resumed_s:.1f} | {r.lost} | {r.doubled} | {'yes' if r.rejoined else 'NO'} | "
              f"{'; '.join(r.notes)} |")
    print(f"\n{DEFINITIONS}")
    if args.keep:
        print(f"run folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in results:
        for diff in r.diffs[:10]:
            print(f"{r.case}: {diff}")
    # a failed case has lost = doubled = -1 (not measured): it fails the run too
    return 0 if all(r.lost == 0 and r.doubled == 0 and r.rejoined and not r.diffs for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
