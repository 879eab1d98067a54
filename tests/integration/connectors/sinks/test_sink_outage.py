"""Store outage: PostgreSQL stopped for ≥ 10 s mid-stream while records keep arriving.

The postgres sink (a `python -m tension sink postgres` process) writes the first
3,000 items, then the server is stopped with ``pg_ctl stop`` and 3,000 more
items are produced. For more than 10 s the test samples the group's committed
offsets: they must never pass a row that was not written before the stop
(rows carry ``kafka_partition``/``kafka_offset``, and ``stored_at`` tells
whether they were written before the server went away). Then the server
starts again; the sink, which kept retrying with backoff, catches up and every
row is there exactly once. The DSN's password never appears in the sink's log.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from tests.helpers import unique, wait_for
from tests.integration.connectors.sinks.sink_support import (
    SinkProcess, Topics, committed, encode_item, fully_committed, item, produce, sink_env,
)
from tests.integration.connectors.sinks.test_sink_crash import migrate, pg_count

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 11.0


def test_postgres_outage_waits_retries_and_never_commits_ahead(kafka, topic_factory, postgres, pg_dsn: str,
                                                               tmp_path: Path) -> None:
    topics = Topics(topic_factory("classified", 3), topic_factory("index", 1), topic_factory("alerts", 1),
                    topic_factory("dlq", 1))
    group = unique("g.outage")
    env = sink_env(kafka.bootstrap, topics, TENSION_SINK__POSTGRES_DSN=pg_dsn, TENSION_SINK__BATCH_SIZE="250",
                   TENSION_SINK__BATCH_SECONDS="0.3", TENSION_SINK__RETRY_MAX_S="2")
    migrate(env)
    sink = SinkProcess("postgres", ["--group", group], env, tmp_path / "postgres.log")
    sink.start()
    try:
        produce(kafka.bootstrap, topics.classified, (encode_item(item(i)) for i in range(3000)))
        wait_for(lambda: pg_count(pg_dsn) == 3000, 60, "the first 3000 rows")

        stopped_at = datetime.now(timezone.utc)
        postgres.stop()
        t_stop = time.monotonic()
        produce(kafka.bootstrap, topics.classified, (encode_item(item(i)) for i in range(3000, 6000)))
        high: dict[tuple[str, int], int] = {}
        samples = 0
        while time.monotonic() - t_stop < OUTAGE_S:  # the outage itself: sample commits all along
            for tp, off in committed(kafka.bootstrap, group).items():
                high[tp] = max(high.get(tp, 0), off)
            samples += 1
            assert sink.alive(), sink.log()[-3000:]
            time.sleep(0.5)
        down_for = time.monotonic() - t_stop
        postgres.start()

        wait_for(lambda: pg_count(pg_dsn) == 6000 and fully_committed(kafka.bootstrap, group, topics.kinds()),
                 90, "the sink to catch up after the outage")
        with psycopg.connect(pg_dsn) as conn:
            assert conn.execute("SELECT count(DISTINCT item_id), count(*) FROM items").fetchone() == (6000, 6000)
            for (topic, partition), offset in high.items():
                if topic != topics.classified:
                    continue
                # Every record below the highest offset committed during the outage was already stored
                # before the server went away: commits never ran ahead of the store.
                before, total = conn.execute(
                    "SELECT count(*) FILTER (WHERE stored_at < %s), count(*) FROM items "
                    "WHERE kafka_partition = %s AND kafka_offset < %s", (stopped_at, partition, offset)).fetchone()
                assert before == total == offset, (partition, offset, before, total)
            assert sum(o for (t, _p), o in high.items() if t == topics.classified) == 3000
            after = conn.execute("SELECT count(*) FROM items WHERE stored_at > %s", (stopped_at,)).fetchone()[0]
            assert after == 3000  # the rest was written only once the server was back
    finally:
        postgres.ensure_running()  # the server is shared by the session
        assert sink.stop() == 0, sink.log()[-3000:]

    log = sink.log()
    assert down_for >= 10 and samples >= 10
    assert "write of" in log and "retrying" in log and "store accepted the batch" in log
    assert postgres.password not in log and "password=***" in log
