"""Users and least-privilege ACLs per component, for any cluster with an authorizer.

Each component of the product runs as its own principal and gets only what its
code does, so a leaked producer password cannot read the classified stream or
forge index rows:

* **producer** writes ``news.raw.v1`` and the dead-letter topic (and reads their
  ``max.message.bytes``);
* **worker** reads ``news.raw.v1`` as group ``<app_id>``; writes the classified,
  index, alert and dead-letter topics; owns every topic prefixed ``<app_id>-``
  (Faust's changelogs, the index-facts topic, the leader topic);
* **sink:<store>** reads the three output topics as group ``<group_prefix>-<store>``
  and writes dead letters.

:func:`component_acls` is pure (the README's ``kafka-acls.sh`` lines come from
:func:`as_commands`); :func:`grant` and :func:`upsert_user` apply it through
confluent-kafka's admin client, with the super user's connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.connection import KafkaConnection
from streams.config import TopicConfig

COMPONENTS = ("producer", "worker", "sink:sqlite", "sink:postgres", "sink:files")
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class Acl:
    """One ALLOW entry: ``principal`` may ``operation`` the ``resource`` named ``name`` (literal or prefix)."""

    principal: str
    resource: str  # "topic", "group" or "cluster"
    name: str
    operation: str  # READ, WRITE, CREATE, DESCRIBE, DESCRIBE_CONFIGS, ...
    prefixed: bool = False


def _topic(user: str, name: str, *ops: str, prefixed: bool = False) -> list[Acl]:
    return [Acl(f"User:{user}", "topic", name, op, prefixed) for op in ops]


def component_acls(component: str, user: str, topics: TopicConfig = TopicConfig(), *,
                   app_id: str = "tension-stream", group_prefix: str = "tension-sink") -> list[Acl]:
    """The ACLs ``user`` needs to run ``component`` (one of :data:`COMPONENTS`) and nothing more."""
    if component == "producer":
        return [acl for t in (topics.raw, topics.deadletter) for acl in _topic(user, t, "WRITE", "DESCRIBE",
                                                                                  "DESCRIBE_CONFIGS")]
    if component == "worker":
        acls = _topic(user, topics.raw, "READ", "DESCRIBE")
        for t in (topics.classified, topics.index, topics.alerts, topics.deadletter):
            # CREATE too: Faust declares the topics it writes (a no-op when they exist) and
            # refuses to start when the declaration is not authorized.
            acls += _topic(user, t, "WRITE", "DESCRIBE", "CREATE")
        acls += _topic(user, f"{app_id}-", "READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS",
                       prefixed=True)
        acls.append(Acl(f"User:{user}", "group", app_id, "READ"))
        return acls
    if component.startswith("sink:") and component in COMPONENTS:
        store = component.split(":", 1)[1]
        acls = [acl for t in (topics.classified, topics.index, topics.alerts)
                for acl in _topic(user, t, "READ", "DESCRIBE")]
        acls += _topic(user, topics.deadletter, "WRITE", "DESCRIBE")
        acls.append(Acl(f"User:{user}", "group", f"{group_prefix}-{store}", "READ"))
        return acls
    raise ValueError(f"unknown component {component!r}; choose one of {', '.join(COMPONENTS)}")


def as_commands(acls: Iterable[Acl], bootstrap: str = "$BOOTSTRAP", config: str = "admin.properties") -> list[str]:
    """The same ACLs as Apache Kafka's own ``kafka-acls.sh`` command lines (one per principal and resource)."""
    grouped: dict[tuple[str, str, str, bool], list[str]] = {}
    for acl in acls:
        grouped.setdefault((acl.principal, acl.resource, acl.name, acl.prefixed), []).append(acl.operation)
    lines = []
    for (principal, resource, name, prefixed), ops in grouped.items():
        ops_args = " ".join(f"--operation {op.title().replace('_', '')}" for op in ops)
        pattern = " --resource-pattern-type prefixed" if prefixed else ""
        lines.append(f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config {config} --add "
                     f"--allow-principal {principal} {ops_args} --{resource} {name}{pattern}")
    return lines


