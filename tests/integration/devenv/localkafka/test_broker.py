"""The broker the suite talks to is a real Apache Kafka 4.x, and the quorum mode works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from devenv.localkafka import BrokerStartError, PortInUseError
from devenv.localkafka.cluster import LocalCluster
from tests.conftest import KafkaEndpoint, start_local_cluster
from tests.helpers import unique, wait_for

pytestmark = pytest.mark.integration


def test_broker_reports_kafka_4(kafka: KafkaEndpoint) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        # kafka-python derives this from the broker's ApiVersions response.
        version = admin._client.check_version()  # noqa: SLF001 - public enough, documented
    finally:
        admin.close()
    assert version >= (4, 0), f"expected an Apache Kafka 4.x broker, got {version}"
    if kafka.origin == "local":
        assert kafka.version.startswith("4.")


def test_roundtrip_on_uuid_topic(kafka: KafkaEndpoint, topic_factory, group_id: str) -> None:
    topic = topic_factory("roundtrip")
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    for i in range(10):
        producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap, group_id=group_id,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    seen: list[bytes] = []
    wait_for(lambda: seen.extend(m.value for m in consumer) or len(seen) >= 10, 30, "10 records")
    consumer.close()
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(10))


@pytest.mark.slow
def test_three_node_quorum_has_three_isr_and_a_restarted_node_rejoins(tmp_path: Path) -> None:
    """Three combined nodes form a quorum; a node stopped and started again rejoins the ISR.

    One node is restarted, not the whole cluster: a full three-JVM restart doubles the
    test's cost on a shared 2-core runner and adds nothing the rolling restart of
    bench/faults.py and the single-node restart below do not cover.
    """
    cluster = start_local_cluster(tmp_path / "quorum", nodes=3)
    admin = None
    try:
        assert len(cluster.running_pids()) == 3
        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        topic = unique("t.rf3")
        admin.create_topics([NewTopic(topic, 1, 3)])

        def isr() -> list[int]:
            desc = admin.describe_topics([topic])[0]
            parts = desc.get("partitions") or []
            return sorted(parts[0]["isr_nodes"]) if parts and desc["error_code"] == 0 else []

        assert wait_for(lambda: len(isr()) == 3 and isr(), 60, "3 in-sync replicas") == [1, 2, 3]
        # a node that does not hold the quorum leadership: the restart must not need an election
        node = next(n for n in (3, 2, 1) if n != cluster.active_controller())
        cluster.stop_node(node)
        assert wait_for(lambda: node not in isr() and isr(), 60, f"node {node} out of the ISR") == \
            sorted({1, 2, 3} - {node})
        cluster.start_node(node, timeout_s=60)
        assert wait_for(lambda: len(isr()) == 3 and isr(), 60, f"node {node} back in the ISR") == [1, 2, 3]
    finally:
        if admin is not None:
            admin.close()
        cluster.stop()
    assert cluster.running_pids() == {}


def test_down_then_up_at_once_keeps_data(tmp_path: Path) -> None:
    """`down` then `up` at once: sockets left in TIME_WAIT must not block the ports; data survives."""
    cluster = start_local_cluster(tmp_path / "restart")
    topic = unique("t.restart")
    try:
        producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all")
        producer.send(topic, key=b"k", value=b"before the restart").get(timeout=30)
        producer.close()
        cluster.stop()
        cluster.start(timeout_s=60)
        consumer = KafkaConsumer(topic, bootstrap_servers=cluster.bootstrap, auto_offset_reset="earliest",
                                 consumer_timeout_ms=1000)
        seen: list[bytes] = []
        wait_for(lambda: seen.extend(m.value for m in consumer) or seen, 30, "the record written before")
        consumer.close()
        assert seen == [b"before the restart"]
    finally:
        cluster.stop()
    assert cluster.running_pids() == {}


def test_port_taken_is_a_clear_error(kafka: KafkaEndpoint, tmp_path: Path) -> None:
    if kafka.cluster is None:
        pytest.skip("needs the embedded broker to reuse its port")
    port = int(kafka.bootstrap.rsplit(":", 1)[1])
    twin = LocalCluster(kafka.cluster.dist, tmp_path / "twin", port=port, controller_port=port + 1)
    with pytest.raises(PortInUseError, match=f"{port} is already in use"):
        twin.start(timeout_s=10)


def test_failed_start_shows_log_tail(kafka: KafkaEndpoint, tmp_path: Path) -> None:
    if kafka.cluster is None:
        pytest.skip("needs the embedded broker's classpath")
    from devenv.procs import free_port_block

    base = free_port_block()
    # An invalid heap size makes the JVM exit at once (a tiny one sometimes kept it alive, GC-bound,
    # until the deadline): the start must notice the exit, not wait out its timeout.
    bad = LocalCluster(kafka.cluster.dist, tmp_path / "bad", port=base, controller_port=base + 1,
                       heap="bogus")
    with pytest.raises(BrokerStartError) as err:
        bad.start(timeout_s=60)
    assert "exited during start-up" in str(err.value) and "last lines of" in str(err.value)
    assert bad.running_pids() == {}


def test_cli_reports_missing_java(tmp_path: Path) -> None:
    """With no java on PATH, `tension kafka up` says what to install instead of a traceback."""
    env = {"PATH": str(Path(sys.executable).parent), "TENSION_LOCAL_KAFKA__HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "tension", "kafka", "up"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Java 17+" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_reports_missing_maven(tmp_path: Path) -> None:
    """Java present, Maven absent, nothing cached: the error names Maven and how to get it."""
    import shutil

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "java").symlink_to(Path(shutil.which("java")).resolve())
    env = {"PATH": f"{bindir}:{Path(sys.executable).parent}",
           "TENSION_LOCAL_KAFKA__HOME": str(tmp_path / "home"),
           "TENSION_LOCAL_KAFKA__LIB_ROOT": str(tmp_path / "lib")}
    proc = subprocess.run([sys.executable, "-m", "tension", "kafka", "fetch"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Maven" in proc.stderr and "apt-get install maven" in proc.stderr
    assert "Traceback" not in proc.stderr

