"""The `tension` command line: the edge where settings are read and passed down.

Each area has its own module defining a ``typer.Typer`` (``kafka_cmd``,
``produce_cmd``, ``classify_cmd``, ...); this module only assembles them, so an
area can be developed without touching the others. Modules whose optional
dependencies are missing are skipped with a note rather than breaking the CLI.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

app = typer.Typer(
    name="tension",
    help="tension-stream: US–China economic news → categories, tension scores and indexes, via Kafka.",
    no_args_is_help=True,
    add_completion=False,
)

# (module, sub-command group name or None to merge its commands at top level)
_AREAS: list[tuple[str, str | None]] = [
    ("tension.cli.kafka_cmd", "kafka"),
    ("tension.cli.registry_cmd", "registry"),
    ("tension.cli.topics_cmd", "topics"),
    ("tension.cli.produce_cmd", None),
    ("tension.cli.classify_cmd", None),
    ("tension.cli.worker_cmd", None),
    ("tension.cli.sink_cmd", "sink"),
    ("tension.cli.index_cmd", None),
    ("tension.cli.demo_cmd", None),
    ("tension.cli.dashboard_cmd", None),
    ("tension.cli.config_cmd", None),
]


def _register() -> None:
    for module_name, group in _AREAS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # area not built yet
            raise
        sub = getattr(module, "app")
        if group:
            app.add_typer(sub, name=group)
        else:
            for command in sub.registered_commands:
                app.registered_commands.append(command)


def configure_logging(level: str = "INFO") -> None:
    """One log format for every process; rich's handler when attached to a terminal."""
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler()
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


_register()


def main() -> None:
    app()
