"""Turn the loose fields read from some input into a validated ``NewsItem``.

Every reader (text, JSONL, CSV, feed) produces a plain dict of fields and hands
it here, so the rules — which fields are known, how dates are read, how big a
body may be, what strict mode rejects — live in one place and every format
rejects bad input with the same reason codes.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from connectors.sources import rejects
from connectors.sources.exceptions import InputError
from connectors.sources.rejects import Rejection
from schemas.models import NewsItem, item_id

KNOWN_FIELDS: frozenset[str] = frozenset(
    {"id", "title", "body", "published_at", "source", "url", "language", "attributes"}
)
_SURROGATE = re.compile("[\udc80-\udcff]")
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
#: Kafka 4 brokers refuse record timestamps more than an hour ahead
#: (log.message.timestamp.after.max.ms); such a date is a data error, say so early.
MAX_FUTURE = timedelta(hours=1)


@dataclass(frozen=True)
class ReadOptions:
    """Limits every reader applies; passed down from the caller, never read from the environment."""

    max_body_bytes: int = 100_000
    strict: bool = False


Parsed = NewsItem | Rejection


def parse_datetime(value: Any) -> datetime:
    """Read ISO 8601, RFC 2822 or epoch seconds/milliseconds; naive times are taken as UTC.

    Raises :class:`InputError` (reason ``date``) when nothing fits, so callers do
    not have to tell a bad date from other bad fields.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if _NUMERIC.match(text):
            parsed = _from_epoch(float(text))
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                try:
                    parsed = email.utils.parsedate_to_datetime(text)
                except (TypeError, ValueError, IndexError):
                    raise InputError(rejects.DATE, f"published_at is not a date: {text[:80]!r}") from None
    elif value is None or value == "":
        raise InputError(rejects.DATE, "published_at is missing")
    else:
        raise InputError(rejects.DATE, f"published_at has type {type(value).__name__}, expected a date string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _from_epoch(number: float) -> datetime:
    # Values above ~5138 AD in seconds are taken as milliseconds.
    seconds = number / 1000.0 if abs(number) >= 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InputError(rejects.DATE, f"published_at epoch value out of range: {number}") from None


def _check_utf8(fields: Mapping[str, Any]) -> None:
    """Readers decode with ``surrogateescape``; a surviving surrogate marks an invalid byte."""
    for key, value in fields.items():
        texts = value.values() if isinstance(value, Mapping) else [value]
        for text in texts:
            if isinstance(text, str) and _SURROGATE.search(text):
                raise InputError(rejects.UTF8, f"field {key!r} contains bytes that are not valid UTF-8")


def _attributes(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise InputError(rejects.VALIDATION, f"attributes must be an object, got {type(value).__name__}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise InputError(rejects.VALIDATION, f"attribute {key!r} must be a scalar")
        if item is not None:
            out[str(key)] = str(item)
    return out


def build_item(fields: Mapping[str, Any], *, default_source: str, opts: ReadOptions,
               ingested_at: datetime | None = None, source_ref: str | None = None) -> NewsItem:
    """Validate one record's fields; raise :class:`InputError` with a reason code."""
    _check_utf8(fields)
    unknown = sorted(str(k) for k in fields if k not in KNOWN_FIELDS)
    if unknown and opts.strict:
        raise InputError(rejects.UNKNOWN_FIELDS, f"unknown field(s) in strict mode: {', '.join(unknown)}")
    published_at = parse_datetime(fields.get("published_at"))
    if published_at > datetime.now(timezone.utc) + MAX_FUTURE:
        raise InputError(rejects.DATE, f"published_at {published_at.isoformat()} is in the future")
    body = fields.get("body")
    body = "" if body is None else body
    if isinstance(body, str) and len(body.encode("utf-8")) > opts.max_body_bytes:
        raise InputError(
            rejects.OVERSIZE,
            f"body is {len(body.encode('utf-8'))} bytes, limit is {opts.max_body_bytes}",
        )
    source = fields.get("source") or default_source
    url = fields.get("url") or None
    title = fields.get("title")
    given_id = fields.get("id")
    if given_id is not None and not isinstance(given_id, str):
        given_id = str(given_id)
    values: dict[str, Any] = {
        "source": source,
        "url": url,
        "title": title,
        "body": body,
        "published_at": published_at,
        "attributes": _attributes(fields.get("attributes")),
        "source_ref": source_ref,
    }
    if fields.get("language"):
        values["language"] = fields["language"]
    if ingested_at is not None:
        values["ingested_at"] = ingested_at
    if isinstance(title, str) and isinstance(body, str) and isinstance(source, str):
        values["id"] = given_id or item_id(source, url if isinstance(url, str) else None, title, body)
    else:
        values["id"] = given_id or "?"  # the model rejects the wrong types below
    try:
        return NewsItem(**values)
    except ValidationError as exc:
        raise InputError(rejects.VALIDATION, _describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "record"
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


def parsed_or_rejected(fields: Mapping[str, Any], *, ref: str, original: bytes, default_source: str,
                       opts: ReadOptions, ingested_at: datetime | None = None) -> Parsed:
    """``build_item`` that returns a :class:`Rejection` instead of raising."""
    try:
        return build_item(fields, default_source=default_source, opts=opts, ingested_at=ingested_at,
                          source_ref=ref)
    except InputError as exc:
        cause = exc.__cause__
        return reject(exc.reason, ref, original, exc, error_class=type(cause).__name__ if cause else None)


def reject(reason: str, ref: str, original: bytes, exc: BaseException | str,
           *, error_class: str | None = None) -> Rejection:
    """A rejection from an exception (its class is recorded) or a plain message."""
    if isinstance(exc, BaseException):
        return Rejection(reason, ref, original, error_class or type(exc).__name__, str(exc))
    return Rejection(reason, ref, original, error_class or "InputError", exc)
