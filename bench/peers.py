"""The topology beside its peers, measured in one run on one broker (issue 15, point 5).

Run: make bench-peers ARGS="..."   (installs Quix Streams into .bench-deps first), or
     .venv/bin/python bench/peers.py [--items 50000] [--rounds 3] [--only topo1,topo2,quix,plain]
                                     [--latency 500,1000] [--latency-s 30] [--sustained 1000000]
     (uses TENSION_KAFKA_BOOTSTRAP when set, else starts the embedded broker on free ports)

Drain: ``--items`` NewsItems (every ``published_at`` in the current hour: one dense pane)
are preloaded once into one 2-partition topic; each contender then drains them from
offset 0 with its own consumer group and output topics, ``--rounds`` rounds, the
contenders' order rotated each round so none always runs on the quietest machine:

* ``topo1`` / ``topo2``: one / two ``tension worker`` processes (same app id, rocksdb
  store); done when the ``overall`` tumbling rows of the index topic count every item;
* ``quix``: ``bench/peer_apps.py quix`` (decode → our classifier → produce + 1 h tumbling
  count/sum per category); done when its ``overall`` window counts every item;
* ``plain``: ``bench/peer_apps.py plain`` (decode → classify → produce); done when the
  output topic holds every item.

events/s = items / (done − first output seen), so start-up (Faust's or Quix's join and
assignment) is not counted; it is printed apart. CPU s = user + system seconds of the
contender's processes from their start to done (``/proc``), RSS = their peak (VmHWM).
Printed: median [min–max] per contender, ratios of the medians, the 1-min load average.

Latency (``--latency``): per offered rate, for ``--latency-kinds`` (default ``topo1``, ``quix``, ``plain``): a fresh
empty topic, the contender started and warmed up (one item per partition counted),
then items sent at the fixed rate for ``--latency-s`` s with ``published_at`` = send time;
latency = first output that counts the item − its send time (items are counted in send
order: ranks), p50/p99, and the catch-up after the last send.

Profile (``--spy DIR``): py-spy (``pip install py-spy``) samples every topology worker of
the drains, 100 Hz, ``--idle`` off, threads included, into ``DIR/<tag>-<k>.txt`` (collapsed stacks,
``--format raw``); ``bench/spy_report.py DIR/*.txt`` sums them by stage.

Before/after (``--base DIR``): contenders ``base1`` / ``base2`` run the topology of another
checkout (e.g. ``git archive <commit> | tar -x -C DIR`` plus its compiled classifier) on the
same broker and preload, so a change is measured against its baseline in the same run;
``--latency-kinds topo1,base1`` picks the contenders of the latency runs.

Sustained (``--sustained N``): N items preloaded, one worker drains them; the rate of
each 100k counted items and the worker's peak RSS; ratio last 100k / first 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import bench_broker, corpus_items  # noqa: E402
from schemas.serde import AvroDeserializer, AvroSerializer  # noqa: E402
from streams.config import StreamConfig, TopicConfig  # noqa: E402
from streams.topics import TopicSpec, topic_specs  # noqa: E402
from tension.admin import apply_specs  # noqa: E402
from devenv.procs import free_port_block  # noqa: E402

PARTITIONS = 2
BENCH_DEPS = ROOT / ".bench-deps"  # where `make bench-peers` installs quixstreams
TICK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- counting what a contender has done ------------------------------------------------
def topology_counter() -> Callable[[object], int]:
    """Items counted so far = Σ over tumbling windows of the latest ``overall`` n_total."""
    decode = AvroDeserializer("TensionIndexUpdate")
    latest: dict[int, int] = {}

    def counted(m) -> int:
        row = decode(m.value())
        if row["category"] == "overall" and row["window_kind"] == "tumbling":
            key = int(row["window_start"].timestamp())
            latest[key] = max(latest.get(key, 0), row["n_total"])
        return sum(latest.values())
    return counted


def quix_counter() -> Callable[[object], int]:
    latest: dict[int, int] = {}

    def counted(m) -> int:
        if m.key() == b'"overall"':
            row = json.loads(m.value())
            latest[row["start"]] = max(latest.get(row["start"], 0), row["count"])
        return sum(latest.values())
    return counted


def record_counter() -> Callable[[object], int]:
    seen = [0]

    def counted(_m) -> int:
        seen[0] += 1
        return seen[0]
    return counted


class Watch(threading.Thread):
    """Reads one output topic from the start and stamps when each rank of item got counted."""

    def __init__(self, bootstrap: str, topic: str, counted: Callable[[object], int], target: int) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.counted, self.target = bootstrap, topic, counted, target
        self.first: float | None = None
        self.done_at: list[float] = []  # time (s) the k-th item was first counted
        self.marks: dict[int, float] = {}
        self.stop = threading.Event()
        self.done = threading.Event()
        self.ready = threading.Event()  # set after the first fetch: start the contender after it

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"watch-{time.time_ns()}",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        # assigned, not subscribed: no group join, so it reads from the moment it starts
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        try:
            while not self.stop.is_set():
                first = c.poll(0.2)  # not consume(n, timeout): that waits for n records (latency)
                self.ready.set()
                if first is None:
                    continue
                for m in [first, *c.consume(999, timeout=0)]:
                    if m.error():
                        continue
                    now = time.time()
                    self.first = self.first or now
                    total = min(self.counted(m), self.target)
                    while len(self.done_at) < total:
                        self.done_at.append(now)
                    if len(self.done_at) >= self.target:
                        self.done.set()
        finally:
            c.close()


# --- contenders --------------------------------------------------------------------------
@dataclass
class Run:
    watch_topic: str
    counter: Callable[[], Callable[[object], int]]
    commands: list[tuple[list[str], dict[str, str], Path]] = field(default_factory=list)  # argv, env, log
    cwd: Path = ROOT  # where the commands run (another checkout for the base contenders)
    procs: list[subprocess.Popen] = field(default_factory=list)
    started: float = 0.0
    spy: Path | None = None  # py-spy output folder (topology workers only)
    spies: list[subprocess.Popen] = field(default_factory=list)

    def watch(self, bootstrap: str, target: int) -> Watch:
        """Start the watcher, then (once it reads) the contender's processes."""
        watch = Watch(bootstrap, self.watch_topic, self.counter(), target)
        watch.start()
        watch.ready.wait(60)
        self.started = time.time()
        for argv, env, log in self.commands:
            self.procs.append(subprocess.Popen(argv, env=env, cwd=self.cwd, stdout=open(log, "wb"),
                                               stderr=subprocess.STDOUT))
            if self.spy is not None:
                out = self.spy / f"{log.stem}.txt"
                self.spies.append(subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(self.procs[-1].pid),
                     "--rate", "100", "--format", "raw", "--threads", "--output", str(out)],
                    stdout=subprocess.DEVNULL, stderr=open(log.with_suffix(".spy.log"), "wb")))
        return watch

    def stop(self) -> dict[str, float]:
        cpu = sum(cpu_s(p.pid) for p in self.procs)
        rss = max(peak_rss_mib(p.pid) for p in self.procs)
        for spy in self.spies:  # SIGINT: py-spy writes what it sampled and exits
            spy.send_signal(signal.SIGINT)
        for spy in self.spies:
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        return {"cpu": cpu, "rss": rss}


