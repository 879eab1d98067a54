"""Avro serializer objects for the hot path (fastavro).

Two wire formats are understood:

* **Single-object encoding** (Avro spec): ``C3 01`` + the 8-byte little-endian
  CRC-64-AVRO fingerprint of the writer schema's parsing canonical form + the
  Avro binary body. Writer schemas are found in the local catalog by
  fingerprint, so the embedded default needs no registry server.
* **Confluent framing**: magic byte ``0`` + 4-byte big-endian schema id + body,
  with schemas from a Confluent-compatible registry (see ``schemas.registry``).

Which format a process writes is decided once: :class:`TopicSerdes` binds each
topic role to its record (``schemas.catalog.TOPIC_RECORDS``) and to the
registry setting, and the producer, both worker stages, the sinks and every
dead-letter writer take their serializers from it.

Readers accept both and resolve the writer schema to the reader's (latest)
version, so older records stay readable after a compatible evolution. They
are strict about the framing: bytes left after the Avro body are a DecodeError
(no writer produces them; a reader that ignored them would accept garbage).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Mapping
from typing import Any

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from schemas import catalog
from schemas import registry as registry_api
from schemas.exceptions import DecodeError, EncodeError, UnknownSchemaError
from schemas.registry import RegistryConfig

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"

# Resolves a Confluent schema id to a parsed writer schema (set by a registry client).
SchemaIdResolver = Callable[[int], Any]


def parsed(name: str, version: int | None = None) -> Any:
    return _parsed(name, version or catalog.latest_version(name))


_cache: dict[tuple[str, int], Any] = {}


def _parsed(name: str, version: int) -> Any:
    key = (name, version)
    if key not in _cache:
        _cache[key] = parse_schema(catalog.load(name, version), _write_hint=True, named_schemas={})
    return _cache[key]


def schema_fingerprint(schema: Any) -> bytes:
    """8-byte little-endian CRC-64-AVRO fingerprint of a parsed schema."""
    value = int(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"), 16)
    # fastavro returns the fingerprint as the hex of its little-endian bytes
    return value.to_bytes(8, "big")


_by_fingerprint: dict[bytes, Any] = {}


def writer_schema_for(fp: bytes) -> Any:
    """Find the catalog schema (any version) with this fingerprint."""
    if not _by_fingerprint:
        for name in catalog.record_names():
            for version in catalog.versions(name):
                schema = _parsed(name, version)
                _by_fingerprint[schema_fingerprint(schema)] = schema
    try:
        return _by_fingerprint[fp]
    except KeyError:
        raise UnknownSchemaError(f"no schema in the catalog has fingerprint {fp.hex()}") from None


class AvroSerializer:
    """Encodes dicts of one record type; configured once, validated at construction."""

    def __init__(self, name: str, version: int | None = None, *, schema_id: int | None = None) -> None:
        self.name = name
        self.version = version or catalog.latest_version(name)
        self.schema = _parsed(name, self.version)
        self.schema_id = schema_id
        if schema_id is None:
            self._header = SINGLE_OBJECT_MAGIC + schema_fingerprint(self.schema)
        else:
            self._header = CONFLUENT_MAGIC + struct.pack(">I", schema_id)

    def __call__(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        try:
            fastavro.schemaless_writer(buf, self.schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodeError(f"cannot encode {self.name}: {exc}") from exc
        return buf.getvalue()


class AvroDeserializer:
    """Decodes either wire format into dicts shaped by the reader schema."""

    def __init__(self, name: str, *, resolve_id: SchemaIdResolver | None = None) -> None:
        self.name = name
        self.reader = _parsed(name, catalog.latest_version(name))
        self._resolve_id = resolve_id
        self._own_fp = schema_fingerprint(self.reader)

    def __call__(self, data: bytes) -> dict[str, Any]:
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 5:
            raise DecodeError(f"{self.name}: payload too short or not bytes")
        data = bytes(data)
        if data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= 10:
            fp = data[2:10]
            writer = self.reader if fp == self._own_fp else writer_schema_for(fp)
            body = data[10:]
        elif data[:1] == CONFLUENT_MAGIC:
            if self._resolve_id is None:
                raise DecodeError(f"{self.name}: Confluent-framed record but no schema registry configured")
            writer = self._resolve_id(struct.unpack(">I", data[1:5])[0])
            body = data[5:]
        else:
            raise DecodeError(f"{self.name}: unknown wire format (first bytes {data[:2].hex()})")
        buf = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(buf, writer, self.reader)
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise DecodeError(f"{self.name}: corrupt Avro body: {exc}") from exc
        if buf.tell() != len(body):  # a writer never leaves bytes behind the record: not what it wrote
            raise DecodeError(f"{self.name}: {len(body) - buf.tell()} trailing byte(s) after the Avro body")
        return record


def serializer_for(name: str, *, registry: RegistryConfig | str | None = None, topic: str | None = None,
                   version: int | None = None) -> AvroSerializer:
    """The writer for one topic: Confluent framing when a registry is configured, else single-object.

    With a registry the schema is registered under ``<topic>-value`` (Confluent's
    TopicNameStrategy) so standard clients find it from the id in each record.
    """
    cfg = RegistryConfig.of(registry)
    if cfg is None:
        return AvroSerializer(name, version)
    if not topic:
        raise ValueError("a topic is needed to register a schema (subject <topic>-value)")
    return AvroSerializer(name, version, schema_id=registry_api.register(cfg, name, topic, version))


def deserializer_for(name: str, *, registry: RegistryConfig | str | None = None) -> AvroDeserializer:
    """A reader accepting both wire formats; Confluent ids are resolved only when a registry is set."""
    cfg = RegistryConfig.of(registry)
    if cfg is None:
        return AvroDeserializer(name)
    return AvroDeserializer(name, resolve_id=registry_api.resolver(cfg))


class TopicSerdes:
    """The serializer and deserializer of each product topic, the wire format chosen once.

    ``topics`` maps topic roles (keys of ``catalog.TOPIC_RECORDS``) to topic
    names; a process passes the roles it uses. ``registry`` None: single-object
    encoding, no server needed (the embedded default). Set: every serializer
    registers its schema under ``<topic>-value`` on first use and writes
    Confluent framing; deserializers read both formats either way, so a switch
    does not strand records already written.
    """

    def __init__(self, topics: Mapping[str, str], registry: RegistryConfig | str | None = None) -> None:
        unknown = set(topics) - set(catalog.TOPIC_RECORDS)
        if unknown:
            raise ValueError(f"unknown topic roles {sorted(unknown)}; expected {sorted(catalog.TOPIC_RECORDS)}")
        self.topics = dict(topics)
        self.registry = RegistryConfig.of(registry)
        self._writers: dict[str, AvroSerializer] = {}
        self._readers: dict[str, AvroDeserializer] = {}

    @property
    def framing(self) -> str:
        """``confluent`` or ``single-object``: what the serializers write."""
        return "single-object" if self.registry is None else "confluent"

    def record(self, role: str) -> str:
        """The Avro record name carried by the topic of ``role``."""
        return catalog.TOPIC_RECORDS[role]

    def serializer(self, role: str) -> AvroSerializer:
        """The writer of the topic of ``role`` (registered under its subject when a registry is set)."""
        if role not in self._writers:
            if role not in self.topics:
                raise KeyError(f"no topic configured for role {role!r}")
            self._writers[role] = serializer_for(self.record(role), registry=self.registry, topic=self.topics[role])
        return self._writers[role]

    def deserializer(self, role: str) -> AvroDeserializer:
        """The reader of the topic of ``role`` (either wire format; ids resolved through the registry)."""
        if role not in self._readers:
            self._readers[role] = deserializer_for(self.record(role), registry=self.registry)
        return self._readers[role]
