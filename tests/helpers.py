"""Helpers for tests: unique names and deadline polling (never bare sleeps)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): a service that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"



def wait_for(predicate: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.2) -> object:
    """Poll `predicate` until truthy or the deadline passes (tests never sleep blindly)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last value: {last!r})")


def demo_env(tmp: Path, base_port: int, **extra: str) -> dict[str, str]:
    """Environment for a `tension demo` on private ports and files (no TENSION_ variable leaks in)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env.update({
        "TENSION_LOCAL_KAFKA__HOME": str(tmp / "kafka"),
        "TENSION_LOCAL_KAFKA__PORT": str(base_port),
        "TENSION_LOCAL_KAFKA__CONTROLLER_PORT": str(base_port + 1),
        "TENSION_STREAM__WEB_PORT": str(base_port + 5),
        "TENSION_DASHBOARD__PORT": str(base_port + 7),  # never the fixed default 8765 another run may hold
        "TENSION_STREAM__DATA_DIR": str(tmp / "state"),
        "TENSION_SINK__SQLITE_PATH": str(tmp / "demo.sqlite"),
        "COLUMNS": "120",
        **extra,
    })
    return env
