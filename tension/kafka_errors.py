"""Kafka errors a user can act on, turned into one line that says what to do, whatever the client.

Three clients meet the broker here (kafka-python in the sinks and admin,
aiokafka under Faust, confluent-kafka in the producers), and each raises its
own exception type; but all carry the protocol's error *name*
(``TOPIC_AUTHORIZATION_FAILED``, ...). Mapping on the name keeps the messages
the same for every command. An authorization error names the ACL that is
missing (resource type, name when known, operation), because "not
authorized" alone sends an operator to read broker logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tension.exits import EXIT_INVALID


@dataclass(frozen=True)
class KafkaProblem:
    """What the CLI prints (one line) and the exit code it ends with."""

    message: str
    exit_code: int = EXIT_INVALID


def error_name(exc: BaseException) -> str | None:
    """The protocol error name carried by a kafka-python, aiokafka or confluent-kafka exception."""
    first: Any = exc.args[0] if exc.args else None
    if first is not None and callable(getattr(first, "name", None)):  # confluent_kafka.KafkaException(KafkaError)
        try:
            return str(first.name())
        except Exception:  # noqa: BLE001 - not a KafkaError after all
            return None
    if hasattr(exc, "name") and callable(getattr(exc, "name")) and hasattr(exc, "code"):  # a bare KafkaError
        return str(exc.name())  # type: ignore[attr-defined]
    name = getattr(type(exc), "message", None)  # kafka-python and aiokafka: the class's protocol name
    return name if isinstance(name, str) and name.isupper() else None


def _resource(exc: BaseException) -> str | None:
    """A topic or group the client named in its message, e.g. ``{'news.raw'}`` or ``Topic:news.raw``."""
    text = str(exc)
    found = re.findall(r"'([A-Za-z0-9._-]+)'", text) or re.findall(r"Error: ([A-Za-z0-9._-]+)$", text)
    return ", ".join(dict.fromkeys(found)) if found else None


def describe_kafka_error(exc: BaseException, *, topic: str | None = None, group: str | None = None,
                         operation: str | None = None) -> KafkaProblem | None:
    """One actionable line for a known Kafka error anywhere in ``exc``'s chain; None when not one of ours.

    ``topic``, ``group`` and ``operation`` (e.g. ``Write``, ``Read``, ``Create``)
    are what the command was doing, when it knows; else the line names what
    the client reported and the operations the product needs.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        problem = _describe_one(current, topic=topic, group=group, operation=operation)
        if problem:
            return problem
        current = current.__cause__ or current.__context__
    return None


_NAME_IN_TEXT = re.compile(r"\b([A-Z]+(?:_[A-Z]+)*_AUTHORIZATION_FAILED)\b|"
                           r"\b(Topic|Group|Cluster|TransactionalId)AuthorizationFailedError\b")
_CLASS_TO_NAME = {"Topic": "TOPIC", "Group": "GROUP", "Cluster": "CLUSTER", "TransactionalId": "TRANSACTIONAL_ID"}


def describe_kafka_text(text: str, *, topic: str | None = None, group: str | None = None,
                        operation: str | None = None) -> KafkaProblem | None:
    """The same line for an error that reached us only as text, e.g. a record's delivery report."""
    match = _NAME_IN_TEXT.search(text)
    if not match:
        return None
    name = match.group(1) or f"{_CLASS_TO_NAME[match.group(2)]}_AUTHORIZATION_FAILED"
    return _problem(name, None, text, topic=topic, group=group, operation=operation)


def _describe_one(exc: BaseException, *, topic: str | None, group: str | None,
                  operation: str | None) -> KafkaProblem | None:
    name = error_name(exc)
    if name is None:
        return None
    return _problem(name, _resource(exc), str(exc), topic=topic, group=group, operation=operation)


def _problem(name: str, named: str | None, text: str, *, topic: str | None, group: str | None,
             operation: str | None) -> KafkaProblem | None:
    if name == "TOPIC_AUTHORIZATION_FAILED":
        what = topic or named or "<topic>"
        op = operation or "Describe plus Write (producers) or Read (worker, sinks)"
        return KafkaProblem(f"not authorized on topic {what}: missing ACL: allow {op} on Topic:{what} "
                            f"for this client's principal")
    if name == "GROUP_AUTHORIZATION_FAILED":
        what = group or named or "<group>"
        return KafkaProblem(f"not authorized for consumer group {what}: missing ACL: allow "
                            f"{operation or 'Read'} on Group:{what} for this client's principal")
    if name == "CLUSTER_AUTHORIZATION_FAILED":
        return KafkaProblem("not authorized on the cluster: missing ACL: allow "
                            f"{operation or 'Create (topics apply) / IdempotentWrite (producers)'} on "
                            "Cluster:kafka-cluster for this client's principal")
    if name == "TRANSACTIONAL_ID_AUTHORIZATION_FAILED":
        return KafkaProblem("not authorized for the transactional id: missing ACL: allow Write and Describe on "
                            f"TransactionalId:{named or '<id>'} for this client's principal")
    if name in ("SASL_AUTHENTICATION_FAILED", "_AUTHENTICATION", "AUTHENTICATION"):
        return KafkaProblem(f"the broker refused the credentials (SASL authentication failed): {text}")
    if name == "INVALID_REPLICATION_FACTOR":
        return KafkaProblem(f"replication factor refused by the broker: it is above the number of brokers "
                            f"available (set TENSION_KAFKA__REPLICATION to at most that): {text}")
    return None
