"""`tension worker`: run the Faust topology (classification, index tables, alerts, HTTP API)."""

from __future__ import annotations

import typer

from tension.access import check_worker_access
from tension.exits import EXIT_INVALID, fail
from tension.preflight import require_kafka
from tension.settings import load_settings
from tension.wiring import stream_config

app = typer.Typer()


@app.command()
def worker(
    web_port: int = typer.Option(None, help="HTTP port of this worker (default from settings)"),
    loglevel: str = typer.Option(None, help="Log level (default: TENSION_LOG_LEVEL)"),
) -> None:
    """Run one Faust worker; start several for more throughput (partitions rebalance)."""
    import faust

    from streams.app import create_app
    from tension.logs import faust_logging_config

    s = load_settings()
    # Faust retries a dead broker for ever; a worker that cannot start says so at once (exit 2)
    require_kafka(s.bootstrap, s.kafka.connect_timeout_s)
    cfg = stream_config(s, **({"web_port": web_port} if web_port else {}))
    # ... and Faust logs a missing ACL and retries for ever: one line naming it, exit 1 (tension.exits)
    missing = check_worker_access(cfg.kafka, cfg.topics, cfg.app_id, s.kafka.connect_timeout_s)
    if missing:
        fail(missing, EXIT_INVALID)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    faust_app = create_app(cfg)
    level = (loglevel or s.log_level).upper()
    # Faust (mode) sets logging up itself when the worker starts; logging_config is its hook for ours
    faust.Worker(faust_app, loglevel=level, quiet=True,
                 logging_config=faust_logging_config(level, s.log_format)).execute_from_commandline()
