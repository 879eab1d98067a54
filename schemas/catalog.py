"""The schema catalog: every Avro schema in ``schemas/avro/<Name>/v<N>.avsc``.

Each record type keeps its whole history (v1, v2, ...) so compatibility can be
checked version by version and so a reader can resolve data written with any
earlier version. A schema may name a record defined in another file (a
``ClassifiedItem`` holds a ``NewsItem``); the catalog inlines such references
so every schema it returns is self-contained — what a Schema Registry stores
and what the single-object fingerprint is computed over.
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


def load(name: str, version: int | None = None) -> dict[str, Any]:
    """The schema as a JSON-ready dict, references to other records inlined.

    References resolve to the *latest* version of the referenced record, so an
    outer schema's version pins its own fields only; add a version of the outer
    record when an inner change must be visible to its readers.
    """
    schema = json.loads(_raw(name, version or latest_version(name)))
    return _inline(schema, defined=set())


def load_json(name: str, version: int | None = None) -> str:
    """The self-contained schema as compact JSON text (what a registry stores)."""
    return json.dumps(load(name, version), separators=(",", ":"))


def _inline(node: Any, defined: set[str]) -> Any:
    if isinstance(node, str):
        short = node.rsplit(".", 1)[-1]
        if node.startswith(NAMESPACE + ".") and short not in defined and (AVRO_DIR / short).is_dir():
            defined.add(short)
            return _inline(json.loads(_raw(short, latest_version(short))), defined)
        return node
    if isinstance(node, list):
        return [_inline(n, defined) for n in node]
    if isinstance(node, dict):
        if node.get("type") == "record":
            defined.add(node["name"])
        return {k: (_inline(v, defined) if k in ("type", "items", "values", "fields") else v)
                for k, v in node.items()}
    return node
