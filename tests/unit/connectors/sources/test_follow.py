"""`produce --follow` logic: conditional GET, each entry published once across restarts, errors counted."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.exceptions import UndeliveredError
from connectors.sources.follow import FollowMetrics, Follower
from connectors.sources.normalize import Parsed, ReadOptions
from connectors.sources.rejects import Rejection
from schemas.models import NewsItem
from tests.feedserver import MALFORMED, feed_server, rss
from tests.helpers import wait_for

OPTS = ReadOptions(max_body_bytes=100_000, strict=False)


class Recorder:
    """Stands in for the Kafka publisher: keeps every batch; can be told to fail (not acknowledged)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dead: list[Rejection] = []
        self.fail = False

    def __call__(self, batch: list[Parsed]) -> None:
        if self.fail:
            raise UndeliveredError("1 record(s) not acknowledged", bootstrap="x", topic="raw", undelivered=1,
                                   report=None)
        for one in batch:
            (self.items.append(one.id) if isinstance(one, NewsItem) else self.dead.append(one))


def _follower(url: str, state: Path, rec: Recorder, metrics: FollowMetrics | None = None) -> Follower:
    return Follower([url], publish=rec, state_path=state, interval_s=60, opts=OPTS, metrics=metrics)


# one poll step: ("feed", entries) serve a new version; "same" serve it again; "500"; "malformed";
# "restart" a new follower on the same state file; ("undelivered", entries) a new version whose first
# publish the broker does not acknowledge (the retry, one backoff later, must still publish it)
steps = st.lists(st.one_of(
    st.tuples(st.just("feed"), st.lists(st.integers(0, 12), min_size=1, max_size=6)),
    st.tuples(st.just("undelivered"), st.lists(st.integers(0, 12), min_size=1, max_size=6)),
    st.sampled_from([("same", []), ("500", []), ("malformed", []), ("restart", [])]),
), min_size=1, max_size=10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps, validator=st.sampled_from(["etag", "last_modified", "none"]))
def test_every_entry_is_published_once_whatever_the_feed_does(tmp_path: Path, plan: list[tuple[str, list[int]]],
                                                              validator: str) -> None:
    state = tmp_path / f"state-{abs(hash((str(plan), validator)))}.json"
    rec = Recorder()
    metrics = FollowMetrics()
    expected: set[int] = {0}
    malformed_served = errors_5xx = refused = 0
    with feed_server() as (url, served):
        served.body = rss([0])  # version 0, without validators
        follower = _follower(url, state, rec, metrics)
        follower.poll(url)
        version = 0
        for action, entries in plan:
            rec.fail = False
            if action == "restart":
                follower = _follower(url, state, rec, metrics)
            elif action in ("feed", "malformed", "undelivered"):
                version += 1
                served.status = 200
                served.body = MALFORMED if action == "malformed" else rss(entries)
                served.etag = f'"v{version}"' if validator == "etag" else None
                served.last_modified = f"Fri, 01 May 2026 {version % 24:02d}:00:00 GMT" \
                    if validator == "last_modified" else None
                refused += action == "undelivered" and not set(entries) <= expected  # something new to send
                if action != "malformed":
                    expected |= set(entries)
                else:
                    malformed_served += 1
            elif action == "500":
                served.status = 500
                errors_5xx += 1
            rec.fail = action == "undelivered"
            if action != "restart":
                follower.poll(url)
            if action == "undelivered":
                rec.fail = False
                follower.poll(url)
            if action == "500":
                served.status = 200
    assert len(rec.items) == len(set(rec.items)), "an entry was published twice"
    assert len(rec.items) == len(expected), "an entry was lost"
    assert metrics.errors["http_5xx"] == errors_5xx
    assert metrics.errors["delivery"] == refused
    assert len(rec.dead) <= malformed_served and (malformed_served == 0 or rec.dead)
    assert metrics.new_entries == len(expected)


def test_a_304_is_asked_for_and_nothing_is_parsed(tmp_path: Path) -> None:
    rec, metrics = Recorder(), FollowMetrics()
    with feed_server() as (url, served):
        served.body, served.etag, served.last_modified = rss([1, 2]), '"a"', "Fri, 01 May 2026 08:00:00 GMT"
        follower = _follower(url, tmp_path / "s.json", rec, metrics)
        follower.poll(url)
        follower.poll(url)
        _follower(url, tmp_path / "s.json", rec, metrics).poll(url)  # a restart remembers the validators
    assert [r.get("If-None-Match") for r in served.requests] == [None, '"a"', '"a"']
    assert served.requests[2]["If-Modified-Since"] == "Fri, 01 May 2026 08:00:00 GMT"
    assert metrics.not_modified == 2 and len(rec.items) == 2


