"""`tension topics apply|list`: the product's Kafka topics."""

from __future__ import annotations

import typer
from rich.console import Console

from streams.topics import topic_specs
from tension.admin import ReplicationTooHigh, apply_specs
from tension.exits import EXIT_INVALID
from tension.preflight import require_kafka
from tension.wiring import stream_config
from tension.settings import load_settings

app = typer.Typer(help="Create and inspect the product's Kafka topics.")
console = Console(stderr=True)


@app.command("apply")
def apply_cmd() -> None:
    """Create every missing topic (streams.topics.topic_specs: names, partitions, replication); idempotent."""
    s = load_settings()
    require_kafka(s.bootstrap, s.kafka.connect_timeout_s)  # unreachable: one line, exit 2 (tension.cli.main)
    try:
        created, present = apply_specs(s.connection(), topic_specs(stream_config(s)).values())
    except ReplicationTooHigh as exc:
        typer.echo(f"tension: error: {exc}", err=True)  # one line, unwrapped (like tension.cli.main)
        raise typer.Exit(EXIT_INVALID) from exc
    for name in created:
        console.print(f"created  {name}")
    for name in present:
        console.print(f"present  {name}")
