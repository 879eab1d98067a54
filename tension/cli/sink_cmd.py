"""`tension sink sqlite|postgres|files`: write classified items, index rows and alerts to a store.

Each store is its own consumer group (``<group_prefix>-<store>``), so several
sinks may run at once and each sees every record; running the same sink twice
shares its partitions. SIGTERM/SIGINT finish and commit the current batch.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from connectors.exceptions import KafkaAccessError
from connectors.sinks.base import Sink
from connectors.sinks.runner import SinkRunner
from connectors.sinks.metrics import SinkMetrics
from tension.cli import configure_logging
from tension.cli.exits import EXIT_INVALID
from tension.observe import serve_observe
from tension.preflight import ServiceUnreachable, require_kafka
from tension.settings import Settings, load_settings

app = typer.Typer(help="Sink connectors: Kafka topics → stores (each its own consumer group).",
                  no_args_is_help=True)
log = logging.getLogger(__name__)

GROUP_HELP = "Consumer group (default: <TENSION_SINK__GROUP_PREFIX>-<store>)"


def run_sink(sink: Sink, s: Settings, group_suffix: str, group: str | None = None) -> None:
    """Run `sink` until SIGTERM/SIGINT; offsets committed only after the store commits."""
    require_kafka(s.bootstrap, s.kafka.connect_timeout_s)
    metrics = SinkMetrics(sink.name, ready_max_lag=s.sink.ready_max_lag)
    runner = SinkRunner(
        sink, bootstrap=s.bootstrap,
        topics={s.topics.classified: "item", s.topics.index: "index", s.topics.alerts: "alert"},
        group_id=group or f"{s.sink.group_prefix}-{group_suffix}", deadletter_topic=s.topics.deadletter,
        batch_size=s.sink.batch_size, batch_seconds=s.sink.batch_seconds, max_retry_s=s.sink.retry_max_s,
        session_timeout_ms=s.sink.session_timeout_ms, group_instance_id=s.sink.instance_id,
        registry=s.registry(), progress_every_s=s.sink.progress_s, connection=s.connection(),
        metrics=metrics,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    try:
        server = serve_observe(s.sink.metrics_host, s.sink.metrics_port, alive=metrics.health, ready=metrics.readiness)
    except OSError as exc:  # the port is taken: say which, before joining the group
        log.error("cannot serve metrics on %s:%s (TENSION_SINK__METRICS_PORT): %s", s.sink.metrics_host,
                  s.sink.metrics_port, exc.strerror or exc)
        raise typer.Exit(EXIT_INVALID) from None
    try:
        runner.run()
    except KafkaAccessError as exc:  # an ACL, a password or a certificate: retrying cannot help
        log.error("%s", exc)
        raise typer.Exit(EXIT_INVALID) from None
    finally:
        if server is not None:
            server.stop()


@app.command()
def sqlite(path: Path = typer.Option(None, help="SQLite file (default: TENSION_SINK__SQLITE_PATH)"),
           group: str = typer.Option(None, help=GROUP_HELP)) -> None:
    """Write to SQLite (WAL mode, migrations applied on open, idempotent upserts)."""
    from connectors.sinks.sqlite import SQLiteSink

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    target = path or s.sink.sqlite_path
    log.info("writing to %s", target)
    run_sink(SQLiteSink(target), s, "sqlite", group)


@app.command()
def postgres(migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations first"),
             migrate_only: bool = typer.Option(False, "--migrate-only", help="Apply migrations and exit"),
             group: str = typer.Option(None, help=GROUP_HELP)) -> None:
    """Write to PostgreSQL (DSN from TENSION_SINK__POSTGRES_DSN; COPY + ON CONFLICT upserts)."""
    from connectors.exceptions import ConnectorError
    from connectors.sinks.postgres import PostgresSink

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    try:
        sink = PostgresSink(s.sink.postgres_dsn, migrate=migrate or migrate_only,
                            connect_timeout_s=s.sink.connect_timeout_s)
        with _store_reachable(sink.target, s.sink.connect_timeout_s):
            if migrate_only:
                sink.open()
                sink.close()
                return
            run_sink(sink, s, "postgres", group)
    except ConnectorError as exc:  # a bad DSN, a failed migration, an old schema: the store's state, not the network
        log.error("%s", exc)
        raise typer.Exit(EXIT_INVALID) from None


@contextmanager
def _store_reachable(target: str, timeout_s: float) -> Iterator[None]:
    """A PostgreSQL that cannot be connected to becomes ServiceUnreachable: one line, exit 2.

    Outages once the sink runs are retried inside the runner; a connection error
    that still escapes it happened at the start (the first connect).
    """
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceUnreachable("PostgreSQL", target, timeout_s, reason.removeprefix("connection failed: ")) from exc


@app.command()
def files(directory: Path = typer.Option(None, "--dir", help="Root folder (default: TENSION_SINK__FILES_DIR)"),
          group: str = typer.Option(None, help=GROUP_HELP)) -> None:
    """Write JSON Lines partitioned by date (<dir>/<table>/dt=YYYY-MM-DD/part-*.jsonl), once per record."""
    from connectors.sinks.files import FilesSink

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    target = directory or s.sink.files_dir
    log.info("writing to %s", target)
    run_sink(FilesSink(target), s, "files", group)
