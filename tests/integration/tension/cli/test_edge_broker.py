"""Edge failures against the real broker: a replication factor above the broker count is said as such."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.helpers import unique

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
