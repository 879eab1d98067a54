"""Edge failures against the real broker: a replication factor above the broker count is said as such,
and a sink whose store is down fails at once although Kafka answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.helpers import closed_port, unique

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("replication", [2, 5])
def test_topics_apply_reports_a_replication_factor_above_the_brokers(kafka: Any, admin: Any,
                                                                     replication: int) -> None:
    brokers = len(admin.describe_cluster()["brokers"])
    names = {f"TENSION_TOPICS__{k.upper()}": unique(f"t.rf.{k}")
             for k in ("raw", "classified", "index", "alerts", "deadletter")}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env = {**clean, **names, "TENSION_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "TENSION_KAFKA__REPLICATION": str(brokers + replication - 1)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tension", "topics", "apply"], capture_output=True, text=True,
                          env=env, timeout=60)
    took = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"replication factor {brokers + replication - 1} of topic" in lines[0]
    assert f"above the {brokers} broker(s)" in lines[0] and "cannot reach" not in proc.stderr
    assert took < 10, f"took {took:.1f} s"
    assert not set(names.values()) & set(admin.list_topics()), "a failed apply must not create some topics"


def test_a_postgres_sink_with_kafka_up_and_the_store_down_is_one_line_exit_2(kafka: Any) -> None:
    """Kafka answers, PostgreSQL does not: the sink must not join the group and retry the store forever."""
    port = closed_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env = {**clean, "TENSION_KAFKA_BOOTSTRAP": kafka.bootstrap, "TENSION_SINK__CONNECT_TIMEOUT_S": "3",
           "TENSION_SINK__POSTGRES_DSN": f"postgresql://u:hunter2@127.0.0.1:{port}/db",
           "TENSION_SINK__METRICS_PORT": "0"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tension", "sink", "postgres", "--group", unique("g.pgdown")],
                          capture_output=True, text=True, env=env, timeout=60)
    took = time.monotonic() - t0
    assert proc.returncode == 2, proc.stderr
    errors = [x for x in proc.stderr.strip().splitlines() if "error:" in x]
    assert len(errors) == 1 and "cannot reach PostgreSQL at" in errors[0] and f"port={port}" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr and "hunter2" not in proc.stderr
    assert took < 10, f"took {took:.1f} s"
