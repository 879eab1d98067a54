"""`tension demo` end to end, as `make demo` runs it, on private ports and files."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.models import CATEGORIES
from devenv.procs import alive as _alive
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT
from tests.helpers import demo_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def seed_item_count() -> int:
    """Items the seeds hold: one per JSONL line plus one per text file."""
    seeds = PROJECT_ROOT / "seeds"
    lines = sum(1 for p in seeds.rglob("*.jsonl") for line in p.read_text().splitlines() if line.strip())
    return lines + len(list(seeds.rglob("*.txt"))) + len(list(seeds.rglob("*.md")))


def test_demo_fills_sqlite_and_leaves_nothing_running(tmp_path: Path) -> None:
    base = free_port_block(span=30)
    db = tmp_path / "demo.sqlite"  # where demo_env points the sink
    env = demo_env(tmp_path, base)
    proc = subprocess.run([sys.executable, "-m", "tension", "demo", "--timeout", "240"], env=env,
                          capture_output=True, text=True, timeout=420, cwd=PROJECT_ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]

    expected = seed_item_count()
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT COUNT(*) FROM items").fetchone()
        london = conn.execute("SELECT categories FROM items WHERE title LIKE 'Top trade officials%'").fetchone()
    assert stored == expected
    assert london is not None and "trade_talks" in json.loads(london[0])
    assert f"all {expected} items reached SQLite" in out
    assert "tension by category" in out and "trade_talks" in out
    assert str(db) in out

    # The latest index per category and overall: newest final 24 h window, from index_rows/alerts.
    assert "latest index by category" in out
    section = out.split("latest index by category", 1)[1]
    for category in (*CATEGORIES, "overall"):
        assert re.search(rf"│ {category} +│", section), f"no index row for {category}:\n{section[:3000]}"
    overall = re.search(r"│ overall +│ +(\d{4}-\d\d-\d\d \d\d:\d\d) +│ +([\d.]+|–) +│ +([-+][\d.]+|–) +│"
                        r" +([-+][\d.]+|–) +│ +(\d+) +│ +(\d+) +│", section)
    assert overall, section[:3000]
    with sqlite3.connect(db) as conn:
        (newest_end,) = conn.execute(
            "SELECT MAX(window_end) FROM index_rows WHERE category = 'overall' AND window_kind = 'hopping' "
            "AND final = 1").fetchone()
        (alerts,) = conn.execute("SELECT COUNT(*) FROM alerts WHERE category = 'overall'").fetchone()
    assert newest_end[:16].replace("T", " ") == overall.group(1)
    assert int(overall.group(6)) == alerts

    # Nothing it started survives: broker node(s), worker, sink.
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) >= 3  # broker node, worker, sink
    assert not [p for p in pids if _alive(p)]
    pid_files = list((tmp_path / "kafka").rglob("kafka.pid"))
    assert pid_files == []


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a job started in the background (`cmd &`) inherits


@pytest.mark.parametrize("sig,inherited", [(signal.SIGTERM, None), (signal.SIGINT, None),
                                           (signal.SIGINT, _ignore_sigint)], ids=["term", "int", "int-bg"])
def test_a_signal_to_the_demo_stops_everything_it_started(tmp_path: Path, sig: signal.Signals,
                                                          inherited: object) -> None:
    """Signalled while its worker and sink run, the demo stops them and the broker: no orphans.

    ``int-bg`` starts the demo with SIGINT ignored, as a shell's background job gets it: the demo
    must still stop on it (Python raises no KeyboardInterrupt for an inherited ignored SIGINT).
    """
    base = free_port_block(span=30)
    env = demo_env(tmp_path, base)
    log = tmp_path / "demo.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tension", "demo", "--keep-running"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                preexec_fn=inherited)  # type: ignore[arg-type]
    try:
        wait_for(lambda: b"started sink" in log.read_bytes() or proc.poll() is not None, 120,
                 "the demo to start its sink")
        assert proc.poll() is None, log.read_text()[-3000:]
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]
    assert len(pids) >= 3, text[-3000:]  # broker node, worker, sink
    assert not [p for p in pids if _alive(p)], text[-3000:]
    assert list((tmp_path / "kafka").rglob("kafka.pid")) == []
