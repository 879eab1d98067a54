"""Confluent-compatible Schema Registry access (Confluent, Apicurio's ccompat API, ``mock://``).

Only the two operations the wire format needs: register a catalog schema under
a subject to learn its id (writers), and fetch a schema by id (readers of
Confluent-framed records). confluent-kafka's ``SchemaRegistryClient`` does the
HTTP and caching; it is imported lazily because it is an optional extra.

Subjects follow Confluent's default ``TopicNameStrategy``: the value schema of
topic ``T`` is registered under ``T-value`` (keys are plain UTF-8 bytes and
are not registered). A :class:`RegistryConfig` carries the URL and optional
basic-auth credentials; both may be secret (a URL may hold ``user:password``),
so neither appears in its ``repr`` nor in the errors raised here, which name the
registry by :attr:`RegistryConfig.display` only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastavro.schema import parse_schema

from schemas import catalog
from schemas.exceptions import RegistryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryConfig:
    """Where the schema registry is and how to authenticate (plain values, built at the edge)."""

    url: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("a registry URL is required")
        if bool(self.username) != bool(self.password):
            raise ValueError("registry basic auth needs both a username and a password")
        if self.username and urlsplit(self.url).password is not None:
            raise ValueError("registry credentials given both in the URL and as username/password")

    @classmethod
    def of(cls, value: RegistryConfig | str | None) -> RegistryConfig | None:
        """Accept a plain URL where a config is expected (tools and tests); empty means no registry."""
        if value is None or isinstance(value, RegistryConfig):
            return value
        return cls(value) if value else None

    @property
    def display(self) -> str:
        """The URL without any ``user:password@``: what logs and errors may show."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def client_conf(self) -> dict[str, str]:
        """``SchemaRegistryClient`` configuration: the URL, plus basic auth when credentials are set."""
        conf = {"url": self.url}
        if self.username and self.password:
            conf["basic.auth.user.info"] = f"{self.username}:{self.password}"
        return conf

    def redact(self, text: str) -> str:
        """``text`` with the URL, the password and any URL credentials replaced by the safe display form."""
        parts = urlsplit(self.url)
        for secret in (self.url, self.password, parts.password):
            if secret:
                text = text.replace(secret, self.display if secret == self.url else "**********")
        return text


def subject_for(topic: str, *, is_key: bool = False) -> str:
    """Confluent's default TopicNameStrategy: ``<topic>-value`` / ``<topic>-key``."""
    return f"{topic}-{'key' if is_key else 'value'}"


def client(registry: RegistryConfig | str) -> Any:
    """One cached ``SchemaRegistryClient`` per registry (URL and credentials)."""
    cfg = RegistryConfig.of(registry)
    assert cfg is not None
    return _client(cfg)


@lru_cache(maxsize=None)
def _client(cfg: RegistryConfig) -> Any:
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RegistryError(
            f"a schema registry is configured ({cfg.display}) but confluent-kafka is not installed; "
            "pip install 'tension-stream[registry]'"
        ) from exc
    # new_client() also understands ``mock://`` (an in-process registry, for tests)
    try:
        return SchemaRegistryClient.new_client(cfg.client_conf())
    except Exception as exc:  # a malformed URL or configuration
        raise RegistryError(f"bad schema registry configuration for {cfg.display}: {cfg.redact(str(exc))}") from None


def register(registry: RegistryConfig | str, name: str, topic: str, version: int | None = None) -> int:
    """Register the catalog schema (idempotent) under the topic's value subject; return its id."""
    from confluent_kafka.schema_registry import Schema

    cfg = RegistryConfig.of(registry)
    assert cfg is not None
    subject = subject_for(topic)
    try:
        schema_id = int(client(cfg).register_schema(subject, Schema(catalog.load_json(name, version), "AVRO")))
    except RegistryError:
        raise
    except Exception as exc:  # SchemaRegistryError or a connection error from requests/httpx
        raise RegistryError(f"cannot register {name} under subject {subject} at {cfg.display}: "
                            f"{cfg.redact(str(exc))}") from None
    log.debug("registered %s as %s id %d at %s", name, subject, schema_id, cfg.display)
    return schema_id


_parsed_by_id: dict[tuple[RegistryConfig, int], Any] = {}


def resolver(registry: RegistryConfig | str) -> Any:
    """A ``schema id -> parsed writer schema`` function for ``AvroDeserializer(resolve_id=...)``.

    Each id is fetched once per process (a blocking HTTP call the first time an
    id is seen, then a dict lookup), so the hot path does not wait on the registry.
    """
    cfg = RegistryConfig.of(registry)
    assert cfg is not None

    def resolve(schema_id: int) -> Any:
        key = (cfg, schema_id)
        if key not in _parsed_by_id:
            try:
                schema = client(cfg).get_schema(schema_id)
            except RegistryError:
                raise
            except Exception as exc:
                raise RegistryError(f"schema id {schema_id} not found at {cfg.display}: "
                                    f"{cfg.redact(str(exc))}") from None
            _parsed_by_id[key] = parse_schema(json.loads(schema.schema_str), named_schemas={})
        return _parsed_by_id[key]

    return resolve
