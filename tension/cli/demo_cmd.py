"""`tension demo`: the whole pipeline on the embedded default (local Kafka + SQLite)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from tension.cli import configure_logging
from tension.settings import PROJECT_ROOT, load_settings

app = typer.Typer()


@app.command()
def demo(
    paths: list[Path] = typer.Argument(None, help="What to publish (default: seeds/)"),
    keep_running: bool = typer.Option(False, "--keep-running", help="Leave Kafka, worker and sink up until Ctrl-C"),
    timeout: float = typer.Option(300.0, help="Seconds to wait for every item to reach SQLite"),
) -> None:
    """Start Kafka, worker and sink, publish seeds/, wait for SQLite, print a summary, stop."""
    from tension.demo import Demo, DemoError
    from devenv.localkafka import LocalKafkaError

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    console = Console()
    try:
        code = Demo(s, console, keep_running=keep_running, timeout_s=timeout).run(
            paths or [PROJECT_ROOT / "seeds"])
    except (DemoError, LocalKafkaError) as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)
