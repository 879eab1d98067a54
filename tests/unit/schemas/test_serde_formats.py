"""Both wire formats round-trip, and old versions stay readable by the latest reader."""

from __future__ import annotations

from datetime import datetime, timezone

import fastavro
import pytest

from schemas.exceptions import DecodeError
from schemas.models import NewsItem
from schemas.serde import AvroSerializer, deserializer_for, schema_fingerprint, serializer_for

T = datetime(2025, 5, 12, 8, 30, tzinfo=timezone.utc)
ITEM = NewsItem(id="i1", source="s", title="Title", published_at=T, ingested_at=T).to_avro()


def test_single_object_header_is_spec_conformant() -> None:
    data = serializer_for("NewsItem")(ITEM)
    assert data[:2] == b"\xc3\x01"
    assert schema_fingerprint("null").hex() == "8a8f25cce724dd63"  # Avro spec's CRC-64-AVRO("null"), LE


def test_v1_record_read_by_latest_reader() -> None:
    v1 = {k: v for k, v in ITEM.items() if k != "source_ref"}
    data = AvroSerializer("NewsItem", 1)(v1)
    assert deserializer_for("NewsItem")(data) == v1 | {"source_ref": None}


def test_confluent_framing_with_mock_registry() -> None:
    pytest.importorskip("confluent_kafka")
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    url = "mock://unit-serde"
    data = serializer_for("NewsItem", registry=url, topic="news.raw.v1")(ITEM)
    assert data[:1] == b"\x00"
    from schemas import registry

    theirs = AvroDeserializer(registry.client(url))  # a mock registry lives in its client instance
    assert theirs(data, SerializationContext("news.raw.v1", MessageField.VALUE)) == ITEM
    assert deserializer_for("NewsItem", registry=url)(data) == ITEM
    with pytest.raises(DecodeError, match="no schema registry"):
        deserializer_for("NewsItem")(data)


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        deserializer_for("NewsItem")(b"\x07garbage")
    assert fastavro  # fastavro is the hot-path codec
