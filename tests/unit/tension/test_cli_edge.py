"""The CLI edge: one line per failure, documented exit codes, tracebacks only with --debug."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tension.exits import EXIT_INVALID, EXIT_UNREACHABLE
from tension.preflight import ServiceUnreachable, require_kafka
from tension.settings import PROJECT_ROOT
from tests.helpers import closed_port


def _tension(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    return subprocess.run([sys.executable, "-m", "tension", *args], capture_output=True, text=True,
                          env={**clean, **env}, timeout=60)


def test_version() -> None:
    proc = _tension("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("tension-stream ") and "classifier" in proc.stdout


@pytest.mark.parametrize(("var", "value"), [
    ("TENSION_KAFKA__PARTITIONS", "abc"),
    ("TENSION_STREAM__WEB_PORT", "99999999"),
    ("TENSION_SINK__BATCH_SIZE", "-3"),
    ("TENSION_KAFKA__CONNECT_TIMEOUT_S", "soon"),
])
def test_a_bad_setting_is_one_line_naming_the_variable_not_its_value(var: str, value: str) -> None:
    proc = _tension("config", **{var: value})
    assert proc.returncode == EXIT_INVALID
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0] and "Traceback" not in proc.stderr
    assert f"'{value}'" not in proc.stderr


def test_debug_adds_the_traceback() -> None:
    proc = _tension("--debug", "config", TENSION_KAFKA__PARTITIONS="abc")
    assert proc.returncode == EXIT_INVALID and "Traceback" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("tension: error: invalid setting")


def test_sink_with_no_broker_fails_fast_with_exit_2() -> None:
    port = closed_port()
    t0 = time.monotonic()
    proc = _tension("sink", "sqlite", TENSION_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
                    TENSION_KAFKA__CONNECT_TIMEOUT_S="1")
    took = time.monotonic() - t0
    assert proc.returncode == EXIT_UNREACHABLE, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"tension: error: cannot reach Kafka at 127.0.0.1:{port} within 1 s (connection refused)"
    assert "Traceback" not in proc.stderr
    assert took < 30, f"took {took:.1f} s"  # the 1 s deadline plus interpreter start; was 30 s+


@pytest.mark.parametrize("bootstrap", ["", " , ", "127.0.0.1:{port}", "localhost:{port},127.0.0.1:{port}"])
def test_require_kafka_raises_at_its_deadline(bootstrap: str) -> None:
    target = bootstrap.format(port=closed_port())
    t0 = time.monotonic()
    with pytest.raises(ServiceUnreachable, match="cannot reach Kafka"):
        require_kafka(target, timeout_s=0.5)
    assert time.monotonic() - t0 < 10


def test_require_kafka_returns_when_anything_listens() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        require_kafka(f"127.0.0.1:{closed_port()},127.0.0.1:{port}", timeout_s=5)


def test_produce_of_a_missing_path_fails_before_connecting(tmp_path: object) -> None:
    port = closed_port()
    proc = _tension("produce", "/nonexistent/a.jsonl", "-", TENSION_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
                    TENSION_KAFKA__CONNECT_TIMEOUT_S="30")
    assert proc.returncode == EXIT_INVALID
    assert "no such file or directory: /nonexistent/a.jsonl" in proc.stderr and "Kafka" not in proc.stderr


def test_produce_with_no_broker_exits_2_within_its_deadline(tmp_path: object) -> None:
    port = closed_port()
    proc = _tension("produce", str(PROJECT_ROOT / "seeds" / "london-trade-talks.txt"), TENSION_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
                    TENSION_KAFKA__CONNECT_TIMEOUT_S="1")
    assert proc.returncode == EXIT_UNREACHABLE and "cannot reach Kafka" in proc.stderr
    assert "Traceback" not in proc.stderr
