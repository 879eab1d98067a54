"""Shared fixtures: one real Kafka broker per test session, uuid-named topics and groups.

The broker comes from, in order: ``TENSION_KAFKA_BOOTSTRAP`` (an existing
cluster), a testcontainers Kafka when a Docker engine answers, or the embedded
broker assembled from Maven Central and started in a temporary folder on free
ports. Never a mock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from devenv.localkafka import LocalCluster, assemble
from tests.helpers import unique, wait_for
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT, LocalKafkaSettings

log = logging.getLogger(__name__)

# No per-example deadline for property tests: on a shared 2-core machine running two test workers an
# example's wall time is the host's load, not the code's (a timed test); speed belongs in bench/.
hypothesis_settings.register_profile("tension", deadline=None)
hypothesis_settings.load_profile("tension")


#: Wall-clock budget of one test by folder on a shared 2-core CI machine (DEVELOPERS' guide): a test
#: over it is listed at the end of every run; pytest-timeout stops a unit test at twice its budget
#: and anything else at the global 120 s (pyproject.toml).
BUDGET_S = {"unit": 30.0, "integration": 90.0}
_over_budget: list[tuple[str, float, float]] = []


def _kind(nodeid: str) -> str:
    return "unit" if nodeid.startswith("tests/unit/") else "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _kind(item.nodeid) == "unit" and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(2 * BUDGET_S["unit"]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > BUDGET_S[_kind(report.nodeid)]:
        _over_budget.append((report.nodeid, report.duration, BUDGET_S[_kind(report.nodeid)]))


def pytest_terminal_summary(terminalreporter: object) -> None:
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    if not _over_budget:
        write(f"test budgets: every test within its budget (unit {BUDGET_S['unit']:.0f} s, "
              f"integration {BUDGET_S['integration']:.0f} s)")
    for nodeid, took, budget in _over_budget:
        write(f"test budgets: OVER {nodeid} took {took:.1f} s (budget {budget:.0f} s)")


@dataclass
class KafkaEndpoint:
    bootstrap: str
    version: str
    origin: str  # "env", "testcontainers" or "local"
    cluster: LocalCluster | None = None


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start_local_cluster(tmp: Path, nodes: int = 1, secure: bool = False) -> LocalCluster:
    """Start the embedded broker on free ports in `tmp` (caller stops it)."""
    cfg = LocalKafkaSettings()
    # the checkout's classpath cache (`make` assembles it there), whatever the working directory
    dist = assemble(PROJECT_ROOT / cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version)
    base = free_port_block(span=24)
    cluster = LocalCluster(dist, tmp, nodes=nodes, port=base, controller_port=base + 1, heap="512m",
                           secure=secure)
    seconds = cluster.start(timeout_s=120)
    log.info("local Kafka (%d node(s)) ready at %s in %.1fs", nodes, cluster.bootstrap, seconds)
    return cluster


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaEndpoint]:
    env = os.environ.get("TENSION_KAFKA_BOOTSTRAP")
    if env:
        yield KafkaEndpoint(env, "unknown", "env")
        return
    if _docker_answers():  # pragma: no cover - no Docker engine on our machines
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield KafkaEndpoint(container.get_bootstrap_server(), "4.1.1", "testcontainers")
        return
    cluster = start_local_cluster(tmp_path_factory.mktemp("kafka"))
    try:
        yield KafkaEndpoint(cluster.bootstrap, cluster.dist.version, "local", cluster)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The embedded broker secured (`tension kafka up --secure`): SASL_SSL + SCRAM-SHA-512 with a local CA,
    StandardAuthorizer, super user ``admin`` (``cluster.connection``). Always local, whatever the
    ``kafka`` fixture uses, because the test needs the super user's password."""
    cluster = start_local_cluster(tmp_path_factory.mktemp("kafka-secure"), secure=True)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def admin(kafka: KafkaEndpoint) -> Iterator[object]:
    from kafka import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id=unique("test-admin"))
    yield client
    client.close()


@pytest.fixture
def topic_factory(admin: object) -> Callable[..., str]:
    """Create uuid-suffixed topics for one test: ``topic_factory("raw", partitions=3)``."""
    from kafka.admin import NewTopic

    def create(prefix: str, partitions: int = 1, replication: int = 1) -> str:
        name = unique(f"t.{prefix}")
        admin.create_topics([NewTopic(name, partitions, replication)])  # type: ignore[attr-defined]
        wait_for(lambda: name in admin.list_topics(), 30, f"topic {name} to exist")  # type: ignore[attr-defined]
        return name

    return create


@pytest.fixture
def group_id() -> str:
    return unique("g.test")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
