"""`devenv.procs.exclusive`: the lock that makes two fetches of one cache take turns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devenv.procs import exclusive

# A second process asking for the lock without waiting: exit 0 if it got it, 3 if it is held.
_PROBE = """
import fcntl, sys
with open(sys.argv[1], "a") as fh:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
"""


def _probe(lock: Path) -> int:
    return subprocess.run([sys.executable, "-c", _PROBE, str(lock)], timeout=30).returncode


def test_another_process_is_kept_out_while_held_and_let_in_after(tmp_path: Path) -> None:
    lock = tmp_path / "cache" / ".fetch.lock"
    with exclusive(lock):
        assert lock.exists()
        assert _probe(lock) == 3
    assert _probe(lock) == 0


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    lock = tmp_path / ".fetch.lock"
    try:
        with exclusive(lock):
            raise RuntimeError("fetch failed")
    except RuntimeError:
        pass
    assert _probe(lock) == 0