@pytest.mark.parametrize(("status", "reason"), [(500, "http_5xx"), (503, "http_5xx"), (404, "http_4xx"),
                                                (None, "network")])
def test_a_failing_feed_is_counted_logged_and_backed_off_while_others_go_on(
        tmp_path: Path, status: int | None, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    rec, metrics = Recorder(), FollowMetrics()
    good = tmp_path / "good.xml"
    good.write_bytes(rss([1]))
    with feed_server() as (url, served):
        bad_url = url if status else "http://127.0.0.1:1/closed"
        served.status = status or 200
        follower = Follower([bad_url, str(good)], publish=rec, state_path=tmp_path / "s.json", interval_s=10,
                            opts=OPTS, metrics=metrics)
        with caplog.at_level(logging.WARNING, "connectors.sources.follow"):
            follower.poll_due()
            first = follower._due[bad_url] - time.monotonic()
            follower.poll(bad_url)
            second = follower._due[bad_url] - time.monotonic()
            follower.poll(str(good))
    assert metrics.errors[reason] == 2 and len(rec.items) == 1
    samples = {(name, tuple(labels.items())): value for name, labels, value in metrics.samples()}
    assert samples[("tension_follow_errors_total", (("reason", reason),))] == 2
    assert samples[("tension_follow_polls_total", ())] == 4 and samples[("tension_follow_new_entries_total", ())] == 1
    assert any(bad_url in r.getMessage() and r.reason == reason for r in caplog.records)
    # backoff: one interval after the first failure, two after the second; the good source keeps its pace
    assert 8 < first <= 10 and 18 < second <= 20
    assert 8 < follower._due[str(good)] - time.monotonic() <= 10


def test_a_folder_followed_picks_up_new_and_changed_files_only(tmp_path: Path) -> None:
    rec = Recorder()
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.xml").write_bytes(rss([1, 2]))
    follower = Follower([str(folder)], publish=rec, state_path=tmp_path / "s.json", interval_s=1, opts=OPTS)
    follower.poll(str(folder))
    assert len(rec.items) == 2
    (folder / "b.xml").write_bytes(rss([3]))
    (folder / "a.xml").write_bytes(rss([1, 2, 4]))  # changed: only its new entry goes out
    follower.poll(str(folder))
    Follower([str(folder)], publish=rec, state_path=tmp_path / "s.json", interval_s=1, opts=OPTS).poll(str(folder))
    assert len(rec.items) == 4 == len(set(rec.items))


def test_run_stops_cleanly_when_asked(tmp_path: Path) -> None:
    rec = Recorder()
    feed = tmp_path / "f.xml"
    feed.write_bytes(rss([1]))
    follower = Follower([str(feed)], publish=rec, state_path=tmp_path / "s.json", interval_s=3600, opts=OPTS)
    thread = threading.Thread(target=follower.run)
    thread.start()
    wait_for(lambda: rec.items, 10, "the first poll")
    follower.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and (tmp_path / "s.json").exists()


@settings(max_examples=50, deadline=None)
@given(number=st.decimals(min_value="0.001", max_value="100000", places=3), unit=st.sampled_from(["", "ms", "s", "m", "h"]))
def test_intervals_parse_in_every_unit(number: object, unit: str) -> None:
    from tension.cli.produce_cmd import parse_duration

    factor = {"": 1, "ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    assert parse_duration(f"{number}{unit}") == pytest.approx(float(number) * factor)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0s", "abc", "-1m", "5 days", ""])
def test_a_bad_interval_is_a_usage_error(bad: str) -> None:
    from typer.testing import CliRunner

    from tension.cli import app

    result = CliRunner().invoke(app, ["produce", "seeds", "--follow", "--interval", bad])
    assert result.exit_code == 2 and "not a duration" in result.output


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 99}', ""])
def test_an_unreadable_state_file_is_a_typed_error_naming_it(tmp_path: Path, content: str) -> None:
    from connectors.sources.follow import FollowStateError

    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(FollowStateError, match="state.json"):
        Follower(["x.xml"], publish=Recorder(), state_path=state, interval_s=1, opts=OPTS)
