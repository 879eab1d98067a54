"""Run one or three KRaft nodes (combined broker+controller) as local processes.

Each node has its own folder under ``run_dir`` holding its properties, data,
log file and pid file, so `tension kafka status|down|logs` work from another
process, and tests can run a cluster in a temporary folder beside the default
one. Nodes are detached (own session) and stopped with SIGTERM, which Kafka
handles with a controlled shutdown.
"""

from __future__ import annotations

import base64
import json
import logging
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devenv.localkafka.assemble import KafkaDistribution, require_java
from schemas.connection import KafkaConnection
from devenv.localkafka.exceptions import BrokerStartError, LocalKafkaError, PortInUseError
from devenv.localkafka.secure import SecureBroker
from devenv.procs import alive, cmdline_has, listening, port_free, read_pid, send, terminate

log = logging.getLogger(__name__)

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class NodePorts:
    node_id: int
    client: int
    controller: int


def new_cluster_id() -> str:
    """A random KRaft cluster id (base64url of a UUID) that cannot be read as an option.

    Why: one id in 64 starts with "-", and ``kafka-storage format --cluster-id
    -Z21...`` then fails ("expected one argument"); Kafka's own
    ``Uuid.randomUuid`` skips such ids the same way.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class LocalCluster:
    """A set of local KRaft nodes sharing one cluster id.

    ``port`` and ``controller_port`` are node 1's; node *n* uses them plus
    ``10 * (n - 1)``, which keeps a three-node quorum on distinct ports.
    ``overrides`` are extra broker properties (the fault tests shorten the
    broker session and heartbeat timeouts so a killed node is fenced sooner).
    ``secure`` replaces the open listener by SASL_SSL with SCRAM-SHA-512 and
    turns the authorizer on (:mod:`devenv.localkafka.secure`).
    """

    def __init__(
        self,
        dist: KafkaDistribution,
        run_dir: Path,
        *,
        nodes: int = 1,
        host: str = "127.0.0.1",
        port: int = 9092,
        controller_port: int = 9093,
        heap: str = "512m",
        overrides: Mapping[str, object] | None = None,
        secure: bool = False,
    ) -> None:
        if nodes not in (1, 3):
            raise ValueError("nodes must be 1 or 3 (a KRaft quorum needs an odd voter count)")
        self.dist = dist
        self.run_dir = Path(run_dir)
        self.nodes = nodes
        self.host = host
        self.heap = heap
        self.overrides = dict(overrides or {})
        self.security = SecureBroker(self.run_dir / "tls") if secure else None
        self.ports = [
            NodePorts(n, port + 10 * (n - 1), controller_port + 10 * (n - 1)) for n in range(1, nodes + 1)
        ]

    # -- paths -------------------------------------------------------------
    def node_dir(self, node_id: int) -> Path:
        return self.run_dir / f"node-{node_id}"

    def pid_file(self, node_id: int) -> Path:
        return self.node_dir(node_id) / "kafka.pid"

    def log_file(self, node_id: int) -> Path:
        return self.node_dir(node_id) / "server.log"

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{self.host}:{p.client}" for p in self.ports)

    @property
    def connection(self) -> KafkaConnection:
        """How an administrator connects: PLAINTEXT, or SASL_SSL as the super user when secure."""
        if self.security is None:
            return KafkaConnection(bootstrap=self.bootstrap)
        return self.security.connection(self.bootstrap)

    # -- configuration -----------------------------------------------------
    def _properties(self, p: NodePorts) -> str:
        rf = self.nodes
        voters = ",".join(f"{q.node_id}@{self.host}:{q.controller}" for q in self.ports)
        lines = {
            "process.roles": "broker,controller",
            "node.id": p.node_id,
            "listeners": f"PLAINTEXT://{self.host}:{p.client},CONTROLLER://{self.host}:{p.controller}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{p.client}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.node_dir(p.node_id) / "data",
            "num.partitions": 1,
            "default.replication.factor": rf,
            "min.insync.replicas": 1 if rf == 1 else 2,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": 1 if rf == 1 else 2,
            "transaction.state.log.num.partitions": 1,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": 1 if rf == 1 else 2,
            "share.coordinator.state.topic.num.partitions": 1,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            "log.retention.hours": 168,
        }
        if self.nodes == 1:
            lines["controller.quorum.bootstrap.servers"] = f"{self.host}:{p.controller}"
        else:
            lines["controller.quorum.voters"] = voters
        if self.security is not None:
            lines.update(self.security.properties(self.host, p.client, p.controller))
        lines.update(self.overrides)
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def _java(self, main: str, *args: str, node_id: int, heap: str | None = None) -> list[str]:
        return [
            "java", f"-Xmx{heap or self.heap}", "-Xms16m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.node_dir(node_id) / 'log4j2.properties'}",
            f"-Dtension.node.dir={self.node_dir(node_id)}",
            "-cp", self.dist.classpath, main, *args,
        ]

    def _format(self, p: NodePorts, cluster_id: str) -> None:
        props = self.node_dir(p.node_id) / "server.properties"
        args = ["format", "--cluster-id", cluster_id, "--config", str(props), "--ignore-formatted"]
        if self.nodes == 1:
            args.insert(1, "--standalone")
        if self.security is not None:
            args += self.security.format_args()
        proc = subprocess.run(
            self._java("kafka.tools.StorageTool", *args, node_id=p.node_id, heap="256m"),
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise LocalKafkaError(f"formatting KRaft storage of node {p.node_id} failed:\n{proc.stdout}{proc.stderr}")

    # -- lifecycle ---------------------------------------------------------
    def running_pids(self) -> dict[int, int]:
        """Node id -> pid for every node whose pid file names a live process of ours."""
        alive = {}
        for p in self.ports:
            pid = read_pid(self.pid_file(p.node_id))
            if pid and cmdline_has(pid, f"-Dtension.node.dir={self.node_dir(p.node_id)}"):
                alive[p.node_id] = pid
        return alive

    def start(self, timeout_s: float = 90.0) -> float:
        """Format (first time only) and start every node; return seconds until ready."""
        require_java()
        started = time.monotonic()
        if self.running_pids():
            raise LocalKafkaError(f"a local Kafka is already running from {self.run_dir}; run `tension kafka down`")
        for p in self.ports:
            for port in (p.client, p.controller):
                if not port_free(self.host, port):
                    raise PortInUseError(self.host, port)
        id_file = self.run_dir / "cluster.id"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not id_file.exists():
            id_file.write_text(new_cluster_id())
        cluster_id = id_file.read_text().strip()
        if self.security is not None:
            self.security.ensure(self.bootstrap)
        for p in self.ports:
            ndir = self.node_dir(p.node_id)
            ndir.mkdir(parents=True, exist_ok=True)
            props = ndir / "server.properties"
            props.touch()
            props.chmod(0o600)  # holds the admin's password when secure
            props.write_text(self._properties(p))
            (ndir / "log4j2.properties").write_text(_LOG4J2.format(log_file=self.log_file(p.node_id)))
            self._format(p, cluster_id)
        for p in self.ports:
            self._spawn(p)
        self.wait_ready(deadline=started + timeout_s)
        return time.monotonic() - started

    def _spawn(self, p: NodePorts) -> None:
        ndir = self.node_dir(p.node_id)
        out = open(ndir / "stdout.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            self._java("kafka.Kafka", str(ndir / "server.properties"), node_id=p.node_id),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        out.close()
        self.pid_file(p.node_id).write_text(str(proc.pid))
        log.info("started Kafka node %d (pid %d) on %s:%d", p.node_id, proc.pid, self.host, p.client)

    def start_node(self, node_id: int, timeout_s: float = 90.0) -> float:
        """Start one stopped (or killed) node of a formatted cluster with its own data; return
        seconds until the cluster metadata lists every node again.

        Why not more: whether its replicas caught up is per partition; callers that need
        it wait for the in-sync replica sets (the fault tests do).
        """
        started = time.monotonic()
        if node_id in self.running_pids():
            raise LocalKafkaError(f"Kafka node {node_id} is already running")
        p = next(q for q in self.ports if q.node_id == node_id)
        for port in (p.client, p.controller):
            if not port_free(self.host, port):
                raise PortInUseError(self.host, port)
        self._spawn(p)
        self.wait_ready(deadline=started + timeout_s)
        return time.monotonic() - started

    def wait_ready(self, deadline: float) -> None:
        """Poll a metadata request until every node is registered and unfenced."""
        # Refused connections are expected while the JVM boots; keep them out of the user's log.
        quiet = logging.getLogger("kafka")
        previous = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            self._poll_ready(deadline)
        finally:
            quiet.setLevel(previous)

    def _poll_ready(self, deadline: float) -> None:
        from kafka import KafkaAdminClient  # local import: only the CLI edge needs it

        last_error: Exception | None = None
        while time.monotonic() < deadline:
            # Plain liveness here: right after fork the child's cmdline is still Python's.
            dead = [p.node_id for p in self.ports if not alive(read_pid(self.pid_file(p.node_id)) or -1)]
            if dead:
                self._fail(f"Kafka node {dead[0]} exited during start-up", dead[0])
            # Probe the sockets first: a client with no listener blocks for ~30 s bootstrapping,
            # which would hide a node's exit and overrun the deadline.
            if not all(listening(self.host, p.client) for p in self.ports):
                last_error = LocalKafkaError("a node's client port is not listening yet")
                time.sleep(0.3)
                continue
            try:
                remaining_ms = max(500, int((deadline - time.monotonic()) * 1000))
                admin = KafkaAdminClient(**self.connection.kafka_python(),
                                         request_timeout_ms=min(3000, remaining_ms))
                try:
                    brokers = admin.describe_cluster()["brokers"]
                finally:
                    admin.close()
                if len(brokers) == self.nodes and not any(b.get("is_fenced") for b in brokers):
                    return
            except Exception as exc:  # broker not listening yet
                last_error = exc
            time.sleep(0.3)
        self._fail(f"Kafka did not become ready in time (last error: {last_error})", self.ports[0].node_id)

    def _fail(self, message: str, node_id: int) -> None:
        tail = self.log_tail(node_id, 30)
        self.stop()
        raise BrokerStartError(message, str(self.log_file(node_id)), tail)

    def stop(self, timeout_s: float = 30.0) -> list[int]:
        """SIGTERM every node, escalate to SIGKILL after the timeout; return stopped node ids."""
        pids = self.running_pids()
        killed = terminate(pids.values(), timeout_s)
        if killed:
            log.warning("node pid(s) %s did not stop within %.0fs; killed", killed, timeout_s)
        for p in self.ports:
            self.pid_file(p.node_id).unlink(missing_ok=True)
        return sorted(pids)

    def kill_node(self, node_id: int, timeout_s: float = 30.0) -> None:
        """SIGKILL one node (fault tests) and wait until its process is gone."""
        pid = self.running_pids().get(node_id)
        if pid:
            send(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout_s
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.pid_file(node_id).unlink(missing_ok=True)

    def stop_node(self, node_id: int, timeout_s: float = 60.0) -> None:
        """SIGTERM one node (controlled shutdown: leadership moves first), SIGKILL after the timeout."""
        pid = self.running_pids().get(node_id)
        if pid and terminate([pid], timeout_s):
            log.warning("node %d (pid %d) did not stop within %.0fs; killed", node_id, pid, timeout_s)
        self.pid_file(node_id).unlink(missing_ok=True)

    def active_controller(self) -> int | None:
        """The KRaft quorum leader (active controller) as the running nodes last recorded it.

        Why the file: in KRaft, the controller id that brokers return to clients in
        metadata is a random live broker, not the active controller, and the
        DescribeQuorum API needs Kafka's Java admin tools (not on our classpath).
        Every voter persists ``leaderId`` and ``leaderEpoch`` in
        ``__cluster_metadata-0/quorum-state`` when it learns of an election; the
        highest epoch among running nodes names the current leader.
        """
        best: tuple[int, int] | None = None
        for node_id in self.running_pids():
            path = self.node_dir(node_id) / "data" / "__cluster_metadata-0" / "quorum-state"
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            epoch, leader = int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1))
            if leader > 0 and (best is None or epoch > best[0]):
                best = (epoch, leader)
        return best[1] if best else None

    def log_tail(self, node_id: int, lines: int = 50) -> str:
        text = ""
        for path in (self.log_file(node_id), self.node_dir(node_id) / "stdout.log"):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text.strip() or "(no log output)"
