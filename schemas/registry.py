"""Confluent-compatible Schema Registry access (Confluent, Apicurio's ccompat API, ``mock://``).

Only the two operations the wire format needs: register a catalog schema under
a subject to learn its id (writers), and fetch a schema by id (readers of
Confluent-framed records). confluent-kafka's ``SchemaRegistryClient`` does the
HTTP and caching; it is imported lazily because it is an optional extra.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from fastavro.schema import parse_schema

from schemas import catalog
from schemas.exceptions import RegistryError

log = logging.getLogger(__name__)


def subject_for(topic: str, *, is_key: bool = False) -> str:
    """Confluent's default TopicNameStrategy: ``<topic>-value`` / ``<topic>-key``."""
    return f"{topic}-{'key' if is_key else 'value'}"


@lru_cache(maxsize=None)
def client(url: str) -> Any:
    """One cached ``SchemaRegistryClient`` per registry URL."""
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RegistryError(
            f"a schema registry is configured ({url}) but confluent-kafka is not installed; "
            "pip install 'tension-stream[registry]'"
        ) from exc
    # new_client() also understands ``mock://`` (an in-process registry, for tests)
    return SchemaRegistryClient.new_client({"url": url})


def register(url: str, name: str, topic: str, version: int | None = None) -> int:
    """Register the catalog schema (idempotent) under the topic's value subject; return its id."""
    from confluent_kafka.schema_registry import Schema

    subject = subject_for(topic)
    try:
        schema_id = int(client(url).register_schema(subject, Schema(catalog.load_json(name, version), "AVRO")))
    except Exception as exc:  # SchemaRegistryError or a connection error from requests/httpx
        raise RegistryError(f"cannot register {name} under subject {subject} at {url}: {exc}") from exc
    log.debug("registered %s as %s id %d at %s", name, subject, schema_id, url)
    return schema_id


_parsed_by_id: dict[tuple[str, int], Any] = {}


def resolver(url: str) -> Any:
    """A ``schema id -> parsed writer schema`` function for ``AvroDeserializer(resolve_id=...)``."""

    def resolve(schema_id: int) -> Any:
        key = (url, schema_id)
        if key not in _parsed_by_id:
            try:
                schema = client(url).get_schema(schema_id)
            except Exception as exc:
                raise RegistryError(f"schema id {schema_id} not found at {url}: {exc}") from exc
            _parsed_by_id[key] = parse_schema(json.loads(schema.schema_str), named_schemas={})
        return _parsed_by_id[key]

    return resolve
