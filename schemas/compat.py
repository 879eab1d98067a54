"""Schema evolution rules, checked with the reference ``avro`` package's checker.

Our rule is FULL_TRANSITIVE-lite: every version must be backward compatible
(a reader on the new version reads data written with the previous one) *and*
forward compatible (a reader still on the previous version reads data written
with the new one) with its predecessor. In practice that allows adding or
removing fields that have defaults, and nothing else that changes the data.
We use Apache Avro's own ``ReaderWriterCompatibilityChecker`` rather than our
fastavro-based code so the check is independent of the code it protects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas import catalog


@dataclass(frozen=True)
class CompatibilityProblem:
    """One failed direction of one version pair, with the checker's explanation."""

    name: str
    older: int
    newer: int
    direction: str  # "backward" (new reads old) or "forward" (old reads new)
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} v{self.older} -> v{self.newer} is not {self.direction} compatible: " + "; ".join(
            self.messages)


def _parse(schema: dict[str, Any] | str) -> avro.schema.Schema:
    return avro.schema.parse(schema if isinstance(schema, str) else json.dumps(schema))


def can_read(reader: dict[str, Any] | str, writer: dict[str, Any] | str) -> tuple[bool, tuple[str, ...]]:
    """Whether data written with ``writer`` can be read with ``reader``, and why not."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(_parse(reader), _parse(writer))
    ok = result.compatibility is SchemaCompatibilityType.compatible
    details = tuple(f"{m} at {'/'.join(loc) if isinstance(loc, (list, tuple)) else loc}"
                    for m, loc in zip(result.messages, result.locations)) or tuple(result.messages)
    return ok, () if ok else details


def check_pair(name: str, older: dict[str, Any] | str, newer: dict[str, Any] | str,
               older_version: int = 0, newer_version: int = 0) -> list[CompatibilityProblem]:
    """Both directions for one consecutive pair; empty when compatible."""
    problems = []
    for direction, reader, writer in (("backward", newer, older), ("forward", older, newer)):
        ok, messages = can_read(reader, writer)
        if not ok:
            problems.append(CompatibilityProblem(name, older_version, newer_version, direction, messages))
    return problems


def check_history(name: str) -> list[CompatibilityProblem]:
    """Every consecutive version pair of one catalog record."""
    history = catalog.versions(name)
    problems: list[CompatibilityProblem] = []
    for older, newer in zip(history, history[1:]):
        problems += check_pair(name, catalog.load(name, older), catalog.load(name, newer), older, newer)
    return problems


def check_catalog() -> list[CompatibilityProblem]:
    """Every record type's whole history."""
    return [p for name in catalog.record_names() for p in check_history(name)]
