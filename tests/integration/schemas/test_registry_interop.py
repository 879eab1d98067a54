"""Clients we did not write read what our producer wrote, through a real Schema Registry.

Apicurio Registry (fetched from Maven Central, in-memory storage) runs on a
free loopback port (the session fixture ``registry``); our producer publishes with Confluent
framing against its ``/apis/ccompat/v7`` API. confluent-kafka's own
``AvroDeserializer`` must decode every item, our reader must accept both wire
formats, and ``kcat -C`` must see the records with key = id, timestamp =
published_at and the Confluent header (magic 0 + the registered schema id).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.sources import publish_paths
from schemas.serde import deserializer_for
from devenv.registry import LocalRegistry
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

START = datetime(2025, 5, 12, 8, 0, tzinfo=timezone.utc)


def _write_items(folder: Path, n: int) -> dict[str, datetime]:
    lines, stamps = [], {}
    for i in range(n):
        published = START + timedelta(minutes=7 * i)
        lines.append(json.dumps({"id": f"reg-{i:03d}", "title": f"Rare-earth talks, day {i}",
                                 "body": "Officials met again.", "published_at": published.isoformat(),
                                 "source": "interop", "url": f"https://news.example/{i}"}))
        stamps[f"reg-{i:03d}"] = published
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")
    return stamps


def _consume(bootstrap: str, topic: str, group: str, expected: int) -> list[Any]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    messages: list[Any] = []
    try:
        def got_all() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                messages.append(msg)
            return len(messages) >= expected

        wait_for(got_all, 60, f"{expected} records on {topic}", interval_s=0)
    finally:
        consumer.close()
    return messages


def test_confluent_deserializer_and_kcat_read_our_records(
    kafka: Any, registry: LocalRegistry, topic_factory: Callable[..., str], group_id: str, tmp_path: Path,
) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    raw, dead = topic_factory("raw"), topic_factory("dl")
    stamps = _write_items(tmp_path, 12)
    report = publish_paths([str(tmp_path)], bootstrap=kafka.bootstrap, topic=raw, deadletter_topic=dead,
                           registry=registry.url)
    assert (report.sent, report.dead_lettered) == (12, 0)

    client = SchemaRegistryClient({"url": registry.url})
    latest = client.get_latest_version(f"{raw}-value")
    theirs = AvroDeserializer(client)
    ours = deserializer_for("NewsItem", registry=registry.url)
    messages = _consume(kafka.bootstrap, raw, group_id, 12)
    decoded = {}
    for msg in messages:
        value = theirs(msg.value(), SerializationContext(raw, MessageField.VALUE))
        assert msg.value()[:5] == b"\x00" + latest.schema_id.to_bytes(4, "big")
        assert msg.key().decode() == value["id"]
        assert msg.timestamp()[1] == int(stamps[value["id"]].timestamp() * 1000)
        assert ours(msg.value()) == value  # our reader agrees on Confluent-framed data
        decoded[value["id"]] = value
    assert sorted(decoded) == sorted(stamps) == sorted(report.sent_ids)
    assert decoded["reg-003"]["published_at"] == stamps["reg-003"]
    assert decoded["reg-003"]["url"] == "https://news.example/3"

    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "kcat is required (Debian: apt-get install kcat)"
    out = subprocess.run(
        [kcat, "-b", kafka.bootstrap, "-C", "-t", raw, "-o", "beginning", "-e", "-q",
         "-s", "value=>b I", "-f", "%k\t%T\t%s\n"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert sorted(r[0] for r in rows) == sorted(stamps)
    for key, ts, header in rows:
        assert int(ts) == int(stamps[key].timestamp() * 1000)
        assert header.split() == ["0", str(latest.schema_id)]  # magic byte 0, then the schema id


def test_readers_accept_both_wire_formats(registry: LocalRegistry) -> None:
    from schemas.models import NewsItem
    from schemas.serde import serializer_for

    item = NewsItem(id="both", source="t", title="Both formats", published_at=START,
                    ingested_at=START).to_avro()  # ms precision, so the round trip is exact
    single = serializer_for("NewsItem")(item)
    framed = serializer_for("NewsItem", registry=registry.url, topic="interop.formats")(item)
    assert single[:2] == b"\xc3\x01" and framed[:1] == b"\x00"
    reader = deserializer_for("NewsItem", registry=registry.url)
    assert reader(single) == reader(framed) == item | {"source_ref": None}
