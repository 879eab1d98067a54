"""Process and port helpers for the services the project runs itself (broker, registry).

Both run detached with pid files, so another `tension` process can find and
stop them; these helpers are the shared plumbing for that.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if absent) for the block.

    Why: the caches under .kafka/ are filled on first use, and two processes
    may get there at once (parallel test workers, two `make` runs); with the
    lock the second waits and then finds the first one's result instead of
    unpacking over it. The kernel drops the lock when its holder dies.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """True for a running (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def cmdline_has(pid: int, marker: str) -> bool:
    """Guard against a stale pid file whose pid now belongs to another program."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return alive(pid) and marker in cmdline


def send(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def terminate(pids: Iterable[int], timeout_s: float) -> list[int]:
    """SIGTERM each pid, wait up to `timeout_s`, SIGKILL the survivors; return those killed."""
    pids = list(pids)
    for pid in pids:
        send(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = [p for p in pids if alive(p)]
    for pid in killed:
        send(pid, signal.SIGKILL)
    return killed


def port_free(host: str, port: int) -> bool:
    """Can a server listen on host:port now?

    SO_REUSEADDR as the JVM sets it: connections of a just-stopped broker in
    TIME_WAIT must not make an immediate restart fail; a live listener still does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Does something accept TCP connections on host:port now? (a cheap probe before a client)"""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port_block(host: str = "127.0.0.1", span: int = 22) -> int:
    """A base port such that base .. base+span-1 are all free (tests and benches use it).

    The block lies *below* the kernel's ephemeral range: a block taken from
    inside it (what binding port 0 gives) can lose a port to any outgoing
    connection made before the service binds — a Kafka client's, say — and
    the service then fails with "address already in use" (seen in CI).
    """
    low, high = _ephemeral_range()
    rng = random.SystemRandom()
    candidates = (10_000, low - span) if low - span > 10_000 else (high + 1, 65_000 - span)
    for _ in range(500):
        base = rng.randrange(*candidates)
        if all(port_free(host, p) for p in range(base, base + span)):
            return base
    raise RuntimeError("no free block of ports found")


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux default 32768–60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999
