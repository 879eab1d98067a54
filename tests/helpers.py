"""Helpers for tests: unique names and deadline polling (never bare sleeps)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable


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
