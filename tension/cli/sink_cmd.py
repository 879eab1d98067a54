"""`tension sink sqlite|...`: write classified items, index rows and alerts to a store."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import typer

from connectors.sinks.base import Sink, SinkRunner
from tension.cli import configure_logging
from tension.settings import Settings, load_settings

app = typer.Typer(help="Sink connectors: Kafka topics → stores (each its own consumer group).")
log = logging.getLogger(__name__)


def run_sink(sink: Sink, s: Settings, group_suffix: str) -> None:
    """Run `sink` until SIGTERM/SIGINT; offsets committed only after the store commits."""
    configure_logging(s.log_level)
    runner = SinkRunner(
        sink, bootstrap=s.bootstrap,
        topics={s.topics.classified: "item", s.topics.index: "index", s.topics.alerts: "alert"},
        group_id=f"{s.sink.group_prefix}-{group_suffix}", deadletter_topic=s.topics.deadletter,
        batch_size=s.sink.batch_size, batch_seconds=s.sink.batch_seconds,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    runner.run()


@app.command()
def sqlite(path: Path = typer.Option(None, help="SQLite file (default: TENSION_SINK__SQLITE_PATH)")) -> None:
    """Write to SQLite (WAL mode, idempotent upserts)."""
    from connectors.sinks.sqlite import SQLiteSink

    s = load_settings()
    target = path or s.sink.sqlite_path
    log.info("writing to %s", target)
    run_sink(SQLiteSink(target), s, "sqlite")
