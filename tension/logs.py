"""Logging of every process, configured once at the edge: plain text or one JSON object per line.

Log collectors (Loki, Elasticsearch, CloudWatch) parse JSON lines without
per-format grok rules, so ``TENSION_LOG_FORMAT=json`` makes every process —
the CLI commands, the sinks, the dashboard and the Faust worker, whose own
loggers (``faust``, ``mode``, ``aiokafka``) go through the same handler —
write one object per line to stderr. Fields a caller passes with
``extra={"topic": ..., "partition": ..., "offset": ...}`` become keys of the
object, so a dead letter can be found by its coordinates.

The stdlib is enough here (a formatter of ~20 lines); no JSON-logging
dependency is taken on.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: libraries whose INFO chatter drowns our own lines; they log at WARNING unless the level asks for DEBUG
NOISY = ("kafka", "aiokafka", "faust", "mode")
# ...except the group coordinator: its INFO lines are the rebalances ("Setting newly assigned
# partitions ..."), rare and what an operator (and tests/integration/streams/test_stream_workers.py) looks for
REBALANCES = "aiokafka.consumer.group_coordinator"

# attributes every LogRecord has; anything else on a record came from ``extra=`` and is worth keeping
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, the ``extra`` fields, exc when raised."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        # default=str: an extra value json cannot encode (a TopicPartition, a Path) is still logged
        return json.dumps(out, ensure_ascii=False, default=str)


def _check(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def make_handler(fmt: str = "text") -> logging.Handler:
    """The stderr handler of every process: JSON lines, rich on a terminal, else plain lines."""
    if _check(fmt) == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Root logger → one handler at ``level``; the noisy libraries at WARNING unless DEBUG is asked."""
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt)]
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(_library_level(level))


def _library_level(level: str) -> int:
    """The libraries' level: WARNING or above, except that DEBUG means everyone's DEBUG."""
    number = logging.getLevelName(level.upper())
    return number if number == logging.DEBUG else max(logging.WARNING, number)


def faust_logging_config(level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``faust.Worker(logging_config=...)``.

    mode (under Faust) clears the root handlers and applies its own colour
    format when the worker starts; handing it this dict instead is its
    documented hook, and makes the worker's lines (Faust's included) look like
    every other process's.
    """
    fmt = _check(fmt)
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if fmt == "json"
                                 else {"format": TEXT_FORMAT})
    quiet = logging.getLevelName(_library_level(level))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tension": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "tension"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {**{name: {"level": quiet} for name in NOISY}, REBALANCES: {"level": level.upper()}},
    }
