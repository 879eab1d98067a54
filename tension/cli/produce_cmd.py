"""`tension produce PATH... | -`: publish news files, folders, URLs or stdin to Kafka.

Exit codes (tension/cli/exits.py; docs/contracts.md, "Exit codes"): 0 when every record read was
published or dead-lettered; 1 when, with ``--strict``, anything was rejected,
or when a dead letter or any record could not be delivered (still
unacknowledged after ``--close-timeout``); 2 only when the broker or the schema
registry cannot be reached at the start (and, as for every click command, for
command-line usage errors).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from connectors.sources import PublishReport, publish_paths
from connectors.sources.exceptions import BrokerUnreachableError, PublishError, UndeliveredError
from connectors.sources.producers import BACKENDS, CLOSE_TIMEOUT_S, DEFAULT_MAX_MESSAGE_BYTES
from schemas.exceptions import RegistryError, SchemaError
from tension.cli.exits import EXIT_INVALID, EXIT_UNREACHABLE
from tension.settings import load_settings

app = typer.Typer()
console = Console(stderr=True)



def _check_backend(value: str) -> str:
    if value not in BACKENDS:
        raise typer.BadParameter(f"choose one of {', '.join(BACKENDS)}")
    return value


@app.command()
def produce(
    paths: list[str] = typer.Argument(..., help="Files, folders (recursive), http(s) URLs, or - for stdin."),
    topic: str | None = typer.Option(None, help="Target topic (default: settings topics.raw)."),
    strict: bool | None = typer.Option(None, "--strict/--lenient",
                                       help="Reject unknown fields and exit 1 if anything was rejected."),
    rate: float | None = typer.Option(None, min=0.001, help="At most this many records per second."),
    max_body_bytes: int | None = typer.Option(None, min=1, help="Reject bodies longer than this (UTF-8 bytes)."),
    max_message_bytes: int = typer.Option(
        DEFAULT_MAX_MESSAGE_BYTES, min=65_536,
        help="Largest Kafka record sent (the producer's message.max.bytes); keep it at or below the topics' "
             "max.message.bytes. Larger items are dead-lettered (oversize)."),
    close_timeout: float = typer.Option(
        CLOSE_TIMEOUT_S, min=0.0,
        help="Seconds to wait at the end for acknowledgements; records still pending then make the exit code 1."),
    connect_timeout: float | None = typer.Option(
        None, min=0.5, help="Seconds to wait for a first broker; none answering exits 2 "
                            "(default: TENSION_KAFKA__CONNECT_TIMEOUT_S)."),
    backend: str = typer.Option("auto", callback=_check_backend,
                                help="Producer client: auto, confluent or kafka-python."),
    in_time_order: bool = typer.Option(False, "--in-time-order",
                                       help="Backfill: read everything, publish by publication time."),
) -> None:
    """Validate every item, publish good ones (key = id, timestamp = published_at), dead-letter the rest.

    Exit 0: all read records published or dead-lettered. Exit 1: --strict and something was rejected, or a
    record or dead letter was not delivered. Exit 2: the broker or schema registry cannot be reached.
    """
    missing = [p for p in paths if p != "-" and "://" not in p and not Path(p).exists()]
    if missing:  # a typo is the user's to fix, not a dead letter: fail before connecting anywhere
        console.print(f"[red]error:[/red] no such file or directory: {escape(', '.join(missing))}")
        raise typer.Exit(EXIT_INVALID)
    settings = load_settings()
    strict_mode = settings.producer.strict if strict is None else strict
    try:
        report = publish_paths(
            paths,
            bootstrap=settings.bootstrap,
            connection=settings.connection(),
            topic=topic or settings.topics.raw,
            deadletter_topic=settings.topics.deadletter,
            max_body_bytes=max_body_bytes or settings.producer.max_body_bytes,
            strict=strict_mode,
            rate_per_s=rate or settings.producer.rate_per_s,
            progress=sys.stderr.isatty(),
            registry_url=getattr(settings, "registry_url", None),
            backend=backend,
            in_time_order=in_time_order,
            max_message_bytes=max_message_bytes,
            close_timeout_s=close_timeout,
            connect_timeout_s=connect_timeout or settings.kafka.connect_timeout_s,
        )
    except (BrokerUnreachableError, RegistryError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_UNREACHABLE) from exc
    except UndeliveredError as exc:
        if isinstance(exc.report, PublishReport):
            _print_report(exc.report)
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from exc
    except (PublishError, SchemaError) as exc:  # e.g. an unknown schema: a broken install, not the network
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from exc
    _print_report(report)
    if report.unauthorized:
        console.print(f"[red]error:[/red] Kafka refused writing to {escape(topic or settings.topics.raw)} for "
                      f"{settings.kafka.username or 'this client'}: topic authorization failed "
                      f"({report.unauthorized} item(s), dead-lettered where allowed)", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID)
    if report.dead_letter_failures or (strict_mode and report.rejected):
        raise typer.Exit(EXIT_INVALID)


def _print_report(report: PublishReport) -> None:
    for rejection in report.rejected[:20]:
        ref = escape(rejection.source_ref.encode("utf-8", "backslashreplace").decode()[:300])
        message = escape(rejection.message.encode("utf-8", "backslashreplace").decode()[:300])
        console.print(f"[yellow]rejected[/yellow] {ref} {escape(f'[{rejection.reason}]')} {message}")
    if len(report.rejected) > 20:
        console.print(f"... and {len(report.rejected) - 20} more rejection(s)")
    console.print(report.summary())
