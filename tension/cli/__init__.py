"""The `tension` command line: the edge where settings are read and passed down.

Each area has its own module defining a ``typer.Typer`` (``kafka_cmd``,
``produce_cmd``, ``classify_cmd``, ...); this module only assembles them, so an
area can be developed without touching the others. Modules whose optional
dependencies are missing are skipped with a note rather than breaking the CLI.

Failures reach the user as one line naming what failed, with the exit codes of
:mod:`tension.exits`; a traceback only with ``--debug`` (or ``TENSION_DEBUG=1``).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback

import typer
from pydantic import ValidationError

from schemas.exceptions import RegistryError
from tension.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_UNREACHABLE, error_line
from tension.preflight import ServiceUnreachable
from tension.settings import describe_validation_error

app = typer.Typer(
    name="tension",
    help="tension-stream: US–China economic news → categories, tension scores and indexes, via Kafka.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # main() prints one line; --debug shows the plain traceback
)
_debug = {"on": os.environ.get("TENSION_DEBUG", "") not in ("", "0", "false")}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            own = version("tension-stream")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            own = "unknown"
        from streams.classifier import CLASSIFIER_VERSION

        typer.echo(f"tension-stream {own} (classifier {CLASSIFIER_VERSION})")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of failures (else one line)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """tension-stream: US–China economic news → categories, tension scores and indexes, via Kafka."""
    if debug:
        _debug["on"] = True

# (module, sub-command group name or None to merge its commands at top level)
_AREAS: list[tuple[str, str | None]] = [
    ("tension.cli.kafka_cmd", "kafka"),
    ("tension.cli.registry_cmd", "registry"),
    ("tension.cli.topics_cmd", "topics"),
    ("tension.cli.produce_cmd", None),
    ("tension.cli.classify_cmd", None),
    ("tension.cli.worker_cmd", None),
    ("tension.cli.sink_cmd", "sink"),
    ("tension.cli.lag_cmd", None),
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


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """One log format for every process (TENSION_LOG_FORMAT): see :mod:`tension.logs`."""
    from tension.logs import configure_logging as configure

    configure(level, fmt)


_register()


def main() -> None:
    """Run the CLI; anything a command did not handle becomes one line and a documented exit code."""
    try:
        app()
    except ServiceUnreachable as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except RegistryError as exc:  # the schema registry did not answer or refused a schema (URL shown without credentials)
        _fail(f"schema registry: {exc}", EXIT_UNREACHABLE)
    except ValidationError as exc:  # a TENSION_ value that does not validate: name the variable
        _fail(f"invalid setting: {describe_validation_error(exc)}", EXIT_INVALID)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the edge: nothing may end in a bare traceback
        from tension.kafka_errors import describe_kafka_error

        problem = describe_kafka_error(exc)  # e.g. a missing ACL: say which one
        if problem:
            _fail(problem.message, problem.exit_code)
        text = str(exc)
        _fail(text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}", EXIT_FAILED)


def _fail(message: str, code: int) -> None:
    if _debug["on"]:
        traceback.print_exc()
    print(error_line(message), file=sys.stderr)
    sys.exit(code)
