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
        except json.JSONDecodeError as exc:
            yield reject(rejects.PARSE, line_ref, raw, exc)
            continue
        if not isinstance(record, dict):
            yield reject(rejects.PARSE, line_ref, raw, f"expected a JSON object, got {type(record).__name__}",
                         error_class="JSONDecodeError")
            continue
        yield parsed_or_rejected(record, ref=line_ref, original=raw, default_source=name, opts=opts)
    if not seen:
        yield reject(rejects.PARSE, ref, data, "empty input: no JSON lines", error_class="EmptyInputError")


def read_csv(data: bytes, *, ref: str, name: str, opts: ReadOptions) -> Iterator[Parsed]:
    """A header row naming the fields, then one item per row.

    The text is decoded with ``surrogateescape`` so one row with invalid bytes
    is rejected (``utf8``) while its neighbours are published. An
    ``attributes`` column, when present, holds a JSON object.
    """
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    if not text.strip():
        yield reject(rejects.PARSE, ref, data, "empty input: no CSV header", error_class="EmptyInputError")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="__extra__")
    header = reader.fieldnames or []
    if "title" not in header:
        yield reject(rejects.PARSE, ref, data, f"CSV header has no 'title' column: {header}",
                     error_class="CsvHeaderError")
        return
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield reject(rejects.PARSE, f"{ref}:{start}", b"", exc)
            break
        line = reader.line_num
        row_ref = f"{ref}:{start}"
        original = _row_bytes(row, header)
        extra = row.pop("__extra__", None)
        fields: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if extra:
            fields["__extra_columns__"] = extra
        if isinstance(fields.get("attributes"), str):
            try:
                fields["attributes"] = json.loads(fields["attributes"])
            except json.JSONDecodeError as exc:
                yield reject(rejects.VALIDATION, row_ref, original, f"attributes is not a JSON object: {exc}",
                             error_class="JSONDecodeError")
                continue
        if not opts.strict:
            fields = {k: v for k, v in fields.items() if k in KNOWN_FIELDS}
        yield parsed_or_rejected(fields, ref=row_ref, original=original, default_source=name, opts=opts)


def _row_bytes(row: dict[str, Any], header: list[str]) -> bytes:
    buf = io.StringIO()
    values = [row.get(h) or "" for h in header] + list(row.get("__extra__") or [])
    csv.writer(buf).writerow(values)
    return buf.getvalue().rstrip("\r\n").encode("utf-8", errors="surrogateescape")
