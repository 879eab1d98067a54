"""One registry setting switches every writer of every product topic to Confluent framing.

Without a registry, every topic's serializer writes single-object encoding;
with one (``mock://``: confluent-kafka's in-process registry, same client
code as against a server), every topic's serializer registers the catalog
schema under ``<topic>-value`` (TopicNameStrategy) and writes magic 0 + that
id, and confluent-kafka's own ``AvroDeserializer`` reads what we wrote. The
classify and index stages and the sink runner are checked through their
serdes, so no writer can be left on the old format. Records are drawn from
each schema with fastavro's generator (random values of every field).
"""

from __future__ import annotations

import base64
import json
import random
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer as TheirDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.utils import generate_many
from pydantic import ValidationError

from connectors.sinks.base import KIND_SCHEMAS, Sink
from connectors.sinks.runner import SinkRunner
from schemas import catalog, registry
from schemas.exceptions import RegistryError
from schemas.registry import RegistryConfig
from schemas.serde import TopicSerdes, parsed
from streams.agents.classify import ClassifyStage
from streams.agents.index import IndexStage
from streams.config import IndexConfig, StreamConfig, TopicConfig
from streams.sending import Sender
from streams.tables import Tables
from tension.config_doc import rows
from tension.settings import PROJECT_ROOT, Settings
from tests.unit.streams.test_stage_isolation import FakeProducer, encode_item, event, fact, fake_app, item, run, topics

ROLES = sorted(catalog.TOPIC_RECORDS)
NAMES = {role: f"t.{role}.v1" for role in ROLES}


def mock_registry() -> RegistryConfig:
    return RegistryConfig(f"mock://{uuid.uuid4().hex}")  # a fresh in-process registry per test


def records(role: str, seed: int, n: int = 3) -> list[dict[str, Any]]:
    random.seed(seed)  # fastavro's generator draws from the module-level random
    return list(generate_many(parsed(catalog.TOPIC_RECORDS[role]), n))


def theirs(reg: RegistryConfig, topic: str, data: bytes) -> dict[str, Any]:
    return TheirDeserializer(registry.client(reg))(data, SerializationContext(topic, MessageField.VALUE))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("role", ROLES)
def test_without_registry_every_topic_writes_single_object(role: str, seed: int) -> None:
    serdes = TopicSerdes(NAMES)
    assert serdes.framing == "single-object"
    for record in records(role, seed):
        data = serdes.serializer(role)(record)
        assert data[:2] == b"\xc3\x01"
        assert serdes.serializer(role)(serdes.deserializer(role)(data)) == data  # round trip, byte for byte


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("role", ROLES)
def test_with_registry_every_topic_is_registered_and_read_by_confluents_deserializer(role: str, seed: int) -> None:
    reg = mock_registry()
    serdes = TopicSerdes(NAMES, reg)
    assert serdes.framing == "confluent"
    topic = NAMES[role]
    for record in records(role, seed):
        data = serdes.serializer(role)(record)
        latest = registry.client(reg).get_latest_version(f"{topic}-value")  # TopicNameStrategy subject
        assert data[:5] == b"\x00" + latest.schema_id.to_bytes(4, "big")
        assert json.loads(latest.schema.schema_str) == catalog.load(catalog.TOPIC_RECORDS[role])
        ours = serdes.deserializer(role)(data)
        assert theirs(reg, topic, data) == ours
        plain = TopicSerdes(NAMES)  # the same record in the registry-free format decodes to the same dict
        assert plain.deserializer(role)(plain.serializer(role)(ours)) == ours


def test_unknown_role_and_missing_topic_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown topic roles"):
        TopicSerdes({"rawx": "x"})
    with pytest.raises(KeyError, match="no topic configured"):
        TopicSerdes({"raw": "r"}).serializer("deadletter")


def test_worker_stages_write_every_output_confluent_framed_when_the_registry_is_set() -> None:
    reg = mock_registry()
    names = TopicConfig(raw="raw", classified="classified", index="index", alerts="alerts", deadletter="dead")
    cfg = StreamConfig(topics=names, registry=reg, index=IndexConfig())
    producer = FakeProducer()
    sender = Sender(fake_app(producer))  # type: ignore[arg-type]
    classify = ClassifyStage(topics(), cfg, sender)  # type: ignore[arg-type]
    framed = TopicSerdes(names.roles(), reg).serializer("raw")
    batch = [event(framed(item(0)), b"it-0", 1), event(encode_item(item(1)), b"it-1", 2),  # both formats read
             event(b"\x00\x00\x00\x00\x01garbage", b"bad", 3)]  # unknown id / corrupt: a dead letter
    assert run(classify.process(batch)) == 1
    index = IndexStage(topics(), Tables(index_state={}), cfg, sender)  # type: ignore[arg-type]
    facts = [event(fact(k), f"f-{k}".encode(), 10 + k, "facts") for k in range(3)] + [
        event(b"{not json", b"x", 20, "facts")]
    assert run(index.process(facts)) == 1
    outputs = {topic: [v for t, _k, v in producer.sent if t == topic] for topic in ("classified", "index", "dead")}
    assert len(outputs["classified"]) == 2 and outputs["index"] and len(outputs["dead"]) == 2
    for topic, values in outputs.items():
        for value in values:
            assert value[:1] == b"\x00", f"{topic} output is not Confluent-framed"
            theirs(reg, topic, value)
    assert {theirs(reg, "dead", v)["stage"] for v in outputs["dead"]} == {"classify", "index"}
    subjects = set(registry.client(reg).get_subjects())
    assert {"classified-value", "index-value", "alerts-value", "dead-value", "raw-value"} <= subjects


