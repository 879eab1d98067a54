"""Files store for analysts: JSON Lines partitioned by date, written exactly once per Kafka record.

Layout (Hive-style, so DuckDB/Spark/pandas read the date as a column)::

    <root>/<table>/dt=YYYY-MM-DD/part-<topic>-<partition>-<first offset>-<last offset>.jsonl

``dt`` is the UTC date of ``published_at`` (items) or ``window_start`` (index
rows, alerts). Each file holds the records of one topic-partition, one table
and one date from one batch, in offset order; it is written under a hidden
temporary name, fsync'ed and renamed, so a reader or a crash never sees half a
file. **Guarantee:** every Kafka record lands in exactly one file, once: the
offset range in the file names is the high-water mark per (table, date,
topic, partition), reloaded on open and on every partition assignment, and a
replayed record at or below it is skipped. Files are append-only logs: an
index window updated five times has five rows; take the newest ``emitted_at``
per key when reading (docs/stores.md shows the DuckDB query).
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.exceptions import SinkConfigError
from connectors.sinks.base import Sink, SinkRecord
from connectors.sinks.rows import KIND_TABLE, TABLES, dumps, iso, row_of

log = logging.getLogger(__name__)

#: table → column whose UTC date partitions the files
DATE_COLUMN = {"items": "published_at", "index_rows": "window_start", "alerts": "window_start"}
_PART = re.compile(r"^part-(?P<topic>.+)-(?P<partition>\d+)-(?P<first>\d{19})-(?P<last>\d{19})\.jsonl$")

Mark = tuple[str, str, str, int]  # (table, dt, topic, partition)


def _json_row(row: dict[str, Any]) -> str:
    return dumps({k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()})


class FilesSink(Sink):
    """Writes one JSONL file per (table, date, topic-partition) per batch."""

    name = "files"

    def __init__(self, root: str | Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise SinkConfigError(f"files: {self.root} exists and is not a directory")
        self.fsync = fsync
        self._marks: dict[Mark, int] = {}
        self._dirty_dirs: set[Path] = set()
        self.skipped = 0  # replayed records already in a file

    def open(self) -> None:
        for table in TABLES:
            (self.root / table).mkdir(parents=True, exist_ok=True)
        self._scan(None)

    def on_assign(self, partitions: Collection[tuple[str, int]]) -> None:
        # Another member may have written these partitions while they were not ours.
        self._scan(set(partitions))

    def _scan(self, partitions: set[tuple[str, int]] | None) -> None:
        """Reload high-water marks from file names; drop temp files of partitions we now own."""
        for table in TABLES:
            for day in (self.root / table).glob("dt=*"):
                for path in day.iterdir():
                    if path.name.startswith(".part-") and path.name.endswith(".tmp"):
                        m = _PART.match(path.name[1:].rsplit(".", 2)[0])
                        if m and (partitions is None or (m["topic"], int(m["partition"])) in partitions):
                            path.unlink(missing_ok=True)  # left by a crash before its rename
                        continue
                    m = _PART.match(path.name)
                    if not m:
                        continue
                    tp = (m["topic"], int(m["partition"]))
                    if partitions is not None and tp not in partitions:
                        continue
                    key = (table, day.name[3:], *tp)
                    self._marks[key] = max(self._marks.get(key, -1), int(m["last"]))

    def write_batch(self, records: list[SinkRecord]) -> None:
        groups: dict[Mark, list[tuple[int, str]]] = defaultdict(list)
        for rec in records:
            table = KIND_TABLE[rec.kind]
            row = row_of(rec)
            row["kafka_topic"] = rec.topic
            dt = row[DATE_COLUMN[table]].date().isoformat()
            key = (table, dt, rec.topic, rec.partition)
            if rec.offset <= self._marks.get(key, -1):
                self.skipped += 1
                continue
            groups[key].append((rec.offset, _json_row(row)))
        for key, lines in groups.items():
            lines.sort()
            self._write_file(key, lines)

    def _write_file(self, key: Mark, lines: list[tuple[int, str]]) -> None:
        table, dt, topic, partition = key
        first, last = lines[0][0], lines[-1][0]
        folder = self.root / table / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{topic}-{partition}-{first:019d}-{last:019d}.jsonl"
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(line for _off, line in lines) + "\n")
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, folder / name)
        self._dirty_dirs.add(folder)
        self._marks[key] = last

    def flush(self) -> None:
        """Make the renames durable before the offsets are committed."""
        if self.fsync:
            for folder in self._dirty_dirs:
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._dirty_dirs.clear()

    def is_transient(self, exc: Exception) -> bool:
        return not isinstance(exc, ValueError | TypeError | KeyError | UnicodeError)
