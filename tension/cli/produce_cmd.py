"""`tension produce PATH... | -`: publish news files, folders, URLs or stdin to Kafka."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from connectors.sources import PublishError, publish_paths
from schemas.exceptions import SchemaError
from tension.settings import load_settings

app = typer.Typer()
console = Console(stderr=True)


@app.command()
def produce(
    paths: list[str] = typer.Argument(..., help="Files, folders (recursive), http(s) URLs, or - for stdin."),
    topic: str | None = typer.Option(None, help="Target topic (default: settings topics.raw)."),
    strict: bool | None = typer.Option(None, "--strict/--lenient",
                                       help="Reject unknown fields and exit 1 if anything was rejected."),
    rate: float | None = typer.Option(None, min=0.001, help="At most this many records per second."),
    max_body_bytes: int | None = typer.Option(None, min=1, help="Reject bodies longer than this (UTF-8 bytes)."),
    backend: str = typer.Option("auto", help="Producer client: auto, confluent or kafka-python."),
    in_time_order: bool = typer.Option(False, "--in-time-order",
                                       help="Backfill: read everything, publish by publication time."),
) -> None:
    """Validate every item, publish good ones (key = id, timestamp = published_at), dead-letter the rest."""
    settings = load_settings()
    strict_mode = settings.producer.strict if strict is None else strict
    try:
        report = publish_paths(
            paths,
            bootstrap=settings.bootstrap,
            topic=topic or settings.topics.raw,
            deadletter_topic=settings.topics.deadletter,
            max_body_bytes=max_body_bytes or settings.producer.max_body_bytes,
            strict=strict_mode,
            rate_per_s=rate or settings.producer.rate_per_s,
            progress=sys.stderr.isatty(),
            registry_url=getattr(settings, "registry_url", None),
            backend=backend,
            in_time_order=in_time_order,
        )
    except (PublishError, SchemaError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for rejection in report.rejected[:20]:
        console.print(f"[yellow]rejected[/yellow] {rejection.source_ref} [{rejection.reason}] {rejection.message}")
    if len(report.rejected) > 20:
        console.print(f"... and {len(report.rejected) - 20} more rejection(s)")
    console.print(report.summary())
    if report.dead_letter_failures or (strict_mode and report.rejected):
        raise typer.Exit(1)
