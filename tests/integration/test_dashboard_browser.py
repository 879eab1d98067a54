"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright for Python.

Each test starts ``tension dashboard`` as a process on a free loopback port over
a store, loads the page, and checks what a person would see: a chart per
category with every point, the items behind a clicked point, alerts arriving,
filters, and a clear message for an empty, unreachable or wrong store.
Screenshots go to test-artifacts/ (git-ignored). Playwright's own browser
downloads are never used: ``executable_path`` is /usr/bin/chromium.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.sinks.base import SinkRecord
from connectors.sinks.sqlite import SQLiteSink
from tension.dashboard.synthetic import CATEGORIES, SyntheticSpec, write_store
from tension.procs import free_port_block
from tension.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LOAD_BUDGET_MS = 1000.0

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


@contextmanager
def dashboard(store: str, refresh_s: float = 5.0) -> Iterator[str]:
    """`tension dashboard` as a child process; yields its URL, stops it by pid afterwards."""
    port = free_port_block(span=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env["TENSION_DASHBOARD__REFRESH_S"] = str(refresh_s)
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server can never block on it
    proc = subprocess.Popen([sys.executable, "-m", "tension", "dashboard", "--store", store, "--port", str(port)],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(f"the dashboard exited: {log.read()[-4000:]}")
            try:
                urllib.request.urlopen(url + "api/health", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers (e.g. 503 for an unreachable store): up
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the dashboard did not answer within 30 s") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        warm = b.new_page()  # the browser's own start-up is not the page's load time
        warm.goto("about:blank")
        warm.close()
        yield b
        b.close()


@pytest.fixture(scope="module")
def month_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SyntheticSpec]:
    """30 days × 5 categories (+ overall) of hourly 24 h windows, daily windows, items, alerts."""
    spec = SyntheticSpec(days=30)
    path = tmp_path_factory.mktemp("dash-browser") / "month.sqlite"
    write_store(path, spec)
    return f"sqlite:///{path}", spec


def open_page(browser: object, url: str, wait_for: str = "body[data-ready='1']") -> object:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(url)
    page.wait_for_selector(wait_for, timeout=15_000)
    return page


def wait_until(page: object, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression (wait_for_function would eval() it, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s}s: {expression}")
        time.sleep(0.1)


def points_per_chart(page: object) -> dict[str, int]:
    return page.evaluate(  # type: ignore[attr-defined]
        "Object.fromEntries([...document.querySelectorAll('section.chart')].map("
        "s => [s.dataset.category, s.querySelectorAll('circle.pt-h').length]))")


def test_a_chart_per_category_with_every_point_and_the_items_behind_one(browser: object, month_store) -> None:
    store, spec = month_store
    with dashboard(store) as url:
        page = open_page(browser, url)
        assert points_per_chart(page) == {c: spec.hourly_points for c in ("overall", *CATEGORIES)}
        daily = page.locator("section.chart[data-category='tariffs'] circle.pt-d")
        assert daily.count() == spec.days
        assert page.locator(".baseline").count() >= 6  # the 100 line on every chart (and the legend)
        open_points = page.locator("section.chart[data-category='tariffs'] circle.pt-h.open").count()
        assert 0 < open_points < spec.hourly_points  # still-open windows are drawn differently
        levels = page.locator("#levels .level")
        assert levels.count() == 6 and "since previous day" in levels.first.inner_text()
        assert page.locator("#alerts li").count() == spec.alerts

        # 720 points in ~850 px overlap: the newest is on top, as a person would click it.
        page.locator("section.chart[data-category='tariffs'] circle.pt-h").last.click()
        page.wait_for_selector("#items li.item")
        items = page.locator("#items li.item")
        assert items.count() == spec.items_per_window
        text = items.first.inner_text()
        assert "Tariffs:" in text and "tension" in text and "tariffs" in text and "weight" in text  # title, cues
        assert "still open" in page.inner_text("#details-body .window")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert page.errors == []
        page.close()


def test_page_load_with_30_days_of_hourly_points_is_under_one_second(browser: object, month_store) -> None:
    store, spec = month_store
    with dashboard(store) as url:
        urllib.request.urlopen(url + "api/health", timeout=5).close()
        timings = []
        for _ in range(3):
            page = open_page(browser, url)
            assert sum(points_per_chart(page).values()) == 6 * spec.hourly_points
            timings.append(page.evaluate("performance.getEntriesByName('charts-rendered')[0].startTime"))
            page.close()
    median = statistics.median(timings)
    print(f"\ndashboard page load (navigation start -> charts rendered), {6 * spec.hourly_points} hourly points "
          f"+ {6 * spec.days} daily: {', '.join(f'{t:.0f}' for t in timings)} ms; median {median:.0f} ms")
    (ARTIFACTS / "dashboard-load.json").write_text(json.dumps({"runs_ms": timings, "median_ms": median}))
    assert median < LOAD_BUDGET_MS


def test_filters_narrow_categories_and_time_range(browser: object, month_store) -> None:
    store, _ = month_store
    with dashboard(store) as url:
        page = open_page(browser, url + "?category=tariffs,visas")
        assert set(points_per_chart(page)) == {"tariffs", "visas"}
        page.select_option("#range", "7")
        wait_until(page, "document.querySelectorAll('section.chart[data-category=tariffs] circle.pt-h')"
                         ".length === 168")
        assert points_per_chart(page) == {"tariffs": 7 * 24, "visas": 7 * 24}
        page.locator("section.chart[data-category='visas'] circle.pt-h.final").nth(100).click()  # no overlap now
        page.wait_for_selector("#items li.item")
        assert "final" in page.inner_text("#details-body .window") and "Visas:" in page.inner_text("#items")
        page.locator("#category-filter input[value='visas']").uncheck()
        wait_until(page, "document.querySelectorAll('section.chart').length === 1")
        assert "category=tariffs" in page.url and "range=7" in page.url
        page.close()


def test_new_rows_and_alerts_appear_without_reloading(browser: object, tmp_path: Path) -> None:
    spec = SyntheticSpec(days=2, alerts=1)
    path = tmp_path / "live.sqlite"
    write_store(path, spec)
    with dashboard(f"sqlite:///{path}", refresh_s=0.5) as url:
        page = open_page(browser, url)
        assert points_per_chart(page)["tariffs"] == spec.hourly_points
        start = spec.end
        sink = SQLiteSink(path)
        sink.open()
        def hopping(window_start: datetime, index: float, offset: int) -> SinkRecord:
            return SinkRecord("index", {
                "category": "tariffs", "window_kind": "hopping", "window_size_s": 86_400,
                "window_start": window_start, "window_end": window_start + timedelta(days=1), "n_total": 10,
                "n_category": 5, "n_escalating": 5, "n_deescalating": 0, "share": 0.5, "index": index,
                "signed_mean": 0.8, "balance": 1.0, "final": False, "top_items": [],
                "emitted_at": start + timedelta(days=2)}, "t", 0, offset)

        sink.write_batch([
            hopping(start, 180.0, 1),  # a new window: one more point
            hopping(start - timedelta(hours=23), 240.0, 3),  # the trailing 24 h changes: the current level
            SinkRecord("alert", {"id": "fresh-alert", "category": "tariffs", "rule": "level", "window_start": start,
                                 "window_end": start + timedelta(days=1), "value": 240.0, "threshold": 200.0,
                                 "message": "tariffs 24 h index at 240, above 200", "items": [],
                                 "created_at": start + timedelta(days=2)}, "t", 0, 2),
        ])
        sink.close()
        page.wait_for_selector("#alerts li[data-id='fresh-alert'].new", timeout=10_000)
        wait_until(page, f"document.querySelectorAll('section.chart[data-category=tariffs] circle.pt-h')"
                         f".length === {spec.hourly_points + 1}")
        assert "240.0" in page.inner_text("#levels .level[data-category='tariffs']")
        assert page.locator("#alerts li").first.get_attribute("data-id") == "fresh-alert"
        page.close()


def test_clear_messages_for_unknown_category_empty_and_unreachable_stores(browser: object, month_store,
                                                                          tmp_path: Path) -> None:
    store, _ = month_store
    with dashboard(store) as url:
        page = open_page(browser, url + "?category=nonsense", wait_for="body[data-error]")
        message = page.inner_text("#message")
        assert 'Unknown category "nonsense"' in message and "tariffs" in message
        page.close()

    sink = SQLiteSink(tmp_path / "empty.sqlite")
    sink.open()
    sink.close()
    with dashboard(f"sqlite:///{tmp_path / 'empty.sqlite'}") as url:
        page = open_page(browser, url, wait_for="body[data-error]")
        assert "store is empty" in page.inner_text("#message")
        page.close()

    missing = tmp_path / "gone" / "tension.sqlite"
    with dashboard(f"sqlite:///{missing}") as url:
        page = open_page(browser, url, wait_for="body[data-error]")
        message = page.inner_text("#message")
        assert "unreachable" in message and str(missing) in message
        page.screenshot(path=str(ARTIFACTS / "dashboard-unreachable.png"))
        page.close()