BASE: Path | None = None  # --base: another checkout whose topology runs as base1 / base2


def prepare(kind: str, bootstrap: str, src: str, tmp: Path, spy: Path | None = None) -> Run:
    """The contender's output topics (created now) and commands (started by :meth:`Run.watch`)."""
    tag = f"{kind}-{time.time_ns()}"
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    if kind.startswith(("topo", "base")):
        topics = TopicConfig(raw=src, classified=f"peers.cls-{tag}", index=f"peers.idx-{tag}",
                             alerts=f"peers.alerts-{tag}", deadletter=f"peers.dead-{tag}", partitions=PARTITIONS)
        cfg = StreamConfig(bootstrap=bootstrap, app_id=f"peers-{tag}", topics=topics)
        apply_specs(bootstrap, [s for r, s in topic_specs(cfg).items() if r != "raw"])
        root = BASE if kind.startswith("base") and BASE else ROOT
        run = Run(topics.index, topology_counter, spy=spy, cwd=root)
        for w in range(2 if kind in ("topo2", "base2") else 1):
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("TENSION_")},
                   "TENSION_KAFKA_BOOTSTRAP": bootstrap, "TENSION_KAFKA__PARTITIONS": str(PARTITIONS),
                   "TENSION_TOPICS__RAW": topics.raw, "TENSION_TOPICS__CLASSIFIED": topics.classified,
                   "TENSION_TOPICS__INDEX": topics.index, "TENSION_TOPICS__ALERTS": topics.alerts,
                   "TENSION_TOPICS__DEADLETTER": topics.deadletter, "TENSION_STREAM__APP_ID": cfg.app_id,
                   "TENSION_STREAM__STORE": "rocksdb://", "TENSION_STREAM__DATA_DIR": str(tmp / "state"),
                   "TENSION_STREAM__WEB_PORT": str(free_port_block(span=2)),
                   "TENSION_STREAM__SESSION_TIMEOUT_S": "10", "PYTHONPATH": str(root)}
            run.commands.append(([sys.executable, "-m", "tension", "worker"], env, logs / f"{tag}-{w}.log"))
        return run
    out, idx = f"peers.out-{tag}", f"peers.idx-{tag}"
    apply_specs(bootstrap, [TopicSpec(out, PARTITIONS, 1, "item id"), TopicSpec(idx, PARTITIONS, 1, "category")])
    env = dict(os.environ)
    if kind == "quix":  # the bench-only install shadows nothing of the worker's: only this process sees it
        env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DEPS), str(ROOT)])
    cmd = [sys.executable, str(ROOT / "bench" / "peer_apps.py"), kind, "--bootstrap", bootstrap, "--src", src,
           "--out", out, "--index", idx, "--group", f"peers-{tag}", "--state", str(tmp / "quix-state" / tag)]
    return Run(idx if kind == "quix" else out, quix_counter if kind == "quix" else record_counter,
               [(cmd, env, logs / f"{tag}.log")])


