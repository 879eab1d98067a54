"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright for Python.

Each test starts ``tension dashboard`` as a process on a free loopback port over
a store, loads the page, and checks what a person would see: a chart per
category with every point, the interval band, zoom and a from/to range, cards
that say "no items", alerts that select their point, the items behind a clicked
point, alerts arriving, filters, and a clear message for an empty, unreachable
or wrong store. The charts are uPlot canvases: a point is aimed at from the
scales the page puts on each chart (``data-x-min`` … on ``section.chart``) and
its plot area (``.u-over``); the band is found by its colour in the canvas.
Screenshots go to test-artifacts/ (git-ignored). Playwright's own browser
downloads are never used: ``executable_path`` is /usr/bin/chromium.
"""

from __future__ import annotations

import json
import os
import sqlite3
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
from dashboard.page import vendor_missing
from dashboard.synthetic import CATEGORIES, SyntheticSpec, write_store
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
#: The target is a page in under 1 s (printed and kept in test-artifacts/dashboard-load.json, a
#: figure, not a verdict); the assertion only catches a page that is pathologically slow, since a
#: wall-clock bound tight enough to show the target fails on a shared, loaded runner (1.1-1.5 s
#: measured at load 10-17).
LOAD_TARGET_MS = 1000.0
LOAD_LIMIT_MS = 5000.0

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
    missing = vendor_missing()
    assert not missing, f"the dashboard's chart library is not installed ({missing}): run `make setup`"
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
    """Hourly windows each chart was given (``data-points`` is set when its uPlot instance is built)."""
    return page.evaluate(  # type: ignore[attr-defined]
        "Object.fromEntries([...document.querySelectorAll('section.chart')].map("
        "s => [s.dataset.category, Number(s.dataset.points)]))")


BAND_RGB = (198, 216, 240)  # charts.js draws the interval band in this opaque colour


def band_pixels(page: object, category: str) -> int:
    """Pixels of the chart's canvas painted in the band colour: > 0 only if a band was drawn."""
    return page.evaluate(  # type: ignore[attr-defined]
        """([cat, rgb]) => {
          const c = document.querySelector(`section.chart[data-category="${cat}"] canvas`);
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] === rgb[0] && d[i + 1] === rgb[1] && d[i + 2] === rgb[2]) n++;
          return n;
        }""", [category, list(BAND_RGB)])


def iso_ms(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


def click_window(page: object, category: str, window_end: str, index: float) -> None:
    """Click where the chart draws the 24 h value ``index`` at ``window_end`` (linear scales)."""
    section = page.locator(f"section.chart[data-category='{category}']")  # type: ignore[attr-defined]
    section.locator(".u-over").scroll_into_view_if_needed()  # the mouse works in viewport coordinates
    d = section.evaluate("s => ({...s.dataset})")
    box = section.locator(".u-over").bounding_box()
    x0, x1, y0, y1 = iso_ms(d["xMin"]), iso_ms(d["xMax"]), float(d["yMin"]), float(d["yMax"])
    x = box["x"] + (iso_ms(window_end) - x0) / (x1 - x0) * box["width"]
    y = box["y"] + (y1 - index) / (y1 - y0) * box["height"]
    x = min(max(x, box["x"] + 1), box["x"] + box["width"] - 1)  # the newest window sits on the edge,
    y = min(max(y, box["y"] + 1), box["y"] + box["height"] - 1)  # an index of 0 on the bottom one
    page.mouse.move(x, y)  # type: ignore[attr-defined]
    page.mouse.click(x, y)  # type: ignore[attr-defined]


def hide_daily(page: object) -> None:
    """Only the 24 h line is clickable then (a click picks the nearer of the two lines)."""
    page.locator("#show-daily").uncheck()  # type: ignore[attr-defined]
    wait_until(page, "document.querySelector('section.chart .u-over') !== null")


def test_a_chart_per_category_with_every_point_and_the_items_behind_one(browser: object, month_store) -> None:
    store, spec = month_store
    with dashboard(store) as url:
        page = open_page(browser, url)
        assert points_per_chart(page) == {c: spec.hourly_points for c in ("overall", *CATEGORIES)}
        tariffs = page.locator("section.chart[data-category='tariffs']")
        assert tariffs.get_attribute("data-days") == str(spec.days)
        assert 0 < int(tariffs.get_attribute("data-open")) < spec.hourly_points  # still-open windows exist
        assert "window end (UTC)" in tariffs.inner_text()  # the legend (and the canvas axis) name the time zone
        levels = page.locator("#levels .level")
        assert levels.count() == 6 and "since previous day" in levels.first.inner_text()
        assert page.locator("#alerts li").count() == spec.alerts

        hide_daily(page)
        newest = tariffs.get_attribute("data-x-max")  # the newest window's end: still open
        value = page.evaluate("fetch('/api/series?category=tariffs&kind=hopping').then(r => r.json())"
                              ".then(b => b.series.tariffs.hopping.at(-1).index)")
        click_window(page, "tariffs", newest, value)
        page.wait_for_selector("#items li.item")
        items = page.locator("#items li.item")
        assert items.count() == spec.items_per_window
        text = items.first.inner_text()
        assert "Tariffs:" in text and "tension" in text and "tariffs" in text and " cue" in text  # title, cues
        assert "learned:" not in text and "weight" not in text  # cues in words, not internal names
        assert "still open" in page.inner_text("#details-body .window")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert page.errors == []
        page.close()


def test_page_with_30_days_of_hourly_points_renders_them_all(browser: object, month_store) -> None:
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
          f"+ {6 * spec.days} daily: {', '.join(f'{t:.0f}' for t in timings)} ms; median {median:.0f} ms "
          f"(target {LOAD_TARGET_MS:.0f} ms)")
    (ARTIFACTS / "dashboard-load.json").write_text(json.dumps({"runs_ms": timings, "median_ms": median}))
    assert median < LOAD_LIMIT_MS


