"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl on a free port.

Uses Debian's ``postgresql`` package (binaries under /usr/lib/postgresql/<ver>/bin,
installed by ``.ci/run`` where missing). PostgreSQL refuses to run as root, so
when we are root the cluster runs as the ``postgres`` user in a folder it owns.
Host connections need a password (scram-sha-256) so the DSN really carries a
secret; ``stop()``/``start()`` let a test take the server away mid-stream.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from devenv.procs import free_port_block


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    return free_port_block(span=1)  # below the ephemeral range (see free_port_block)


class ThrowawayPostgres:
    """One cluster in a temp folder; ``dsn`` holds user ``tension`` and a random password."""

    def __init__(self, *, fsync: bool = False) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bindir
        self.port = _free_port()
        self.password = "pw-" + uuid.uuid4().hex
        self.root = Path(tempfile.mkdtemp(prefix="tension-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.fsync = fsync
        self._as_root = os.geteuid() == 0

    @property
    def dsn(self) -> str:
        return f"postgresql://tension:{self.password}@127.0.0.1:{self.port}/tension?connect_timeout=5"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "tension", f"--pwfile={pwfile}", "-E", "UTF8",
                  "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        pwfile.unlink()
        conf = [f"port = {self.port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{self.root}'",
                "max_connections = 50", "shared_buffers = 64MB"]
        if not self.fsync:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n".join(conf) + "\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def ensure_running(self) -> None:
        """Start the server again if a test stopped it and failed before restarting it."""
        if not self.running():
            self.start()

    def create_database(self, name: str = "tension") -> None:
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "tension", name)

    def dsn_for(self, database: str) -> str:
        return self.dsn.replace("/tension?", f"/{database}?")

    def __enter__(self) -> "ThrowawayPostgres":
        self.init()
        self.start()
        self.create_database()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