# --- producing ---------------------------------------------------------------------------
def producer(bootstrap: str):
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": True})


def send(p, topic: str, item: dict, encode, partition: int | None = None) -> int:
    now = time.time_ns() // 1_000_000
    item["published_at"] = datetime.fromtimestamp(now / 1000, tz=timezone.utc)
    kw = {} if partition is None else {"partition": partition}
    while True:
        try:
            p.produce(topic, key=item["id"].encode(), value=encode(item), timestamp=now, **kw)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
    return now


def preload(bootstrap: str, n: int) -> str:
    topic = f"peers.raw-{time.time_ns()}"
    apply_specs(bootstrap, [TopicSpec(topic, PARTITIONS, 1, "item id")])
    p, encode = producer(bootstrap), AvroSerializer("NewsItem")
    hour = time.time() // 3600
    if time.time() - hour * 3600 > 3300:  # keep the whole preload in one hour (one dense pane)
        time.sleep(3600 - (time.time() - hour * 3600) + 1)
    for item in corpus_items(n):
        send(p, topic, item, encode)
    p.flush(120)
    return topic


# --- the three measurements ----------------------------------------------------------------
def drain(kind: str, bootstrap: str, src: str, n: int, tmp: Path, timeout_s: float,
          spy: Path | None = None) -> dict[str, float]:
    load = os.getloadavg()[0]
    run = prepare(kind, bootstrap, src, tmp, spy)
    watch = run.watch(bootstrap, n)
    ok = watch.done.wait(timeout_s)
    res = run.stop()
    watch.stop.set()
    watch.join(10)
    if not ok or watch.first is None:
        return {"rate": float("nan"), "startup": float("nan"), "load": load, **res,
                "counted": len(watch.done_at)}
    end = watch.done_at[-1]
    return {"rate": n / (end - watch.first), "startup": watch.first - run.started, "load": load,
            "counted": len(watch.done_at), **res}


def latency(kind: str, bootstrap: str, rate: int, seconds: float, tmp: Path) -> dict[str, float]:
    src = f"peers.lat-{time.time_ns()}"
    apply_specs(bootstrap, [TopicSpec(src, PARTITIONS, 1, "item id")])
    n = int(rate * seconds)
    items = corpus_items(n + PARTITIONS)
    run = prepare(kind, bootstrap, src, tmp)
    watch = run.watch(bootstrap, n + PARTITIONS)
    p, encode = producer(bootstrap), AvroSerializer("NewsItem")
    try:
        for k in range(PARTITIONS):  # warm-up: every partition assigned and read before the clock runs
            send(p, src, items[k], encode, partition=k)
        p.flush(30)
        deadline = time.time() + 180
        while len(watch.done_at) < PARTITIONS and time.time() < deadline:
            time.sleep(0.1)
        if len(watch.done_at) < PARTITIONS:
            raise RuntimeError(f"{kind} did not count the warm-up items; logs in {tmp / 'logs'}")
        load = os.getloadavg()[0]
        sent = []
        t0 = time.time()
        for k, item in enumerate(items[PARTITIONS:]):
            pause = t0 + k / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            sent.append(send(p, src, item, encode) / 1000)
        p.flush(30)
        watch.done.wait(120)
    finally:
        res = run.stop()
        watch.stop.set()
        watch.join(10)
    done = watch.done_at[PARTITIONS:]
    lat = [(d - s) * 1000 for d, s in zip(done, sent)]
    return {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat, default=float("nan")),
            "counted": len(done), "sent": len(sent), "catchup": (done[-1] - sent[-1]) if len(done) == len(sent)
            else float("nan"), "offered": len(sent) / (sent[-1] - sent[0]), "load": load, **res}