def _bindings(acls: Iterable[Acl]) -> list[object]:
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    return [AclBinding(ResourceType[a.resource.upper()], a.name,
                       ResourcePatternType.PREFIXED if a.prefixed else ResourcePatternType.LITERAL,
                       a.principal, "*", AclOperation[a.operation], AclPermissionType.ALLOW) for a in acls]


def grant(admin_connection: KafkaConnection, acls: list[Acl], timeout_s: float = 30.0) -> int:
    """Create the ACLs (idempotent: an existing entry is left as is); return how many were sent."""
    from tension.admin import AdminError, admin_client

    admin = admin_client(admin_connection, "tension-access")
    futures = admin.create_acls(_bindings(acls), request_timeout=timeout_s)  # type: ignore[arg-type]
    for binding, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except Exception as exc:
            raise AdminError(f"cannot create ACL {binding}: {admin_connection.redact(str(exc))}") from exc
    return len(futures)


def upsert_user(admin_connection: KafkaConnection, user: str, password: str, mechanism: str = "SCRAM-SHA-512",
                timeout_s: float = 30.0) -> None:
    """Create the SCRAM credential of ``user`` (or replace its password)."""
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    from tension.admin import AdminError, admin_client

    admin = admin_client(admin_connection, "tension-access")
    info = ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], SCRAM_ITERATIONS)
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode())], request_timeout=timeout_s)
    try:
        futures[user].result(timeout=timeout_s)
    except Exception as exc:
        raise AdminError(f"cannot set the credential of {user}: {admin_connection.redact(str(exc))}") from exc


def check_worker_access(connection: KafkaConnection, topics: TopicConfig, app_id: str,
                        timeout_s: float = 10.0) -> str | None:
    """The first ACL the worker's principal lacks, as one line; None when none is missing.

    Faust reports a refused topic or group only in its own log and keeps
    retrying, so `tension worker` asks first, reading nothing and writing
    nothing: Describe on every topic it uses (metadata), its group (an offset
    fetch as ``<app_id>``) and Read on the raw topic (one fetch from its end).
    Write is not probed (that would need a record); the producer's delivery
    errors name a missing Write when it happens. A PLAINTEXT connection is not
    checked (no principal to authorize: the embedded default).
    """
    if connection.security_protocol == "PLAINTEXT":
        return None
    from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    from tension.kafka_errors import describe_kafka_error

    quiet = {"client.id": "tension-worker-preflight", "log_level": 0}  # the answer is the one line below
    admin = AdminClient(connection.librdkafka(**quiet))
    raw_readable = False
    for name in (topics.raw, topics.classified, topics.index, topics.alerts, topics.deadletter):
        # one topic per request: a request for all topics silently leaves out the ones not authorized
        found = admin.list_topics(topic=name, timeout=timeout_s).topics.get(name)
        if name == topics.raw:
            raw_readable = found is not None and found.error is None  # absent yet: nothing to fetch from
        refused = found is not None and found.error is not None
        if refused and found.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            operation = "Describe and Read" if name == topics.raw else "Describe, Write and Create"
            problem = describe_kafka_error(KafkaException(found.error), topic=name, operation=operation)
            return problem.message if problem else str(found.error)
    consumer = Consumer(connection.librdkafka(**quiet, **{"group.id": app_id, "enable.auto.commit": False}))
    try:
        try:
            consumer.committed([TopicPartition(topics.raw, 0)], timeout=timeout_s)
        except KafkaException as exc:
            problem = describe_kafka_error(exc, group=app_id, operation="Read")
            return problem.message if problem else None  # another error: Faust will meet and report it
        if not raw_readable:
            return None
        consumer.assign([TopicPartition(topics.raw, 0, OFFSET_END)])
        resolved_at = None
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            msg = consumer.poll(0.25)
            if msg is not None and msg.error() is not None:
                problem = describe_kafka_error(KafkaException(msg.error()), topic=topics.raw, operation="Read")
                if problem:
                    return problem.message
            if resolved_at is None and consumer.position([TopicPartition(topics.raw, 0)])[0].offset >= 0:
                resolved_at = time.monotonic()  # the end offset is known: the fetch that needs Read follows
            if resolved_at is not None and time.monotonic() - resolved_at > 1.0:
                return None  # a fetch went through without a refusal: Read is allowed
        return None
    finally:
        consumer.close()
