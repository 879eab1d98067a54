"""Failures at the edge: each unreachable service is one line and exit 2 within its deadline;
Kafka's authorization and replication errors say what to change, whichever client raised them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import aiokafka.errors as aio
import kafka.errors as kp
import pytest
from confluent_kafka import KafkaError, KafkaException

from tension.exits import EXIT_INVALID, EXIT_UNREACHABLE
from tension.kafka_errors import describe_kafka_error
from tests.helpers import closed_port


def _timed(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tension", *args], capture_output=True, text=True,
                          env={**clean, **env}, timeout=60)
    return proc, time.monotonic() - t0


# (command, extra environment, what the one line must say); every service on a closed loopback port
UNREACHABLE = [
    (["worker"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["topics", "apply"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["lag"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["lag", "--json"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["sink", "sqlite"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["sink", "postgres", "--migrate-only"], {"TENSION_SINK__POSTGRES_DSN": "postgresql://u:hunter2@127.0.0.1:{port}/db",
                                              "TENSION_SINK__CONNECT_TIMEOUT_S": "2"},
     "cannot reach PostgreSQL at "),
    (["sink", "postgres"], {"TENSION_SINK__POSTGRES_DSN": "postgresql://u:hunter2@127.0.0.1:{port}/db"},
     "cannot reach Kafka at 127.0.0.1:{port}"),
    (["produce", "--follow", "--interval", "1s", "seeds"], {}, "cannot reach Kafka at 127.0.0.1:{port}"),
    (["produce", "seeds"], {}, "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    (["produce", "--backend", "kafka-python", "seeds"], {},
     "cannot reach Kafka at 127.0.0.1:{port} within 2 s (connection refused)"),
    # Kafka's address listens here (a bare TCP socket passes the preflight), so the registry is what fails
    (["produce", "seeds"], {"TENSION_REGISTRY_URL": "http://127.0.0.1:{port}/apis/ccompat/v7",
                            "TENSION_KAFKA_BOOTSTRAP": "127.0.0.1:{listening}"},
     "cannot register NewsItem under subject"),
    (["dashboard", "--port", "0"], {"TENSION_DASHBOARD__STORE": "postgresql://u:hunter2@127.0.0.1:{port}/db"},
     "the PostgreSQL store user=u password=*** dbname=db host=127.0.0.1 port={port} is unreachable"),
    (["dashboard", "--port", "0"], {"TENSION_DASHBOARD__STORE": "sqlite:////nonexistent-{port}/tension.sqlite"},
     "the SQLite store /nonexistent-{port}/tension.sqlite does not exist"),
]


@pytest.mark.parametrize(("args", "env", "line"), UNREACHABLE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_an_unreachable_service_is_one_line_exit_2_within_10_s(args: list[str], env: dict[str, str],
                                                               line: str) -> None:
    port = closed_port()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        values = {"port": port, "listening": listening.getsockname()[1]}
        proc, took = _timed(*args, **{"TENSION_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
                                      "TENSION_KAFKA__CONNECT_TIMEOUT_S": "2",
                                      **{k: v.format(**values) for k, v in env.items()}})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == EXIT_UNREACHABLE, proc.stderr
    errors = [x for x in lines if "error:" in x]  # log lines of the start may precede it
    assert errors == lines[-1:], proc.stderr
    assert lines[-1].removeprefix("tension: ").startswith("error: " + line.format(port=port)), proc.stderr
    assert "Traceback" not in proc.stderr and "hunter2" not in proc.stderr
    assert took < 10, f"took {took:.1f} s"


TOPIC_ERRORS = [kp.TopicAuthorizationFailedError({"news.raw"}), aio.TopicAuthorizationFailedError("news.raw"),
                KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed"))]
GROUP_ERRORS = [kp.GroupAuthorizationFailedError("tension-sink-sqlite"),
                aio.GroupAuthorizationFailedError("tension-sink-sqlite"),
                KafkaException(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "Group authorization failed"))]
CLUSTER_ERRORS = [kp.ClusterAuthorizationFailedError(), aio.ClusterAuthorizationFailedError(),
                  KafkaException(KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED))]


@pytest.mark.parametrize("exc", TOPIC_ERRORS, ids=lambda e: type(e).__module__.split(".")[0])
@pytest.mark.parametrize("context", [{}, {"topic": "news.raw", "operation": "Write"}])
def test_a_topic_authorization_error_names_the_missing_acl(exc: Exception, context: dict[str, str]) -> None:
    problem = describe_kafka_error(exc, **context)
    assert problem and problem.exit_code == EXIT_INVALID
    assert "missing ACL" in problem.message and "Topic:" in problem.message
    if context or not isinstance(exc, KafkaException):  # the clients that say which topic
        assert "Topic:news.raw" in problem.message
    assert ("allow Write on" in problem.message) == bool(context)


@pytest.mark.parametrize("exc", GROUP_ERRORS, ids=lambda e: type(e).__module__.split(".")[0])
def test_a_group_authorization_error_names_the_group_acl(exc: Exception) -> None:
    problem = describe_kafka_error(exc, group="tension-sink-sqlite")
    assert problem and "allow Read on Group:tension-sink-sqlite" in problem.message


@pytest.mark.parametrize("exc", CLUSTER_ERRORS, ids=lambda e: type(e).__module__.split(".")[0])
def test_a_cluster_authorization_error_names_the_cluster_acl(exc: Exception) -> None:
    problem = describe_kafka_error(exc)
    assert problem and "on Cluster:kafka-cluster" in problem.message


@pytest.mark.parametrize("exc", [*TOPIC_ERRORS, *GROUP_ERRORS, kp.InvalidReplicationFactorError()])
def test_the_error_is_found_when_wrapped(exc: Exception) -> None:
    try:
        try:
            raise exc
        except Exception as inner:
            raise RuntimeError("consumer failed") from inner
    except RuntimeError as outer:
        assert describe_kafka_error(outer) == describe_kafka_error(exc) is not None


@pytest.mark.parametrize("exc", [ValueError("x"), kp.KafkaTimeoutError(), KafkaException(KafkaError(KafkaError._TRANSPORT)),
                                 aio.KafkaConnectionError()])
def test_other_errors_are_left_to_the_generic_line(exc: Exception) -> None:
    assert describe_kafka_error(exc) is None


@pytest.mark.parametrize("exc", [*TOPIC_ERRORS[:1], *GROUP_ERRORS[:1]])
def test_the_cli_prints_the_acl_line_and_exits_1(exc: Exception, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import tension.cli as cli

    def boom() -> None:
        raise exc

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as ended:
        cli.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert ended.value.code == EXIT_INVALID and len(err) == 1 and "missing ACL" in err[0]


@pytest.mark.parametrize(("text", "resource"), [
    ('KafkaError{code=TOPIC_AUTHORIZATION_FAILED,val=29,str="Broker: Topic authorization failed"}', "Topic:news.raw"),
    ("TopicAuthorizationFailedError: [Error 29] TopicAuthorizationFailedError: {'news.raw'}", "Topic:news.raw"),
    ("GroupAuthorizationFailedError: [Error 30]", "Group:<group>"),
    ('KafkaError{code=CLUSTER_AUTHORIZATION_FAILED,val=31}', "Cluster:kafka-cluster"),
])
def test_a_delivery_report_naming_an_authorization_error_gets_the_acl_line(text: str, resource: str) -> None:
    from tension.kafka_errors import describe_kafka_text

    problem = describe_kafka_text(text, topic="news.raw" if resource.startswith("Topic") else None)
    assert problem and f"on {resource}" in problem.message and "missing ACL" in problem.message


@pytest.mark.parametrize("text", ["KafkaError{code=MSG_TIMED_OUT}", "Broker: Unknown topic or partition", ""])
def test_other_delivery_failures_get_no_acl_line(text: str) -> None:
    from tension.kafka_errors import describe_kafka_text

    assert describe_kafka_text(text) is None
