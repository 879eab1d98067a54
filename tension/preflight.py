"""Fail fast at the edge: is each service a command needs reachable at all?

Kafka clients retry a dead bootstrap address for 15-30 s before they give up,
and then fail with a client-specific error deep in a stack. A command checks
first, within ``TENSION_KAFKA__CONNECT_TIMEOUT_S``, and reports one line
naming the address (exit code 2, :mod:`tension.exits`). The check is a TCP
connect: it proves a listener, not a healthy cluster, so the clients' own
retries still cover what comes after.
"""

from __future__ import annotations

import socket
import time


class ServiceUnreachable(RuntimeError):
    """A service a command needs did not accept a connection in time."""

    def __init__(self, service: str, address: str, timeout_s: float, reason: str) -> None:
        super().__init__(f"cannot reach {service} at {address} within {timeout_s:g} s ({reason})")
        self.service = service
        self.address = address


def _endpoints(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        part = part.strip().rsplit("://", 1)[-1]
        if not part:
            continue
        host, _, port = part.rpartition(":")
        out.append((host.strip("[]") or "localhost", int(port) if port.isdigit() else 9092))
    return out


def require_kafka(bootstrap: str, timeout_s: float) -> None:
    """Return once any bootstrap server accepts a TCP connection; raise ServiceUnreachable at the deadline."""
    endpoints = _endpoints(bootstrap)
    if not endpoints:
        raise ServiceUnreachable("Kafka", repr(bootstrap), timeout_s, "no bootstrap server given")
    deadline = time.monotonic() + timeout_s
    reason = "no answer"
    while True:
        for host, port in endpoints:
            remaining = deadline - time.monotonic()
            try:
                with socket.create_connection((host, port), timeout=max(0.2, min(2.0, remaining))):
                    return
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
        if time.monotonic() >= deadline:
            raise ServiceUnreachable("Kafka", bootstrap, timeout_s, reason.lower())
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
