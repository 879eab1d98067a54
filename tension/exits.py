"""Exit codes of every `tension` command and the one form of its error line, defined once (README, "Exit codes").

Scripts and supervisors branch on these, so a code means the same thing in
every command: 2 is reserved for "a service could not be reached" (and for
usage errors, which click reports with 2 before any command runs).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

EXIT_OK = 0
#: The command ran but its work failed or was rejected: invalid input in --strict mode,
#: undeliverable records, an invalid setting (the message names the variable), a missing path.
EXIT_INVALID = 1
#: A service could not be reached: the Kafka broker, the schema registry or the store.
EXIT_UNREACHABLE = 2
#: An unexpected failure inside the command (a bug): one line, the traceback with --debug.
EXIT_FAILED = 3
#: Stopped by Ctrl-C (SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def error_line(message: str) -> str:
    """The one form of a failure on stderr: ``tension: error: <the first line of message>``."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    return f"tension: error: {first}"


def fail(message: str, code: int) -> NoReturn:
    """Print :func:`error_line` of ``message`` (plain text: no markup can swallow a ``[reason]``) and exit."""
    print(error_line(message), file=sys.stderr, flush=True)
    raise typer.Exit(code)
