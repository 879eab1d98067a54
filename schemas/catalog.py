"""The schema catalog: every Avro schema in ``schemas/avro/<Name>/v<N>.avsc``.

Each record type keeps its whole history (v1, v2, ...) so compatibility can be
checked version by version and so a reader can resolve data written with any
earlier version. A schema may name a record defined in another file (a
``ClassifiedItem`` holds a ``NewsItem``); the catalog inlines such references
so every schema it returns is self-contained — what a Schema Registry stores
and what the single-object fingerprint is computed over.

A referencing schema pins the version of each record it names with a
top-level ``"tension.references": {"NewsItem": 1}`` property (stripped when
inlining). Without the pin, ``ClassifiedItem`` v1 would silently change — and
change fingerprint — whenever ``NewsItem`` got a new version, and records
written before could no longer be resolved. Evolving an inner record therefore
means adding a version of each outer record that pins the new inner version.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from schemas.exceptions import UnknownSchemaError

AVRO_DIR = Path(__file__).resolve().parent / "avro"
NAMESPACE = "io.tensionstream.events"
_VERSION_RE = re.compile(r"^v(\d+)\.avsc$")
REFERENCES_KEY = "tension.references"

#: The record every product topic carries, by topic role (the roles of ``TopicConfig`` /
#: ``TENSION_TOPICS__*``). The one binding of topics to schemas: every writer and reader of a
#: product topic gets its serde through :class:`schemas.serde.TopicSerdes`, which looks it up here.
TOPIC_RECORDS: dict[str, str] = {
    "raw": "NewsItem",
    "classified": "ClassifiedItem",
    "index": "TensionIndexUpdate",
    "alerts": "Alert",
    "deadletter": "DeadLetter",
}


def record_names() -> list[str]:
    """Names of every record type with at least one version."""
    return sorted(p.name for p in AVRO_DIR.iterdir() if p.is_dir() and any(p.glob("v*.avsc")))


def versions(name: str) -> list[int]:
    """Version numbers of one record type, ascending."""
    folder = AVRO_DIR / name
    found = sorted(int(m.group(1)) for p in folder.glob("v*.avsc") if (m := _VERSION_RE.match(p.name)))
    if not found:
        raise UnknownSchemaError(f"no schema named {name!r} in {AVRO_DIR}")
    return found


def latest_version(name: str) -> int:
    return versions(name)[-1]


@lru_cache(maxsize=None)
def _raw(name: str, version: int) -> str:
    path = AVRO_DIR / name / f"v{version}.avsc"
    if not path.exists():
        raise UnknownSchemaError(f"schema {name} v{version} does not exist ({path})")
    return path.read_text(encoding="utf-8")


def references(name: str, version: int | None = None) -> dict[str, int]:
    """Record name -> pinned version for every catalog record this schema names."""
    schema = json.loads(_raw(name, version or latest_version(name)))
    pins = schema.get(REFERENCES_KEY, {})
    if not isinstance(pins, dict) or not all(isinstance(v, int) for v in pins.values()):
        raise UnknownSchemaError(f"{name} v{version}: {REFERENCES_KEY} must map record names to versions")
    return dict(pins)


def load(name: str, version: int | None = None) -> dict[str, Any]:
    """The schema as a JSON-ready dict, references to other records inlined at their pinned version.

    A reference without a pin resolves to the latest version of the named
    record (kept for schemas that name nothing; the unit tests require pins).
    """
    version = version or latest_version(name)
    schema = json.loads(_raw(name, version))
    pins = references(name, version)
    schema.pop(REFERENCES_KEY, None)
    return _inline(schema, defined=set(), pins=pins)


def load_json(name: str, version: int | None = None) -> str:
    """The self-contained schema as compact JSON text (what a registry stores)."""
    return json.dumps(load(name, version), separators=(",", ":"))


def _inline(node: Any, defined: set[str], pins: dict[str, int]) -> Any:
    if isinstance(node, str):
        short = node.rsplit(".", 1)[-1]
        if node.startswith(NAMESPACE + ".") and short not in defined and (AVRO_DIR / short).is_dir():
            defined.add(short)
            inner = json.loads(_raw(short, pins.get(short) or latest_version(short)))
            inner_pins = {**inner.pop(REFERENCES_KEY, {}), **pins}
            return _inline(inner, defined, inner_pins)
        return node
    if isinstance(node, list):
        return [_inline(n, defined, pins) for n in node]
    if isinstance(node, dict):
        if node.get("type") == "record":
            defined.add(node["name"])
        return {k: (_inline(v, defined, pins) if k in ("type", "items", "values", "fields") else v)
                for k, v in node.items()}
    return node
