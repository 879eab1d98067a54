"""The main job on the embedded default: local Kafka + worker + SQLite sink + seeds.

Runs every part as the real thing (broker process, Faust worker process, sink
process), publishes ``seeds/``, waits with a deadline until every published
item is in SQLite, prints a per-category summary and the latest index per
category (the SQLite store's ``index_rows`` and ``alerts``), and stops what it
started.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.sources import publish_paths
from schemas.models import CATEGORIES
from streams.index import OVERALL
from streams.topics import topic_specs
from tension.admin import apply_specs
from tension.settings import PROJECT_ROOT, Settings
from tension.wiring import local_cluster, stream_config

log = logging.getLogger(__name__)


class DemoError(RuntimeError):
    """A part of the demo failed; the message says which and shows its log."""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Demo:
    settings: Settings
    console: Console
    keep_running: bool = False
    timeout_s: float = 300.0
    children: list[Child] = field(default_factory=list)

    def run(self, paths: list[Path]) -> int:
        s = self.settings
        cluster = local_cluster(s.local_kafka)
        started_kafka = not cluster.running_pids()
        # SIGTERM would end the process without unwinding, leaving broker, worker, sink and
        # dashboard as orphans: treat it like Ctrl-C, so the finally below stops them. SIGINT is
        # installed too: a process started from a background job inherits SIGINT ignored, and
        # Python then never raises KeyboardInterrupt, so Ctrl-C (or `kill -INT`) would do nothing.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if started_kafka:
                self.console.print("starting the embedded Apache Kafka broker …")
                secs = cluster.start(s.local_kafka.start_timeout_s)
                self.console.print(f"Kafka {s.local_kafka.version} ready at {cluster.bootstrap} in {secs:.1f}s")
            bootstrap = cluster.bootstrap
            created, _ = apply_specs(bootstrap, topic_specs(stream_config(s)).values())
            if created:
                self.console.print(f"created topics: {', '.join(created)}")
            # children run from the package directory (their imports): the same home keeps their data paths ours
            env = {**os.environ, "TENSION_KAFKA_BOOTSTRAP": bootstrap, "TENSION_HOME": str(s.home_dir)}
            self._spawn("worker", ["worker"], env)
            self._spawn("sink", ["sink", "sqlite", "--path", str(s.sink.sqlite_path)], env)
            report = publish_paths([str(p) for p in paths], bootstrap=bootstrap, topic=s.topics.raw,
                                   deadletter_topic=s.topics.deadletter, progress=sys.stderr.isatty(),
                                   in_time_order=True)  # a backfill: as a live feed would deliver it
            self.console.print(f"published {report.sent} items ({report.dead_lettered} dead-lettered) "
                               f"in {report.elapsed_s:.1f}s")
            self._wait_for_items(set(report.sent_ids))
            self.console.print(summary_table(s.sink.sqlite_path))
            self._wait_for_index(len(report.sent_ids))
            self.console.print(index_table(s.sink.sqlite_path, s.stream.window_hours * 3600))
            self.console.print(f"SQLite store: [bold]{s.sink.sqlite_path}[/bold]")
            if self.keep_running:
                d = s.dashboard
                worker_api = f"http://{s.stream.web_host}:{s.stream.web_port}/"
                self._spawn("dashboard", ["dashboard", "--store", self.store_url, "--api", worker_api,
                                          "--host", d.host, "--port", str(d.port)], env)
                url = f"http://{d.host}:{d.port}/"
                self._wait_until_answers(url)  # print the address only once it serves
                self.console.print(f"dashboard: {url}", soft_wrap=True)
                self.console.print("keeping Kafka, worker, sink and dashboard running; stop with Ctrl-C")
                self._wait_forever()
        finally:  # with --keep-running we only get here after Ctrl-C or SIGTERM
            for sig in previous:  # a second signal must not cut the clean-up short
                signal.signal(sig, signal.SIG_IGN)
            try:
                self._stop_children()
                if started_kafka:
                    cluster.stop()
                    self.console.print("stopped the embedded Kafka broker")
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        if not self.keep_running:  # the last line: where to look at the results
            d = s.dashboard
            self.console.print(f"dashboard: run `tension dashboard --store {self.store_url}` and open "
                               f"http://{d.host}:{d.port}/", soft_wrap=True)
        return 0

    @property
    def store_url(self) -> str:
        """The demo's SQLite store as a `tension dashboard --store` URL."""
        return f"sqlite:///{self.settings.sink.sqlite_path.resolve()}"

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log_dir = self.settings.sink.sqlite_path.parent / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "tension", *args], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    cwd=PROJECT_ROOT)
        self.children.append(Child(name, proc, log_path))
        self.console.print(f"started {name} (pid {proc.pid}), log: {log_path}")

    def _wait_until_answers(self, url: str, timeout_s: float = 60.0) -> None:
        """Poll `url` until it answers HTTP; fail with the child's log if a child exits first."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answered, even if with an error status
            except OSError:
                if time.monotonic() > deadline:
                    raise DemoError(f"{url} did not answer within {timeout_s:.0f}s") from None
                time.sleep(0.3)

    def _check_children(self) -> None:
        for child in self.children:
            if child.proc.poll() is not None:
                raise DemoError(f"the {child.name} exited with code {child.proc.returncode}:\n{child.tail()}")

    def _wait_for_items(self, ids: set[str]) -> None:
        deadline = time.monotonic() + self.timeout_s
        columns = (TextColumn("items in SQLite"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, disable=not self.console.is_terminal) as bar:
            task = bar.add_task("sqlite", total=len(ids))
            while True:
                self._check_children()
                done = count_present(self.settings.sink.sqlite_path, ids)
                bar.update(task, completed=done)
                if done == len(ids):
                    self.console.print(f"all {done} items reached SQLite")
                    return
                if time.monotonic() > deadline:
                    raise DemoError(f"only {done}/{len(ids)} items reached SQLite in {self.timeout_s:.0f}s; "
                                    f"worker log:\n{self.children[0].tail()}")
                time.sleep(0.5)

    def _wait_for_index(self, n_items: int, settle_s: float = 3.0, timeout_s: float = 60.0) -> None:
        """Wait until the worker counted every item and the sink's index tables stopped changing.

        Index rows trail the items (the index stage runs after classification), so
        printing right away could show an older window. Never fails the demo: after
        ``timeout_s`` it prints what the store holds.
        """
        api = f"http://{self.settings.stream.web_host}:{self.settings.stream.web_port}/api/categories"
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            self._check_children()
            counted = worker_counted(api)
            state = index_fingerprint(self.settings.sink.sqlite_path)
            if state != last:
                last, since = state, time.monotonic()
            elif counted >= n_items and time.monotonic() - since >= settle_s:
                return
            time.sleep(0.5)
        log.warning("index rows still changing after %.0fs; showing what the store holds", timeout_s)

    def _wait_forever(self) -> None:
        try:
            while True:
                self._check_children()
                time.sleep(1)
        except KeyboardInterrupt:
            pass

    def _stop_children(self) -> None:
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in 30s; killing it", child.name)
                child.proc.kill()
                child.proc.wait()
        self.children.clear()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def count_present(db_path: Path, ids: set[str]) -> int:
    """How many of `ids` are in the items table (0 while the sink has not created it)."""
    if not db_path.exists():
        return 0
    with sqlite3.connect(db_path, timeout=10) as db:
        try:
            present = {row[0] for row in db.execute("SELECT item_id FROM items")}
        except sqlite3.OperationalError:
            return 0
    return len(ids & present)


def summary_table(db_path: Path) -> Table:
    """Per-category counts, directions and mean tension, straight from the store."""
    table = Table(title="tension by category (SQLite store)")
    for col in ("category", "items", "escalating", "de-escalating", "neutral", "mean tension"):
        if col == "category":
            table.add_column(col, no_wrap=True, min_width=17)
        else:
            table.add_column(col, justify="right")
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT c.category, COUNT(*), SUM(i.direction='escalation'), SUM(i.direction='deescalation'), "
            "SUM(i.direction='neutral'), AVG(i.tension) FROM item_categories c JOIN items i USING(item_id) "
            "GROUP BY c.category ORDER BY c.category"
        ).fetchall()
        total, none = db.execute(
            "SELECT COUNT(*), SUM(categories = '[]') FROM items").fetchone()
    for cat, n, esc, de, neu, mean in rows:
        table.add_row(cat, str(n), str(esc), str(de), str(neu), f"{mean:+.3f}")
    table.add_row("(no category)", str(none or 0), "", "", "", "")
    table.add_row("[bold]all items[/bold]", str(total), "", "", "", "")
    return table


def worker_counted(api_url: str) -> int:
    """Items the worker's index stage has counted (0 while its API is not answering)."""
    try:
        with urllib.request.urlopen(api_url, timeout=5) as resp:
            return int(json.loads(resp.read()).get("counted") or 0)
    except (OSError, ValueError):
        return 0


