"""Run Apicurio Registry as a local process with in-memory storage, on loopback.

Apicurio 3.x defaults to an in-memory H2 database, so every start is a clean
registry and nothing needs cleaning up — the same life cycle as a test
broker. The process is detached (own session), tracked by a pid file in
``run_dir`` and stopped with SIGTERM (Quarkus shuts down gracefully), so
``tension registry status|down`` work from another process.
"""

from __future__ import annotations

import logging
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from devenv.localkafka.assemble import require_java
from devenv.procs import cmdline_has, free_port_block, port_free, read_pid, terminate
from devenv.registry.assemble import RegistryDistribution
from devenv.registry.exceptions import LocalRegistryError, RegistryPortInUseError, RegistryStartError

log = logging.getLogger(__name__)

CCOMPAT_PATH = "/apis/ccompat/v7"


class LocalRegistry:
    """One Apicurio Registry process; ``url`` is its Confluent-compatible API."""

    def __init__(self, dist: RegistryDistribution, run_dir: Path, *, host: str = "127.0.0.1",
                 port: int = 8081, heap: str = "384m") -> None:
        if not (host.startswith("127.") or host in {"localhost", "::1"}):
            raise ValueError("the local registry has no authentication; it binds to loopback only")
        self.dist = dist
        self.run_dir = Path(run_dir)
        self.host = host
        self.port = port
        self.heap = heap

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What ``TENSION_REGISTRY_URL`` and confluent-kafka's ``SchemaRegistryClient`` take."""
        return self.base_url + CCOMPAT_PATH

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "registry.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "registry.log"

    def _command(self) -> list[str]:
        return [
            "java", f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            f"-Dtension.registry.dir={self.run_dir}",
            f"-Dquarkus.http.host={self.host}", f"-Dquarkus.http.port={self.port}",
            "-Dapicurio.storage.kind=sql", "-Dapicurio.storage.sql.kind=h2",  # 3.x: in-memory H2
            "-Dregistry.storage.kind=sql",  # 2.x spelling (ignored by 3.x)
            "-Dquarkus.log.console.enable=true",
            "-jar", str(self.dist.jar),
        ]

    def running_pid(self) -> int | None:
        """The pid from our pid file, if that process is alive and is this registry."""
        pid = read_pid(self.pid_file)
        return pid if pid and cmdline_has(pid, f"-Dtension.registry.dir={self.run_dir}") else None

    def start(self, timeout_s: float = 90.0) -> float:
        """Start the registry and wait until its ccompat API answers; return seconds taken."""
        require_java()
        started = time.monotonic()
        if self.running_pid():
            raise LocalRegistryError(f"a registry already runs from {self.run_dir}; run `tension registry down`")
        if not port_free(self.host, self.port):
            raise RegistryPortInUseError(self.host, self.port)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(self._command(), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.run_dir)
        self.pid_file.write_text(str(proc.pid))
        log.info("started Apicurio Registry %s (pid %d) on %s", self.dist.version, proc.pid, self.base_url)
        self.wait_ready(started + timeout_s, proc)
        return time.monotonic() - started

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/subjects", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, deadline: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        """Poll the ccompat API; ``proc`` (when we just forked it) detects an early exit.

        Right after the fork ``/proc/<pid>/cmdline`` may still show the parent's
        command line, so a child we own is watched through ``poll()`` instead.
        """
        while time.monotonic() < deadline:
            exited = proc.poll() is not None if proc is not None else self.running_pid() is None
            if exited:
                self._fail("Apicurio Registry exited during start-up", proc)
            if self.ready():
                return
            time.sleep(0.3)
        self._fail("Apicurio Registry did not answer in time", proc)

    def _fail(self, message: str, proc: subprocess.Popen[bytes] | None = None) -> None:
        tail = self.log_tail(30)
        self.stop()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        raise RegistryStartError(message, str(self.log_file), tail)

    def stop(self, timeout_s: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after the timeout; True when something was stopped."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        if terminate([pid], timeout_s):
            log.warning("registry pid %d ignored SIGTERM for %.0fs; killed it", pid, timeout_s)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 50) -> str:
        if not self.log_file.exists():
            return "(no log output)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free port (tests start a registry on it)."""
    return free_port_block(host, span=1)