def test_filters_narrow_categories_and_time_range(browser: object, month_store) -> None:
    store, _ = month_store
    with dashboard(store) as url:
        page = open_page(browser, url + "?category=tariffs,visas")
        assert set(points_per_chart(page)) == {"tariffs", "visas"}
        page.select_option("#range", "7")
        wait_until(page, "document.querySelector('section.chart[data-category=tariffs]')?.dataset.points === '168'")
        assert points_per_chart(page) == {"tariffs": 7 * 24, "visas": 7 * 24}
        assert page.locator("#levels .level").count() == 2  # the cards follow the category filter
        hide_daily(page)
        rows = page.evaluate("fetch('/api/series?category=visas&kind=hopping').then(r => r.json())"
                             ".then(b => b.series.visas.hopping)")
        target = rows[-100]  # a final window (the newest ~22 are still open)
        end = datetime.fromisoformat(target["window_start"].replace("Z", "+00:00")) + timedelta(days=1)
        click_window(page, "visas", end.isoformat().replace("+00:00", "Z"), target["index"])
        page.wait_for_selector("#items li.item")
        assert "final" in page.inner_text("#details-body .window") and "Visas:" in page.inner_text("#items")
        page.locator("#category-filter input[value='visas']").uncheck()
        wait_until(page, "document.querySelectorAll('section.chart').length === 1")
        assert page.locator("#levels .level").count() == 1
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
        wait_until(page, f"document.querySelector('section.chart[data-category=tariffs]').dataset.points"
                         f" === '{spec.hourly_points + 1}'")
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

    missing = tmp_path / "gone" / "tension.sqlite"  # there at the start (the CLI refuses a missing store), then gone
    missing.parent.mkdir()
    sink = SQLiteSink(missing)
    sink.open()
    sink.close()
    with dashboard(f"sqlite:///{missing}") as url:
        for path in missing.parent.iterdir():
            path.unlink()
        page = open_page(browser, url, wait_for="body[data-error]")
        message = page.inner_text("#message")
        assert "unreachable" in message and str(missing) in message
        page.screenshot(path=str(ARTIFACTS / "dashboard-unreachable.png"))
        page.close()


@pytest.fixture(scope="module")
def marked_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SyntheticSpec]:
    """Three synthetic days, then: visas without any item in its windows, trade_talks rows of v1 (no interval)."""
    spec = SyntheticSpec(days=3)
    path = tmp_path_factory.mktemp("dash-marked") / "marked.sqlite"
    write_store(path, spec)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE index_rows SET n_category = 0, n_escalating = 0, n_deescalating = 0, share = 0, "
                   "\"index\" = 0, index_low = 0, index_high = 0, share_low = 0, share_high = 0, signed_mean = NULL, "
                   "balance = NULL WHERE category = 'visas'")
        db.execute("UPDATE index_rows SET evidence = NULL, interval_level = NULL, share_low = NULL, "
                   "share_high = NULL, index_low = NULL, index_high = NULL WHERE category = 'trade_talks'")
    return f"sqlite:///{path}", spec


