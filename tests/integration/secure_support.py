"""Shared machinery of the secured-cluster tests (no tests here): principals, topics, CLI runs.

Every test gets uuid-named topics, app id and sink group, and its own
principals (producer, worker, sink) holding only the ACLs
``tension kafka grant`` gives their component.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import NewTopic

from schemas.connection import KafkaConnection
from streams.config import IndexConfig, StreamConfig, TopicConfig
from streams.topics import topic_specs
from tension.access import component_acls, grant, upsert_user
from tension.admin import admin_client, apply_specs
from devenv.localkafka import LocalCluster
from tension.settings import PROJECT_ROOT
from tests.helpers import unique


@dataclass
class Principal:
    name: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)


@dataclass
class SecureSetup:
    """One test's topology on the secured broker, with a principal per component."""

    cluster: LocalCluster
    tmp: Path
    topic_configs: dict[str, dict[str, str]] = field(default_factory=dict)  # role → topic config
    tag: str = field(default_factory=lambda: unique("sec").rsplit("-", 1)[-1])

    def __post_init__(self) -> None:
        t = self.tag
        self.app_id = f"tension-sec-{t}"
        self.group_prefix = f"sink-{t}"
        self.topics = TopicConfig(raw=f"s.raw-{t}", classified=f"s.classified-{t}", index=f"s.index-{t}",
                                  alerts=f"s.alerts-{t}", deadletter=f"s.dead-{t}", partitions=1, replication=1)
        self.cfg = StreamConfig(bootstrap=self.cluster.bootstrap, app_id=self.app_id, topics=self.topics,
                                index=IndexConfig())
        self.producer, self.worker, self.sink = (Principal(f"{role}-{t}") for role in ("producer", "worker", "sink"))
        admin = self.cluster.connection
        specs = topic_specs(self.cfg)
        with_config = [NewTopic(spec.name, 1, 1, config={**spec.config, **self.topic_configs[role]})
                       for role, spec in specs.items() if role in self.topic_configs]
        if with_config:
            client = admin_client(admin)  # kept referenced: futures fail once the client is collected
            for future in client.create_topics(with_config).values():
                future.result(30)
        apply_specs(admin, specs.values())
        names = self.topics
        for principal, component in ((self.producer, "producer"), (self.worker, "worker"),
                                     (self.sink, "sink:sqlite")):
            upsert_user(admin, principal.name, principal.password)
            grant(admin, component_acls(component, principal.name, names, app_id=self.app_id,
                                        group_prefix=self.group_prefix))

    @property
    def passwords(self) -> list[str]:
        return [p.password for p in (self.producer, self.worker, self.sink)] + [self.cluster.connection.password or ""]

    def connection(self, who: Principal) -> KafkaConnection:
        assert self.cluster.security is not None
        return self.cluster.security.connection(self.cluster.bootstrap, who.name, who.password)

    def env(self, who: Principal | None, **extra: str) -> dict[str, str]:
        """The environment of a `tension` process running as ``who`` (None: no credentials at all)."""
        assert self.cluster.security is not None
        t = self.topics
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
        env.update(self.cluster.security.client_env(self.cluster.bootstrap))
        if who is not None:
            env.update({"TENSION_KAFKA__USERNAME": who.name, "TENSION_KAFKA__PASSWORD": who.password})
        env.update({
            "TENSION_KAFKA__PARTITIONS": "1", "TENSION_TOPICS__RAW": t.raw, "TENSION_TOPICS__CLASSIFIED": t.classified,
            "TENSION_TOPICS__INDEX": t.index, "TENSION_TOPICS__ALERTS": t.alerts,
            "TENSION_TOPICS__DEADLETTER": t.deadletter, "TENSION_STREAM__APP_ID": self.app_id,
            "TENSION_SINK__GROUP_PREFIX": self.group_prefix, "TENSION_KAFKA__CONNECT_TIMEOUT_S": "10",
            "TENSION_LOG_LEVEL": "INFO",
        })
        env.update(extra)
        return env


def run_cli(args: list[str], env: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m tension ARGS` to completion, output captured."""
    return subprocess.run([sys.executable, "-m", "tension", *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=timeout_s, check=False)


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m tension ARGS` in the background, stdout and stderr into ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tension", *args], env=env, cwd=PROJECT_ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