def sustained(bootstrap: str, n: int, tmp: Path) -> None:
    print(f"sustained: preloading {n} items...", flush=True)
    src = preload(bootstrap, n)
    run = prepare("topo1", bootstrap, src, tmp)
    watch = run.watch(bootstrap, n)
    step = 100_000
    ok = watch.done.wait(6 * 3600)
    res = run.stop()
    watch.stop.set()
    done = watch.done_at
    marks = [watch.first or 0.0] + [done[k - 1] for k in range(step, len(done) + 1, step)]
    rates = [step / (b - a) for a, b in zip(marks, marks[1:])]
    print(f"sustained {n} items, 1 worker: {'done' if ok else f'only {len(done)} counted'}; "
          f"peak RSS {res['rss']:.0f} MiB, CPU {res['cpu']:.0f} s, load {os.getloadavg()[0]:.1f}")
    print("  events/s per 100k: " + ", ".join(f"{r:,.0f}" for r in rates))
    if len(rates) >= 2:
        print(f"  last 100k / first 100k: {rates[-1] / rates[0]:.2f}")


def summary(values: list[float], fmt: str = ",.0f") -> str:
    good = [v for v in values if v == v]
    if not good:
        return "n/a"
    return f"{statistics.median(good):{fmt}} [{min(good):{fmt}}–{max(good):{fmt}}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="topo1,topo2,quix,plain", help="drain contenders, comma-separated")
    ap.add_argument("--latency", default="500,1000", help="offered rates (items/s); empty: skip")
    ap.add_argument("--latency-s", type=float, default=30.0)
    ap.add_argument("--sustained", type=int, default=0, help="items of the sustained run (0: skip)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one drain may take")
    ap.add_argument("--spy", type=Path, help="py-spy every topology worker of the drains into this folder")
    ap.add_argument("--base", type=Path, help="another checkout (e.g. `git archive <commit> | tar -x -C DIR` plus "
                    "its compiled classifier): contenders base1/base2 and latency kind base1 run its topology")
    ap.add_argument("--latency-kinds", default="topo1,quix,plain", help="contenders of the latency runs")
    a = ap.parse_args()
    global BASE
    BASE = a.base.resolve() if a.base else None
    if a.spy:
        a.spy.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in a.only.split(",") if k]
    if "quix" in kinds and not (BENCH_DEPS / "quixstreams").exists():
        raise SystemExit(f"quixstreams is not in {BENCH_DEPS}: run `make bench-peers` (or drop it from --only)")
    bootstrap, cluster, tmp = bench_broker("bench-peers-")
    print(f"broker {bootstrap}, {PARTITIONS} partitions, cpus {os.cpu_count()}, logs {tmp / 'logs'}", flush=True)
    try:
        if kinds and a.rounds:
            src = preload(bootstrap, a.items)
            results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
            for r in range(a.rounds):
                for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
                    res = drain(kind, bootstrap, src, a.items, tmp, a.timeout, a.spy)
                    results[kind].append(res)
                    print(f"round {r + 1} {kind:6} {res['rate']:>8,.0f} events/s  start-up {res['startup']:5.1f} s  "
                          f"CPU {res['cpu']:5.1f} s  RSS {res['rss']:4.0f} MiB  load {res['load']:.1f}"
                          f"  counted {res['counted']}", flush=True)
            print(f"\ndrain of {a.items} preloaded items, {a.rounds} rounds: median [min–max]")
            med = {}
            for kind in kinds:
                rs = results[kind]
                med[kind] = statistics.median([x["rate"] for x in rs])
                print(f"  {kind:6} events/s {summary([x['rate'] for x in rs]):>24}   CPU s "
                      f"{summary([x['cpu'] for x in rs], '.1f'):>18}   peak RSS MiB {summary([x['rss'] for x in rs])}"
                      f"   load {summary([x['load'] for x in rs], '.1f')}")
            ratios = [("topo1", "quix"), ("topo1", "plain"), ("topo2", "topo1"), ("quix", "plain"),
                      ("topo1", "base1"), ("base1", "quix"), ("base2", "base1"), ("topo2", "base2")]
            for x, y in ratios:
                if x in med and y in med:
                    print(f"  {x}/{y}: {med[x] / med[y]:.2f}")
        for rate in [int(r) for r in a.latency.split(",") if r]:
            for kind in [k for k in a.latency_kinds.split(",") if k]:
                if kind == "quix" and not (BENCH_DEPS / "quixstreams").exists():
                    continue
                res = latency(kind, bootstrap, rate, a.latency_s, tmp)
                print(f"latency {rate}/s {kind:6} offered {res['offered']:,.0f}/s  p50 {res['p50']:6.0f} ms  "
                      f"p99 {res['p99']:6.0f} ms  max {res['max']:6.0f} ms  catch-up {res['catchup']:.2f} s  "
                      f"counted {res['counted']}/{res['sent']}  load {res['load']:.1f}", flush=True)
        if a.sustained:
            sustained(bootstrap, a.sustained, tmp)
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
