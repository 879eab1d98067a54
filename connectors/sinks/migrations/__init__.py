"""Versioned store schemas: ``<dialect>/NNNN_name.sql``, applied in order and recorded.

Each store keeps a ``schema_migrations`` table (version, name, applied_at).
A migration is applied in one transaction together with its row there, so a
failed migration leaves nothing behind and is retried on the next run. Files
are never edited once released: a change is a new, higher-numbered file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover(dialect: str) -> list[Migration]:
    """Every migration of `dialect` ("sqlite" or "postgres"), by version; gaps are refused."""
    folder = HERE / dialect
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{dialect} migrations must be numbered 1..n without gaps, found {versions}")
    return found


def latest(dialect: str) -> int:
    return len(discover(dialect))
