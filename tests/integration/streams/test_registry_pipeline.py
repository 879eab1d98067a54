"""With TENSION_REGISTRY_URL set, the whole pipeline speaks Confluent framing (issue 14).

`tension produce` → `tension worker` → `tension sink sqlite`, each a real
process with the one registry setting, against Apicurio Registry. The SQLite
store must hold every item and the final index rows of the offline reference;
then every record of every product topic (raw, classified, index, alerts,
dead letters written by the producer, the worker and the sink) must be read by
confluent-kafka's own ``AvroDeserializer`` through the registry, and each
topic's schema must be registered under its TopicNameStrategy subject
``<topic>-value`` as the catalog defines it. The run carries registry
basic-auth credentials (the local Apicurio has no authentication and ignores
them): the password appears in no log line and not in `tension config`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import parse_schema, to_parsing_canonical_form

from connectors.sources.inputs import read_inputs
from connectors.sources.normalize import ReadOptions
from schemas import catalog
from schemas.models import NewsItem
from streams.processing import classify_news
from devenv.procs import free_port_block
from devenv.registry import LocalRegistry
from tests.helpers import unique, wait_for
from tests.integration.secure_support import run_cli, start_cli, stop
from tests.integration.streams.test_secure_pipeline import _sqlite_finals
from tests.integration.streams.stream_support import Producer, Setup, flush_items, reference_finals, seed_items

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_ITEMS = 40
PASSWORD = f"hunter2-{unique('pw')}"
JUNK = b"junk-"  # key prefix of the garbage records this test writes itself (not the product's output)


def _inputs(tmp: Path) -> tuple[Path, list[NewsItem]]:
    """A JSONL file of seed items, a flush item and one invalid line (a producer dead letter)."""
    chosen = sorted(seed_items(), key=lambda i: i.published_at)[:N_ITEMS]
    chosen += flush_items(chosen[-1], 1)
    path = tmp / "items.jsonl"
    lines = [json.dumps(i.model_dump(mode="json")) for i in chosen]
    lines.insert(3, json.dumps({"id": "no-title", "published_at": "2025-05-01T00:00:00Z"}))
    path.write_text("\n".join(lines) + "\n")
    read = [p for p in read_inputs([str(path)], ReadOptions()) if isinstance(p, NewsItem)]
    assert len(read) == len(chosen)
    return path, read


def _read_all(bootstrap: str, topic: str, registry_url: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Every record of ``topic`` up to its end: (raw value, what confluent-kafka's AvroDeserializer made of it).

    Records keyed ``junk-*`` outside the dead-letter topic are the test's own garbage inputs, skipped;
    on the dead-letter topic they are the product's letters for that garbage, and are read.
    """
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    theirs = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    ctx = SerializationContext(topic, MessageField.VALUE)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g.reader"), "enable.auto.commit": False})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        out: list[tuple[bytes, dict[str, Any]]] = []
        seen: list[int] = []
        if hi > lo:
            c.assign([TopicPartition(topic, 0, lo)])

            def done() -> bool:
                for msg in c.consume(500, timeout=0.5):
                    if msg.error() is None:
                        seen.append(msg.offset())
                        if topic.startswith("t.dead-") or not (msg.key() or b"").startswith(JUNK):
                            out.append((msg.value(), theirs(msg.value(), ctx)))
                return len(seen) >= hi - lo

            wait_for(done, 30, f"{hi - lo} records of {topic}", interval_s=0)
        return out
    finally:
        c.close()


def _canonical(schema: Any) -> str:
    return to_parsing_canonical_form(parse_schema(schema, named_schemas={}))


def test_pipeline_with_the_registry_on_is_read_by_confluents_deserializer(
    kafka: Any, registry: LocalRegistry, tmp_path: Path,
) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    s = Setup(kafka.bootstrap, tmp_path, partitions=1, store="memory://")
    path, items = _inputs(tmp_path)
    db = tmp_path / "store.sqlite"
    env = {**s.env(free_port_block(span=2), "state"), "TENSION_REGISTRY_URL": registry.url,
           "TENSION_SINK__GROUP_PREFIX": unique("sink"),
           "TENSION_STREAM__ALERT_LEVEL": "1", "TENSION_STREAM__ALERT_MIN_ITEMS": "1",  # alerts: a record to read
           "TENSION_REGISTRY_USERNAME": "alice", "TENSION_REGISTRY_PASSWORD": PASSWORD}
    worker = start_cli(["worker"], env, tmp_path / "worker.log")
    sink = start_cli(["sink", "sqlite", "--path", str(db)], env, tmp_path / "sink.log")
    try:
        produced = run_cli(["produce", str(path)], env)
        assert produced.returncode == 0, produced.stderr
        garbage = Producer(kafka.bootstrap)
        garbage.bytes(s.topics.raw, JUNK + b"raw", b"\x00\x7f\xff\xff\xff not avro")  # an id nobody registered
        garbage.bytes(s.topics.classified, JUNK + b"classified", b"junk")  # the sink dead-letters it
        garbage.flush()
        expected = reference_finals([classify_news(i.to_avro()) for i in items], s.cfg.index)
        assert expected

        def finals() -> Any:
            for name, proc in (("worker", worker), ("sink", sink)):
                assert proc.poll() is None, f"{name} exited:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
            got = _sqlite_finals(db)
            return got if expected.keys() <= got.keys() else None

        live = wait_for(finals, 60, "every final index row in SQLite", interval_s=1.0)

        def dead_stages() -> set[str]:
            return {v["stage"] for _raw, v in _read_all(kafka.bootstrap, s.topics.deadletter, registry.url)}

        wait_for(lambda: {"produce", "classify", "sink:sqlite"} <= dead_stages(), 30, "a dead letter of each stage")
        config = run_cli(["config"], {**env, "COLUMNS": "300"})  # wide: rich must not wrap the names
    finally:
        stop(worker)
        stop(sink)
    with sqlite3.connect(db) as conn:
        assert {r[0] for r in conn.execute("SELECT item_id FROM items")} == {i.id for i in items}
    assert {k: live[k] for k in expected} == expected

    assert config.returncode == 0 and "TENSION_REGISTRY_PASSWORD" in config.stdout, config.stderr
    outputs = [produced.stdout, produced.stderr, config.stdout, config.stderr,
               *((tmp_path / f"{n}.log").read_text(errors="replace") for n in ("worker", "sink"))]
    assert not [n for n, text in enumerate(outputs) if PASSWORD in text], "the registry password was shown"

    client = SchemaRegistryClient({"url": registry.url})
    t = s.topics
    for role, topic in t.roles().items():
        records = _read_all(kafka.bootstrap, topic, registry.url)
        assert records, f"nothing on {topic}"
        latest = client.get_latest_version(f"{topic}-value")  # TopicNameStrategy subject
        assert _canonical(json.loads(latest.schema.schema_str)) == _canonical(catalog.load(catalog.TOPIC_RECORDS[role]))
        framed = {value[:5] for value, _ in records}
        assert framed == {b"\x00" + latest.schema_id.to_bytes(4, "big")}, f"{topic}: not all written by one schema id"
    letters = [v for _raw, v in _read_all(kafka.bootstrap, t.deadletter, registry.url)]
    by_stage = {v["stage"]: v for v in letters}
    assert by_stage["classify"]["source_topic"] == t.raw and by_stage["sink:sqlite"]["source_topic"] == t.classified
    assert len(letters) == 3, [(v["stage"], v["reason"]) for v in letters]