class _NoStore(Sink):
    def open(self) -> None: ...

    def write_batch(self, records: list[Any]) -> None: ...


def test_sink_dead_letters_follow_the_registry_setting() -> None:
    reg = mock_registry()
    topics_ = {"c": "item", "i": "index", "a": "alert"}
    with_reg = SinkRunner(_NoStore(), bootstrap="127.0.0.1:1", topics=topics_, group_id="g",
                          deadletter_topic="dead", registry=reg)
    without = SinkRunner(_NoStore(), bootstrap="127.0.0.1:1", topics=topics_, group_id="g", deadletter_topic="dead")
    letter = records("deadletter", 7, 1)[0]
    assert without.dead_letters.serialize(letter)[:2] == b"\xc3\x01"
    data = with_reg.dead_letters.serialize(letter)
    assert data[:1] == b"\x00" and theirs(reg, "dead", data)["reason"] == letter["reason"]
    framed = TopicSerdes({"classified": "c"}, reg).serializer("classified")
    item_record = records("classified", 8, 1)[0]
    assert with_reg._decoders["item"](framed(item_record)) == TopicSerdes({}).deserializer("classified")(
        TopicSerdes({"classified": "c"}).serializer("classified")(item_record))
    assert set(KIND_SCHEMAS.values()) <= set(catalog.TOPIC_RECORDS.values())


# -- basic auth and secrets ----------------------------------------------------------------------------


@pytest.fixture
def refusing_registry() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server answering 401 to everything; yields its URL and the Authorization headers seen."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"error_code": 401, "message": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _refuse

        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("style", ["settings", "url"])
def test_basic_auth_is_sent_and_never_shown(style: str, refusing_registry: tuple[str, list[str]]) -> None:
    url, seen = refusing_registry
    password = f"hunter2-{uuid.uuid4().hex[:8]}"
    if style == "settings":
        s = Settings(_env_file=None, registry_url=url, registry_username="alice",  # type: ignore[call-arg]
                     registry_password=password)
    else:
        s = Settings(_env_file=None, registry_url=url.replace("://", f"://alice:{password}@"))  # type: ignore[call-arg]
    reg = s.registry()
    assert reg is not None
    with pytest.raises(RegistryError) as caught:
        TopicSerdes({"raw": "news.raw.v1"}, reg).serializer("raw")
    assert seen and base64.b64decode(seen[0].removeprefix("Basic ")).decode() == f"alice:{password}"
    shown = [str(caught.value), repr(reg), reg.display, repr(s), *(r.value for r in rows(s))]
    assert "127.0.0.1" in str(caught.value) and not [t for t in shown if password in t]


@pytest.mark.parametrize("fields", [{"registry_username": "alice"}, {"registry_password": "pw"},
                                    {"registry_username": "alice", "registry_password": "pw"}])
def test_half_configured_basic_auth_is_an_invalid_setting(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="TENSION_REGISTRY"):
        Settings(_env_file=None, **fields)  # type: ignore[call-arg]  # third case: credentials but no URL


@pytest.mark.parametrize("args", [["worker"], ["sink", "sqlite", "--path", "{tmp}/s.sqlite"]], ids=" ".join)
def test_registry_unreachable_at_start_is_one_line_and_exit_2(args: list[str], tmp_path: Any) -> None:
    """Kafka answers (a listening socket is enough for the preflight), the registry does not."""
    import os
    import socket
    import subprocess
    import sys

    from tension.exits import EXIT_UNREACHABLE

    with socket.socket() as kafka, socket.socket() as closed:
        kafka.bind(("127.0.0.1", 0))
        kafka.listen()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        password = "hunter2-" + uuid.uuid4().hex[:8]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")} | {
            "TENSION_KAFKA_BOOTSTRAP": "127.0.0.1:%d" % kafka.getsockname()[1],
            "TENSION_REGISTRY_URL": f"http://alice:{password}@127.0.0.1:{closed.getsockname()[1]}/apis/ccompat/v7",
            "TENSION_STREAM__DATA_DIR": str(tmp_path / "state"), "TENSION_STREAM__STORE": "memory://"}
        proc = subprocess.run([sys.executable, "-m", "tension", *(a.format(tmp=tmp_path) for a in args)],
                              capture_output=True, text=True, env=env, timeout=60, cwd=PROJECT_ROOT)
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert proc.returncode == EXIT_UNREACHABLE, proc.stderr
    assert len(errors) == 1 and "schema registry" in errors[0] and "127.0.0.1" in errors[0], proc.stderr
    assert password not in proc.stderr + proc.stdout