def test_band_zoom_range_empty_card_and_alert_jump(browser: object, marked_store) -> None:
    """The interval as a band, zoom and from/to, a card with no items, an alert selecting its point."""
    store, spec = marked_store
    with dashboard(store) as url:
        page = open_page(browser, url)
        # band: painted where rows carry an interval, absent where they do not (v1 rows)
        assert band_pixels(page, "tariffs") > 2000
        assert band_pixels(page, "trade_talks") == 0
        assert page.locator("section.chart[data-category='trade_talks']").get_attribute("data-band") == "0"

        # a card with no items says so instead of 0.0
        visas = page.locator("#levels .level[data-category='visas']")
        assert "no items" in visas.inner_text() and "0.0" not in visas.inner_text()
        assert "%" in page.inner_text("#levels .level[data-category='tariffs']")  # the card shows its interval

        # zoom: a drag across one chart narrows every chart's range; reset restores it
        charts = page.locator("section.chart")
        full = [(c.get_attribute("data-x-min"), c.get_attribute("data-x-max")) for c in charts.all()]
        page.locator("section.chart[data-category='tariffs'] .u-over").scroll_into_view_if_needed()
        over = page.locator("section.chart[data-category='tariffs'] .u-over").bounding_box()
        y = over["y"] + over["height"] / 2
        page.mouse.move(over["x"] + over["width"] * 0.4, y)
        page.mouse.down()
        page.mouse.move(over["x"] + over["width"] * 0.5, y, steps=5)
        page.mouse.move(over["x"] + over["width"] * 0.6, y, steps=5)
        page.mouse.up()
        wait_until(page, "!document.querySelector('#zoom-reset').hidden")
        zoomed = [(c.get_attribute("data-x-min"), c.get_attribute("data-x-max")) for c in charts.all()]
        assert len(set(zoomed)) == 1 and zoomed[0] != full[0]  # one shared range, not the full one
        span = iso_ms(zoomed[0][1]) - iso_ms(zoomed[0][0])
        assert 0.1 < span / (iso_ms(full[0][1]) - iso_ms(full[0][0])) < 0.3  # ~ the dragged fifth
        assert "zoomed" in page.inner_text("#zoom") and "UTC" in page.inner_text("#zoom")
        page.click("#zoom-reset")
        wait_until(page, "document.querySelector('#zoom-reset').hidden")
        assert [(c.get_attribute("data-x-min"), c.get_attribute("data-x-max")) for c in charts.all()] == full

        # a custom from/to range (UTC) loads only the windows starting in it
        day = (spec.end - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        page.select_option("#range", "custom")
        page.fill("#from", day)
        page.fill("#to", (spec.end - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
        page.click("#apply-range")
        wait_until(page, "document.querySelector('section.chart[data-category=tariffs]')?.dataset.points === '24'")
        assert "range=custom" in page.url and "from=" in page.url

        # an alert shows its event-time window and, clicked, selects its point on its chart
        alert = page.locator("#alerts li").first
        start, category = alert.get_attribute("data-window-start"), alert.get_attribute("data-category")
        assert f"{start[:10]} {start[11:16]} → " in alert.inner_text() and "UTC" in alert.inner_text()
        alert.click()
        chart = f"section.chart[data-category='{category}']"
        wait_until(page, f"document.querySelector(\"{chart}\")?.dataset.selected === '{start}'")
        page.wait_for_selector("#details-body .window")
        assert f"{start[:10]} {start[11:16]} → " in page.inner_text("#details-body .window")
        lo, hi = (iso_ms(page.locator(chart).get_attribute(a)) for a in ("data-x-min", "data-x-max"))
        assert lo <= iso_ms(start) + 86_400_000 <= hi  # its point is in view (the range widened to find it)
        page.screenshot(path=str(ARTIFACTS / "dashboard-band-zoom.png"), full_page=True)
        assert page.errors == []
        page.close()
