"""The whole chain as `make demo-keep` runs it: the demo pipeline fills a store and serves the dashboard.

`tension demo --keep-running` (private ports and files, as in test_demo.py)
starts Kafka, worker, sink and — once the seeds are in SQLite — the
dashboard; headless Chromium then finds a chart per category with one point
per index row in the store, clicks a point whose window has contributing items
and sees them. Ctrl-C (SIGINT) stops everything the demo started.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devenv.procs import alive as _alive
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT
from tests.helpers import demo_env
from tests.integration.dashboard.test_dashboard_browser import (  # noqa: F401  (browser: the shared fixture)
    ARTIFACTS, CHROMIUM, browser, click_window, hide_daily, open_page, points_per_chart)

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]

def hopping_rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT category, COUNT(*) FROM index_rows WHERE window_kind = 'hopping' "
                                 "AND window_size_s = 86400 GROUP BY category").fetchall())


def wait_until_stable(db: Path, timeout_s: float = 90) -> dict[str, int]:
    """Index rows per category once the worker has stopped adding any for 3 s."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        try:
            now = hopping_rows(db)
        except sqlite3.Error:
            now = {}
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= 3:
            return now
        time.sleep(0.5)
    raise AssertionError(f"index rows did not settle within {timeout_s}s: {last}")


def test_demo_fills_a_store_and_serves_a_dashboard_that_shows_it(tmp_path: Path, browser: object) -> None:
    base = free_port_block(span=30)
    db = tmp_path / "demo.sqlite"  # where demo_env points the sink
    env = demo_env(tmp_path, base, TENSION_DASHBOARD__PORT=str(base + 7), TENSION_DASHBOARD__REFRESH_S="1")
    proc = subprocess.Popen([sys.executable, "-m", "tension", "demo", "--keep-running", "--timeout", "240"],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 300
        url = None
        while url is None:
            found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)", "".join(lines))
            url = found.group(1) if found else None
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the demo did not serve a dashboard:\n" + "".join(lines)[-4000:])
            time.sleep(0.5)
        assert url == f"http://127.0.0.1:{base + 7}/"

        expected = wait_until_stable(db)
        assert expected, "the demo's worker published no index rows into the store"
        page = open_page(browser, url)
        assert points_per_chart(page) == expected  # a chart per category, a point per 24 h window

        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            category, start, value = conn.execute(
                "SELECT category, window_start, \"index\" FROM index_rows WHERE window_kind = 'hopping' "
                "AND top_items <> '[]' AND category <> 'overall' ORDER BY window_start DESC LIMIT 1").fetchone()
        page.close()
        # the demo's days lie months apart: show a day around the window, so its point has room
        t = datetime.fromisoformat(start.replace("Z", "+00:00"))
        iso = lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: E731
        page = open_page(browser, f"{url}?category={category}&range=custom"
                                  f"&from={iso(t - timedelta(hours=12))}&to={iso(t + timedelta(hours=12))}")
        hide_daily(page)
        click_window(page, category, iso(t + timedelta(days=1)), value)
        page.wait_for_selector("#items li.item")
        assert category in page.inner_text("#items")  # the items' categories include the chart's
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-demo.png"), full_page=True)
        page.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the demo stops what it started
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
    out = "".join(lines)
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) >= 4, out[-3000:]  # broker, worker, sink, dashboard
    assert not [p for p in pids if _alive(p)]
