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