def index_fingerprint(db_path: Path) -> tuple[int, int, str | None]:
    """(index rows, alerts, newest emitted_at): changes whenever the sink writes index output."""
    try:
        with sqlite3.connect(db_path, timeout=10) as db:
            n, newest = db.execute("SELECT COUNT(*), MAX(emitted_at) FROM index_rows").fetchone()
            (alerts,) = db.execute("SELECT COUNT(*) FROM alerts").fetchone()
    except sqlite3.OperationalError:
        return 0, 0, None
    return n, alerts, newest


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def index_table(db_path: Path, window_s: int) -> Table:
    """The newest final hopping window's index, signed mean and balance per category, plus alerts."""
    table = Table(title=f"latest index by category (newest final {window_s // 3600} h window, SQLite store)")
    table.add_column("category", no_wrap=True, min_width=17)
    for col in ("window end (UTC)", "index", "signed mean", "balance", "items", "alerts"):
        table.add_column(col, justify="right")
    with sqlite3.connect(db_path) as db:
        latest = {row[0]: row[1:] for row in db.execute(
            'SELECT r.category, r.window_end, r."index", r.signed_mean, r.balance, r.n_category FROM index_rows r '
            "WHERE r.window_kind = 'hopping' AND r.window_size_s = ? AND r.final = 1 AND r.window_start = "
            "(SELECT MAX(x.window_start) FROM index_rows x WHERE x.category = r.category "
            "AND x.window_kind = 'hopping' AND x.window_size_s = ? AND x.final = 1)", (window_s, window_s))}
        alerts = dict(db.execute("SELECT category, COUNT(*) FROM alerts GROUP BY category").fetchall())
    for category in (*CATEGORIES, OVERALL):
        end, index, mean, balance, n = latest.get(category, (None,) * 5)
        table.add_row(category, (end or "–")[:16].replace("T", " "), _num(index, ".1f"), _num(mean, "+.3f"),
                      _num(balance, "+.2f"), "–" if n is None else str(n), str(alerts.get(category, 0)))
    return table
