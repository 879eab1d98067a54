"""`tension registry up|down|status|fetch|logs`: a local Confluent-compatible Schema Registry (Apicurio)."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from tension.exits import EXIT_INVALID, fail
from tension.settings import load_settings
from tension.wiring import local_registry as registry_from

app = typer.Typer(help="Run Apicurio Registry (Confluent-compatible API) locally, fetched from Maven Central.")
console = Console(stderr=True)


def _fail(exc: Exception) -> NoReturn:
    fail(str(exc), EXIT_INVALID)


@app.command()
def fetch() -> None:
    """Fetch and unpack the Apicurio bundle (once; cached in .registry/)."""
    from devenv.localkafka import LocalKafkaError
    from devenv.registry import LocalRegistryError, assemble

    cfg = load_settings().local_registry
    try:
        dist = assemble(cfg.home, cfg.version)
    except (LocalRegistryError, LocalKafkaError) as exc:
        _fail(exc)
    console.print(f"Apicurio Registry {dist.version} ready: {dist.jar}")


@app.command()
def up() -> None:
    """Start the registry (in-memory storage) and print its Confluent-compatible URL."""
    from devenv.localkafka import LocalKafkaError
    from devenv.registry import LocalRegistryError

    cfg = load_settings().local_registry
    try:
        registry = registry_from(cfg)
        if registry.running_pid():
            console.print(f"already running: {registry.url}")
            typer.echo(registry.url)
            return
        seconds = registry.start(cfg.start_timeout_s)
    except (LocalRegistryError, LocalKafkaError, ValueError) as exc:
        _fail(exc)
    console.print(f"Apicurio Registry {cfg.version} up in {seconds:.1f}s; logs: {registry.log_file}\n"
                  f"export TENSION_REGISTRY_URL={registry.url}")
    typer.echo(registry.url)


@app.command()
def down() -> None:
    """Stop the registry this checkout started (its schemas are lost: storage is in memory)."""
    registry = registry_from(load_settings().local_registry, fetch=False)
    console.print("registry stopped" if registry.stop() else "no local registry was running")


@app.command()
def status() -> None:
    """Show whether the registry runs and answers; exit 1 when it does not."""
    registry = registry_from(load_settings().local_registry, fetch=False)
    pid = registry.running_pid()
    if pid is None:
        console.print("registry: stopped")
        raise typer.Exit(1)
    state = "ready" if registry.ready() else "starting (not answering yet)"
    console.print(f"registry: running (pid {pid}), {state}, {registry.url}")


@app.command()
def logs(lines: int = typer.Option(50)) -> None:
    """Print the tail of the registry log."""
    registry = registry_from(load_settings().local_registry, fetch=False)
    typer.echo(registry.log_tail(lines))
