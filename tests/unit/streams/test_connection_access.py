"""The connection description renders each library's settings and never shows a secret; each component's
ACLs are exactly what its code needs, whatever the topic names and users.

``schemas.connection.KafkaConnection``: every valid combination of protocol,
mechanism and TLS files renders librdkafka, aiokafka and kafka-python settings
that agree with each other; the contradictory ones are refused; passwords never
appear in ``repr``/``describe`` and are scrubbed by ``redact``.
``tension.access``: least privilege per component over generated topic names,
users, app ids and group prefixes, and the ``kafka-acls.sh`` lines round-trip
to the same ACL set.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.connection import MASK, ConnectionConfigError, KafkaConnection, as_connection
from streams.config import TopicConfig
from tension.access import COMPONENTS, Acl, _bindings, as_commands, component_acls
from tension.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
secret = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=30)
name = st.from_regex(r"[a-z][a-z0-9._-]{2,20}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(protocol=st.sampled_from(PROTOCOLS), mechanism=st.sampled_from(MECHANISMS), password=secret,
       key_password=secret, ca=st.booleans(), mtls=st.booleans(), check_hostname=st.booleans(),
       extra=st.dictionaries(st.sampled_from(["socket.keepalive.enable", "client.rack"]), secret, max_size=2))
def test_every_valid_connection_renders_consistent_settings_and_hides_secrets(
        protocol: str, mechanism: str, password: str, key_password: str, ca: bool, mtls: bool,
        check_hostname: bool, extra: dict[str, str]) -> None:
    tls, sasl = protocol in ("SSL", "SASL_SSL"), protocol.startswith("SASL_")
    conn = KafkaConnection(
        bootstrap="b1:9093,b2:9093", security_protocol=protocol, sasl_mechanism=mechanism,
        username="alice" if sasl else None, password=password if sasl else None,
        ca_file="/etc/ca.pem" if ca and tls else None, cert_file="/c.pem" if mtls and tls else None,
        key_file="/k.pem" if mtls and tls else None, key_password=key_password if mtls and tls else None,
        check_hostname=check_hostname, extra=extra)
    rd = conn.librdkafka(**{"group.id": "g", "client.rack": "mine"})
    assert rd["security.protocol"] == protocol.lower() and rd["bootstrap.servers"] == "b1:9093,b2:9093"
    assert rd["group.id"] == "g" and all(rd[k] == v for k, v in extra.items())  # extra laid over everything
    assert ("sasl.password" in rd) == sasl and ("ssl.endpoint.identification.algorithm" in rd) == tls
    if sasl:
        assert (rd["sasl.mechanism"], rd["sasl.username"], rd["sasl.password"]) == (mechanism, "alice", password)
    if tls:
        assert rd["ssl.endpoint.identification.algorithm"] == ("https" if check_hostname else "none")
        assert rd.get("ssl.ca.location") == ("/etc/ca.pem" if ca else None)
        assert rd.get("ssl.key.password") == (key_password if mtls else None)
    aio = conn.aiokafka() if not (tls and (ca or mtls)) else None  # ssl_context would open the files
    if aio is not None:
        assert aio["security_protocol"] == protocol
        assert aio.get("sasl_plain_password") == (password if sasl else None)
        assert (aio.get("ssl_context") is not None) == tls
        assert conn.kafka_python()["bootstrap_servers"] == ["b1:9093", "b2:9093"]
    shown = repr(conn) + conn.describe()
    # a generated secret may happen to spell part of a field name ("sasl_mec"): only text a secret adds counts
    bare = replace(conn, password="\u2022" if conn.password else None,
                   key_password="\u2022" if conn.key_password else None, extra={})
    secrets = [s for s in (conn.password, conn.key_password, *extra.values())
               if s and s not in repr(bare) + bare.describe()]
    assert not [s for s in secrets if s in shown]
    leaked = f"broker said: auth failed for {' and '.join(secrets)}"
    assert not [s for s in secrets if s in conn.redact(leaked)] and (MASK in conn.redact(leaked) or not secrets)


@pytest.mark.parametrize(("fields", "message"), [
    ({"security_protocol": "SASL_SSL"}, "needs a username and a password"),
    ({"security_protocol": "SASL_PLAINTEXT", "username": "u"}, "needs a username and a password"),
    ({"security_protocol": "SSL", "cert_file": "/c.pem"}, "needs both cert_file and key_file"),
    ({"security_protocol": "SSL", "key_file": "/k.pem"}, "needs both cert_file and key_file"),
    ({"ca_file": "/ca.pem"}, "need SSL or SASL_SSL"),
    ({"security_protocol": "SASL_PLAINTEXT", "username": "u", "password": "p", "cert_file": "/c", "key_file": "/k"},
     "need SSL or SASL_SSL"),
    ({"security_protocol": "TLS"}, "security_protocol must be one of"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "username": "u", "password": "p"},
     "sasl_mechanism must be one of"),
])
def test_contradictory_connections_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ConnectionConfigError, match=message):
        KafkaConnection(**fields)  # type: ignore[arg-type]


def test_plaintext_and_bare_bootstrap() -> None:
    conn = as_connection("h:1")
    assert conn == KafkaConnection(bootstrap="h:1") and as_connection(conn) is conn
    assert conn.ssl_context() is None and conn.with_bootstrap("x:2").bootstrap == "x:2"
    ctx = KafkaConnection(security_protocol="SSL", check_hostname=False).ssl_context()
    assert ctx is not None and ctx.check_hostname is False


def test_settings_build_the_connection_and_name_the_variable_on_contradictions() -> None:
    from pydantic import ValidationError

    s = Settings(_env_file=None, kafka={"security_protocol": "SASL_SSL", "username": "w",  # type: ignore[call-arg]
                                        "password": "pw-123456", "extra": {"client.rack": "r1"}})
    conn = s.connection()
    assert (conn.security_protocol, conn.username, conn.password, dict(conn.extra)) == (
        "SASL_SSL", "w", "pw-123456", {"client.rack": "r1"})
    with pytest.raises(ValidationError, match="TENSION_KAFKA__USERNAME"):
        Settings(_env_file=None, kafka={"security_protocol": "SASL_SSL"})  # type: ignore[call-arg]


# -- ACLs ---------------------------------------------------------------------------------------------


topic_configs = st.builds(lambda n: TopicConfig(raw=f"{n[0]}.raw", classified=f"{n[1]}.cls", index=f"{n[2]}.idx",
                                                alerts=f"{n[3]}.al", deadletter=f"{n[4]}.dl"),
                          st.lists(name, min_size=5, max_size=5))


def _ops(acls: list[Acl], resource: str, name_: str) -> set[str]:
    return {a.operation for a in acls if a.resource == resource and a.name == name_}


@settings(max_examples=40, deadline=None)
@given(topics=topic_configs, user=name, app_id=name, prefix=name, component=st.sampled_from(COMPONENTS))
def test_each_component_gets_exactly_what_its_code_needs(topics: TopicConfig, user: str, app_id: str, prefix: str,
                                                         component: str) -> None:
    acls = component_acls(component, user, topics, app_id=app_id, group_prefix=prefix)
    assert acls and {a.principal for a in acls} == {f"User:{user}"}
    assert all(a.resource in ("topic", "group") for a in acls), "no cluster-wide rights"
    assert not [a for a in acls if a.name in ("*", "")]
    t = topics
    reads = {a.name for a in acls if a.resource == "topic" and a.operation == "READ"}
    writes = {a.name for a in acls if a.resource == "topic" and a.operation == "WRITE"}
    groups = {a.name for a in acls if a.resource == "group"}
    if component == "producer":
        assert (reads, writes, groups) == (set(), {t.raw, t.deadletter}, set())
        assert _ops(acls, "topic", t.raw) == {"WRITE", "DESCRIBE", "DESCRIBE_CONFIGS"}
    elif component == "worker":
        assert reads == {t.raw, f"{app_id}-"} and groups == {app_id}
        assert writes == {t.classified, t.index, t.alerts, t.deadletter, f"{app_id}-"}
        assert [a.prefixed for a in acls if a.name == f"{app_id}-"] and all(
            a.prefixed == (a.name == f"{app_id}-") for a in acls)
    else:
        store = component.split(":", 1)[1]
        assert reads == {t.classified, t.index, t.alerts} and writes == {t.deadletter}
        assert groups == {f"{prefix}-{store}"} and not any(a.prefixed for a in acls)


def test_unknown_component_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown component"):
        component_acls("sink:mysql", "u")


def _parse(line: str) -> set[Acl]:
    """A `kafka-acls.sh ... --add` line back into ACLs (what Kafka's tool would create)."""
    args = shlex.split(line)
    assert args[0] == "kafka-acls.sh" and "--add" in args
    principal = args[args.index("--allow-principal") + 1]
    ops = [re.sub(r"(?<!^)([A-Z])", r"_\1", args[i + 1]).upper() for i, a in enumerate(args) if a == "--operation"]
    resource = next(a[2:] for a in args if a in ("--topic", "--group", "--cluster"))
    res_name = args[args.index(f"--{resource}") + 1]
    prefixed = "--resource-pattern-type" in args and args[args.index("--resource-pattern-type") + 1] == "prefixed"
    return {Acl(principal, resource, res_name, op, prefixed) for op in ops}


@settings(max_examples=30, deadline=None)
@given(topics=topic_configs, user=name, component=st.sampled_from(COMPONENTS))
def test_kafka_acls_commands_round_trip(topics: TopicConfig, user: str, component: str) -> None:
    acls = component_acls(component, user, topics)
    lines = as_commands(acls, bootstrap="b:9093", config="admin.properties")
    assert len(lines) == len({(a.principal, a.resource, a.name, a.prefixed) for a in acls})
    assert set().union(*(_parse(line) for line in lines)) == set(acls)
    assert all("--bootstrap-server b:9093 --command-config admin.properties" in line for line in lines)


def test_bindings_carry_every_field() -> None:
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    acls = component_acls("worker", "w", TopicConfig(), app_id="app")
    for acl, binding in zip(acls, _bindings(acls)):
        assert binding.restype == ResourceType[acl.resource.upper()] and binding.name == acl.name
        assert binding.operation == AclOperation[acl.operation] and binding.principal == acl.principal
        assert binding.permission_type == AclPermissionType.ALLOW and binding.host == "*"
        assert binding.resource_pattern_type == (ResourcePatternType.PREFIXED if acl.prefixed
                                                 else ResourcePatternType.LITERAL)
