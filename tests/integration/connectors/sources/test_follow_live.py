"""`tension produce --follow` against a local feed server and the real broker, across a restart.

The feed changes between polls (new entries, a repeated entry, a 304, a 500, a malformed document);
every entry must be on the raw topic exactly once, the malformed document once on the dead-letter
topic, the failures logged (as JSON lines), and SIGTERM must end the follower cleanly (exit 0).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.models import NewsItem
from schemas.serde import AvroDeserializer
from tests.feedserver import MALFORMED, Served, feed_server, rss
from tests.helpers import unique, wait_for

pytestmark = pytest.mark.integration


def _start(url: str, env: dict[str, str], state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tension", "produce", url, "--follow", "--interval", "0.3s",
                             "--state", str(state)], env=env, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, float, list[dict[str, Any]]]:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    return proc.returncode, took, [json.loads(line) for line in err.splitlines() if line.strip()]


def _asked(served: Served, etag: str, n: int = 1) -> Callable[[], bool]:
    """True once the follower sent ``If-None-Match: etag`` n times (it processed that version)."""
    return lambda: sum(r.get("If-None-Match") == etag for r in served.requests) >= n


def _records(bootstrap: str, topic: str) -> list[Any]:
    """Everything on the (one-partition) topic, read up to its end offset."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g.follow"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, 0)])
        out: list[Any] = []

        def done() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.append(msg)
            return len(out) >= high

        wait_for(done, 30, f"{high} records from {topic}", interval_s=0)
        return out
    finally:
        consumer.close()


def test_follow_publishes_each_entry_once_across_a_restart(kafka: Any, topic_factory: Callable[..., str],
                                                           tmp_path: Path) -> None:
    raw, dead = topic_factory("raw"), topic_factory("dl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env.update(TENSION_KAFKA_BOOTSTRAP=kafka.bootstrap, TENSION_TOPICS__RAW=raw, TENSION_TOPICS__DEADLETTER=dead,
               TENSION_LOG_FORMAT="json", TENSION_LOG_LEVEL="INFO")
    state = tmp_path / "follow.json"
    with feed_server() as (url, served):
        served.body, served.etag = rss([1, 2]), '"v1"'
        proc = _start(url, env, state)
        try:
            wait_for(_asked(served, '"v1"'), 45, "the first poll and a conditional one (304)")
            served.body, served.etag = rss([2, 3]), '"v2"'  # 2 repeated, 3 new
            wait_for(_asked(served, '"v2"'), 20, "version 2 processed")
            served.status = 500
            n = len(served.requests)
            wait_for(lambda: len(served.requests) > n, 20, "a poll answered 500")
            served.status, served.body, served.etag = 200, MALFORMED, '"v3"'
            wait_for(_asked(served, '"v3"'), 20, "the malformed version processed")
        finally:
            code, took, logs = _stop(proc)
        assert code == 0 and took < 10, (code, took)
        served.body, served.etag = rss([1, 3, 4]), '"v4"'  # after the restart: only 4 is new
        proc = _start(url, env, state)
        try:
            wait_for(_asked(served, '"v4"'), 45, "version 4 processed by the restarted follower")
        finally:
            code2, _took, logs2 = _stop(proc)
        assert code2 == 0
    assert served.requests[0].get("If-None-Match") is None
    read = AvroDeserializer("NewsItem")
    titles = [NewsItem.from_avro(read(m.value())).title for m in _records(kafka.bootstrap, raw)]
    assert sorted(titles) == [f"Tariff talks round {n}" for n in (1, 2, 3, 4)], titles
    assert len(_records(kafka.bootstrap, dead)) == 1  # the malformed document, once
    warnings = [line for line in logs if line["level"] == "WARNING"]
    assert {w.get("reason") for w in warnings} >= {"http_5xx", "parse"}, warnings
    assert any(line["message"].startswith("stopped following") for line in logs + logs2)
