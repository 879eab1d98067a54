"""Readers for the file formats a source can hand us: txt/md, JSONL, CSV.

Each reader takes the raw bytes of one input (a file, a download, stdin) and
yields a validated ``NewsItem`` or a ``Rejection`` per record, never raising
for bad content: a malformed line costs that line, a malformed file costs that
file, and the run goes on. Bytes, not text, come in so that invalid UTF-8 can
be reported (reason ``utf8``) with the original bytes kept for the dead letter.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.sources import rejects
from connectors.sources.normalize import KNOWN_FIELDS, Parsed, ReadOptions, parsed_or_rejected, reject

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
FEED_SUFFIXES = (".rss", ".atom", ".xml")
_META_KEYS = ("published_at", "source", "url", "title", "language", "attributes", "id")


def read_text(data: bytes, *, ref: str, name: str, opts: ReadOptions, mtime: datetime | None,
              meta: dict[str, Any] | None = None, markdown: bool = False) -> Iterator[Parsed]:
    """One item per file: title = first non-blank line, body = the rest.

    ``meta`` (from a ``<file>.meta.json`` sidecar) and, for Markdown, a front
    matter block of ``key: value`` lines override what the text says; without
    a date from either, the file's modification time is the publication time.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield reject(rejects.UTF8, ref, data, exc)
        return
    if "\x00" in text:
        yield reject(rejects.PARSE, ref, data, "NUL bytes: binary or UTF-16 input, not UTF-8 text",
                     error_class="BinaryInputError")
        return
    fields: dict[str, Any] = {}
    if markdown:
        front, text = _front_matter(text)
        fields.update(front)
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines and not fields.get("title") and not (meta or {}).get("title"):
        yield reject(rejects.PARSE, ref, data, "empty input: no title line", error_class="EmptyInputError")
        return
    title = lines[0].strip() if lines else ""
    if markdown:
        title = title.lstrip("#").strip()
    fields.setdefault("title", title)
    fields["body"] = "\n".join(lines[1:]).strip()
    fields.update({k: v for k, v in (meta or {}).items() if k in _META_KEYS})
    if not fields.get("published_at") and mtime is not None:
        fields["published_at"] = mtime
    yield parsed_or_rejected(fields, ref=ref, original=data, default_source=name, opts=opts)


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a ``---``-fenced block of ``key: value`` lines off the top of a Markdown text."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        return {}, text
    fields: dict[str, Any] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep and key.strip() in _META_KEYS:
            fields[key.strip()] = value.strip().strip("'\"")
    return fields, "\n".join(lines[end + 1:])


def read_jsonl(data: bytes, *, ref: str, name: str, opts: ReadOptions) -> Iterator[Parsed]:
    """One JSON object per line; blank lines are skipped, each bad line is rejected alone."""
    seen = False
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        seen = True
        line_ref = f"{ref}:{lineno}"
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield reject(rejects.UTF8, line_ref, raw, exc)
            continue
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, too deep, an int of > 4300 digits
            yield reject(rejects.PARSE, line_ref, raw, exc)
            continue
        if not isinstance(record, dict):
            yield reject(rejects.PARSE, line_ref, raw, f"expected a JSON object, got {type(record).__name__}",
                         error_class="JSONDecodeError")
            continue
        yield parsed_or_rejected(record, ref=line_ref, original=raw, default_source=name, opts=opts)
    if not seen:
        yield reject(rejects.PARSE, ref, data, "empty input: no JSON lines", error_class="EmptyInputError")


class _Lines:
    """The lines ``csv`` reads, remembered until taken, so each row's original text is known exactly."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self._taken: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> bytes:
        """The raw bytes of the lines read since the last call (the current row, or the header)."""
        text, self._taken = "".join(self._taken), []
        return text.rstrip("\r\n").encode("utf-8", errors="surrogateescape")


def read_csv(data: bytes, *, ref: str, name: str, opts: ReadOptions) -> Iterator[Parsed]:
    """A header row naming the fields, then one item per row.

    The text is decoded with ``surrogateescape`` so one row with invalid bytes
    is rejected (``utf8``) while its neighbours are published. An
    ``attributes`` column, when present, holds a JSON object. A row the csv
    module cannot read (a field above ``csv.field_size_limit()``, say) is
    rejected alone and reading resumes on the next line.
    """
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    if not text.strip():
        yield reject(rejects.PARSE, ref, data, "empty input: no CSV header", error_class="EmptyInputError")
        return
    lines = _Lines(text)
    reader = csv.DictReader(lines, restkey="__extra__")
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        yield reject(rejects.PARSE, f"{ref}:1", lines.take(), f"unreadable CSV header: {exc}")
        return
    if "title" not in header:
        yield reject(rejects.PARSE, ref, data, f"CSV header has no 'title' column: {header[:20]}",
                     error_class="CsvHeaderError")
        return
    lines.take()
    line = reader.line_num
    while True:
        start = line + 1
        row_ref = f"{ref}:{start}"
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            original = lines.take()
            yield reject(rejects.PARSE, row_ref, original, exc)
            if reader.reader.line_num == line:  # nothing consumed: the reader cannot get past it
                break
            line = reader.reader.line_num  # DictReader's own line_num is only set on success
            continue
        line = reader.line_num
        original = lines.take()
        yield _csv_row(row, ref=row_ref, original=original, name=name, opts=opts)


def _csv_row(row: dict[str, Any], *, ref: str, original: bytes, name: str, opts: ReadOptions) -> Parsed:
    extra = row.pop("__extra__", None)
    fields: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
    if extra:
        fields["__extra_columns__"] = extra
    if isinstance(fields.get("attributes"), str):
        try:
            fields["attributes"] = json.loads(fields["attributes"])
        except (ValueError, RecursionError) as exc:
            return reject(rejects.VALIDATION, ref, original, f"attributes is not a JSON object: {exc}",
                          error_class=type(exc).__name__)
    if not opts.strict:
        fields = {k: v for k, v in fields.items() if k in KNOWN_FIELDS}
    return parsed_or_rejected(fields, ref=ref, original=original, default_source=name, opts=opts)
