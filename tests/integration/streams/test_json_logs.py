"""TENSION_LOG_FORMAT=json: the worker (Faust's loggers included) and a sink write only JSON lines,
the sink logs its progress (rows, rate, lag) every TENSION_SINK__PROGRESS_S, and the worker obeys
TENSION_LOG_LEVEL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connectors.sources import publish_paths
from tension.settings import PROJECT_ROOT
from tests.helpers import unique, wait_for
from tests.integration.streams.stream_support import Setup

pytestmark = pytest.mark.integration


def _lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's stderr, each of which must be one JSON object."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def test_worker_and_sink_log_json_lines_and_the_sink_its_progress(kafka: Any, tmp_path: Path) -> None:
    from devenv.procs import free_port_block

    setup = Setup(kafka.bootstrap, tmp_path, partitions=1)
    env = setup.env(free_port_block(span=2), "state")
    env.update(TENSION_LOG_FORMAT="json", TENSION_LOG_LEVEL="INFO", TENSION_SINK__PROGRESS_S="1",
               TENSION_SINK__GROUP_PREFIX=unique("g.logs"))
    worker_err, sink_err = tmp_path / "worker.err", tmp_path / "sink.err"
    with open(worker_err, "wb") as w, open(sink_err, "wb") as s:
        worker = subprocess.Popen([sys.executable, "-m", "tension", "worker"], env=env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.DEVNULL, stderr=w, stdin=subprocess.DEVNULL)
        sink = subprocess.Popen([sys.executable, "-m", "tension", "sink", "files", "--dir", str(tmp_path / "files")],
                                env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=s,
                                stdin=subprocess.DEVNULL)
        try:
            report = publish_paths([str(PROJECT_ROOT / "seeds" / "london-trade-talks.txt")],
                                   bootstrap=kafka.bootstrap, topic=setup.topics.raw,
                                   deadletter_topic=setup.topics.deadletter)
            assert report.sent == 1

            def progressed() -> bool:
                return any(o.get("rows", 0) >= 1 and o.get("lag") == 0 for o in _lines(sink_err))

            wait_for(progressed, 80, "a sink progress line with the rows written and lag 0")
        finally:
            codes = _stop(worker), _stop(sink)
    worker_lines, sink_lines = _lines(worker_err), _lines(sink_err)  # json.loads of every line: none is plain
    assert codes == (0, 0), (codes, worker_lines[-5:], sink_lines[-5:])
    progress = next(o for o in sink_lines if o.get("rows", 0) >= 1)
    assert {"ts", "level", "logger", "message", "rows", "rate", "lag"} <= set(progress)
    assert progress["logger"] == "connectors.sinks.runner"
    assert worker_lines and all(o["level"] in ("INFO", "WARNING", "ERROR") for o in worker_lines)
    assert any(o["logger"].startswith(("streams", "tension")) for o in worker_lines), worker_lines[:5]
    print("worker:", json.dumps(worker_lines[0]))  # for the record (pytest -s)
    print("sink:", json.dumps(progress))


@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
def test_the_worker_obeys_the_log_level(kafka: Any, tmp_path: Path, level: str) -> None:
    from devenv.procs import free_port_block, listening

    setup = Setup(kafka.bootstrap, tmp_path, partitions=1)
    port = free_port_block(span=2)
    env = setup.env(port, "state")
    env.update(TENSION_LOG_FORMAT="json", TENSION_LOG_LEVEL=level)
    err = tmp_path / "worker.err"
    with open(err, "wb") as w:
        worker = subprocess.Popen([sys.executable, "-m", "tension", "worker"], env=env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.DEVNULL, stderr=w, stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: listening("127.0.0.1", port), 60, "the worker's web port")
        finally:
            code = _stop(worker)
    lines = _lines(err)
    assert code == 0, lines[-5:]
    levels = {o["level"] for o in lines}
    if level == "WARNING":
        assert levels <= {"WARNING", "ERROR", "CRITICAL"}, levels
    else:
        assert "DEBUG" in levels and any(o["logger"].startswith(("faust", "mode")) for o in lines)
