"""TENSION_LOG_FORMAT / TENSION_LOG_LEVEL: one JSON object per line, Faust's loggers through the same handler."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tension.logs import JsonFormatter, faust_logging_config

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


def _record(msg: str, args: tuple[object, ...], extra: dict[str, object], level: int = logging.INFO,
            exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("streams.agents.outbox", level, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


@settings(max_examples=60, deadline=None)
@given(text=st.text(), topic=st.text(min_size=1, max_size=30), partition=st.integers(0, 10_000),
       offset=st.integers(0, 2**62), exc=st.booleans())
def test_every_record_is_one_json_line_carrying_its_coordinates(text: str, topic: str, partition: int,
                                                                offset: int, exc: bool) -> None:
    line = JsonFormatter().format(_record("dead-lettering %s", (text,),
                                          {"topic": topic, "partition": partition, "offset": offset}, exc=exc))
    assert "\n" not in line  # newlines inside the message or traceback are escaped
    obj = json.loads(line)
    assert obj["message"] == f"dead-lettering {text}" and obj["level"] == "INFO"
    assert (obj["topic"], obj["partition"], obj["offset"]) == (topic, partition, offset)
    assert ("boom" in obj["exc"]) if exc else "exc" not in obj


def test_values_json_cannot_encode_are_logged_as_text() -> None:
    obj = json.loads(JsonFormatter().format(_record("x", (), {"tp": object(), "path": os})))
    assert obj["tp"].startswith("<object") and "module 'os'" in obj["path"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_worker_config_obeys_the_level_for_ours_and_quiets_faust(level: str, fmt: str,
                                                                     restore_logging: None) -> None:
    cfg = faust_logging_config(level, fmt)
    logging.config.dictConfig(cfg)
    assert logging.getLogger().level == logging.getLevelName(level)
    for noisy in ("faust", "mode", "aiokafka"):
        expected = logging.DEBUG if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
        assert logging.getLogger(noisy).getEffectiveLevel() == expected
    formatter = logging.getLogger().handlers[0].formatter
    assert isinstance(formatter, JsonFormatter) == (fmt == "json")


_CHILD = """
import logging, os
import faust
from tension.logs import faust_logging_config
# the hook tension worker uses: faust.Worker(logging_config=...), applied when the worker starts
app = faust.App("logs-test", broker="kafka://127.0.0.1:1")
level = os.environ["LVL"]
worker = faust.Worker(app, loglevel=level, quiet=True, logging_config=faust_logging_config(level, "json"))
worker._setup_logging()
logging.getLogger("faust.worker").warning("faust says %s", "hi")
logging.getLogger("mode.services").error("mode says hi")
logging.getLogger("streams.agents").info("ours", extra={"topic": "t", "partition": 1, "offset": 7})
logging.getLogger("streams.agents").debug("debug line")
"""


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "ERROR"])
def test_faust_and_mode_loggers_write_json_lines_through_modes_own_setup(level: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LVL": level})
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]  # every line is JSON
    by_logger = {obj["logger"]: obj for obj in lines}
    assert ("faust.worker" in by_logger) == (level != "ERROR")
    assert by_logger["mode.services"]["message"] == "mode says hi"
    if level in ("DEBUG", "INFO"):
        ours = next(o for o in lines if o["message"] == "ours")
        assert (ours["logger"], ours["topic"], ours["partition"], ours["offset"]) == ("streams.agents", "t", 1, 7)
    assert any(o["message"] == "debug line" for o in lines) == (level == "DEBUG")


@pytest.mark.parametrize(("var", "value"), [("TENSION_LOG_FORMAT", "xml"), ("TENSION_LOG_LEVEL", "loud")])
def test_a_bad_log_setting_names_its_variable(var: str, value: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    proc = subprocess.run([sys.executable, "-m", "tension", "sink", "sqlite"], capture_output=True, text=True,
                          timeout=60, env={**clean, var: value})
    assert proc.returncode == 1 and var in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
