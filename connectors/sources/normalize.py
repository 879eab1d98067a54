"""Turn the loose fields read from some input into a validated ``NewsItem``.

Every reader (text, JSONL, CSV, feed) produces a plain dict of fields and hands
it here, so the rules — which fields are known, how dates are read, how big a
body may be, what strict mode rejects — live in one place and every format
rejects bad input with the same reason codes.

Limits (docs/contracts.md, "Limits"): every text field has a size bound in
UTF-8 bytes (``schemas.models.FIELD_LIMITS``, the body's is ``max_body_bytes``),
the attributes a count and a total size, and ``published_at`` a range that a
Kafka record timestamp can carry exactly.
"""

from __future__ import annotations

import email.utils
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from connectors.sources import rejects
from connectors.sources.exceptions import InputError
from connectors.sources.rejects import Rejection
from schemas.models import (
    FIELD_LIMITS,
    MAX_ATTRIBUTES,
    MAX_ATTRIBUTES_BYTES,
    NewsItem,
    item_id,
    utf8_len,
)

log = logging.getLogger(__name__)

KNOWN_FIELDS: frozenset[str] = frozenset(
    {"id", "title", "body", "published_at", "source", "url", "language", "attributes"}
)
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # what ``surrogateescape`` makes of an invalid byte
_SURROGATE = re.compile("[\ud800-\udfff]")  # any surrogate: not encodable as UTF-8
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
#: Kafka 4 brokers refuse record timestamps more than an hour ahead
#: (log.message.timestamp.after.max.ms); such a date is a data error, say so early.
MAX_FUTURE = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The accepted range of ``published_at``: the Kafka timestamp is ms since the epoch and
#: must be positive (librdkafka reads 0 as "stamp it now", negative ones are not CreateTimes).
MIN_PUBLISHED_AT = EPOCH + timedelta(milliseconds=1)
MAX_PUBLISHED_AT = datetime(2100, 1, 1, tzinfo=timezone.utc)  # exclusive


def timestamp_ms(when: datetime) -> int:
    """Milliseconds since the epoch, exact (integer arithmetic, truncated like Avro's timestamp-millis)."""
    return (when - EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class ReadOptions:
    """Limits every reader applies; passed down from the caller, never read from the environment.

    ``max_body_bytes`` is the one configurable field bound; the others are part
    of the contract (``schemas.models.FIELD_LIMITS``).
    """

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
                except (TypeError, ValueError, IndexError, OverflowError):
                    raise InputError(rejects.DATE, f"published_at is not a date: {text[:80]!r}") from None
    elif value is None or value == "":
        raise InputError(rejects.DATE, "published_at is missing")
    else:
        raise InputError(rejects.DATE, f"published_at has type {type(value).__name__}, expected a date string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent
        raise InputError(rejects.DATE, f"published_at out of range: {str(value)[:80]!r}") from None


def _from_epoch(number: float) -> datetime:
    # Values above ~5138 AD in seconds are taken as milliseconds.
    try:
        seconds = number / 1000.0 if abs(number) >= 1e11 else number
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InputError(rejects.DATE, f"published_at epoch value out of range: {number}") from None


def _check_text(fields: Mapping[str, Any]) -> None:
    """Every text must be encodable as UTF-8 and free of NUL characters.

    Readers decode with ``surrogateescape``, so a surrogate in U+DC80..U+DCFF
    marks an invalid input byte; any other surrogate is a lone one from a JSON
    ``\\ud800``-style escape. Neither can be encoded, so both are ``utf8``.
    NUL is valid UTF-8 but no text field may carry it (PostgreSQL text refuses it).
    """
    for key, value in fields.items():
        texts = [*value.keys(), *value.values()] if isinstance(value, Mapping) else [key, value]
        for text in texts:
            if not isinstance(text, str):
                continue
            if _SURROGATE.search(text):
                what = ("bytes that are not valid UTF-8" if _ESCAPED_BYTE.search(text)
                        else "a lone surrogate (not encodable as UTF-8)")
                raise InputError(rejects.UTF8, f"field {_name(key)} contains {what}")
            if "\x00" in text:
                raise InputError(rejects.VALIDATION, f"field {_name(key)} contains a NUL character")


def _name(key: object) -> str:
    return repr(str(key).encode("utf-8", "backslashreplace").decode()[:80])


def _check_sizes(fields: Mapping[str, Any], opts: ReadOptions) -> None:
    """Every field within its byte limit, before anything is built from it (reason ``oversize``)."""
    limits = {**FIELD_LIMITS, "body": opts.max_body_bytes}
    for key, limit in limits.items():
        value = fields.get(key)
        if isinstance(value, str) and utf8_len(value) > limit:
            raise InputError(rejects.OVERSIZE, f"{key} is {utf8_len(value)} bytes, limit is {limit}")
    attributes = fields.get("attributes")
    if isinstance(attributes, Mapping):
        if len(attributes) > MAX_ATTRIBUTES:
            raise InputError(rejects.OVERSIZE, f"{len(attributes)} attributes, limit is {MAX_ATTRIBUTES}")
        size = sum(utf8_len(str(k)) + (utf8_len(v) if isinstance(v, str) else 0) for k, v in attributes.items())
        if size > MAX_ATTRIBUTES_BYTES:
            raise InputError(rejects.OVERSIZE, f"attributes are {size} bytes, limit is {MAX_ATTRIBUTES_BYTES}")


def _check_published_at(published_at: datetime) -> None:
    """Only dates a Kafka CreateTime can carry exactly, and none from the future."""
    if published_at < MIN_PUBLISHED_AT:
        raise InputError(rejects.DATE, f"published_at {published_at.isoformat()} is before "
                                       f"{MIN_PUBLISHED_AT.isoformat()} (no Kafka timestamp for it)")
    if published_at >= MAX_PUBLISHED_AT or published_at > datetime.now(timezone.utc) + MAX_FUTURE:
        raise InputError(rejects.DATE, f"published_at {published_at.isoformat()} is in the future")


def _blank(text: str) -> bool:
    """No visible character: only separators, control and format characters (e.g. U+200B)."""
    return all(unicodedata.category(ch)[0] in "ZC" for ch in text)


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
    if sum(utf8_len(k) + utf8_len(v) for k, v in out.items()) > MAX_ATTRIBUTES_BYTES:
        raise InputError(rejects.OVERSIZE, f"attributes exceed {MAX_ATTRIBUTES_BYTES} bytes as text")
    return out


def build_item(fields: Mapping[str, Any], *, default_source: str, opts: ReadOptions,
               ingested_at: datetime | None = None, source_ref: str | None = None) -> NewsItem:
    """Validate one record's fields; raise :class:`InputError` with a reason code."""
    known = {k: v for k, v in fields.items() if k in KNOWN_FIELDS}
    _check_text(known if not opts.strict else fields)
    unknown = sorted(str(k) for k in fields if k not in KNOWN_FIELDS)
    if unknown and opts.strict:
        shown = ", ".join(unknown[:20]) + (f" (+{len(unknown) - 20} more)" if len(unknown) > 20 else "")
        raise InputError(rejects.UNKNOWN_FIELDS, f"unknown field(s) in strict mode: {shown}")
    _check_sizes(fields, opts)
    title = fields.get("title")
    if isinstance(title, str) and _blank(title):
        raise InputError(rejects.VALIDATION, "title is empty or blank")
    published_at = parse_datetime(fields.get("published_at"))
    _check_published_at(published_at)
    body = fields.get("body")
    body = "" if body is None else body
    source = fields.get("source") or default_source
    url = fields.get("url") or None
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
        "source_ref": None if source_ref is None else _safe_ref(source_ref),
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


def _safe_ref(ref: str) -> str:
    """A file name need not be UTF-8: escape what cannot be encoded, keep it within its limit."""
    data = ref.encode("utf-8", errors="backslashreplace")[:FIELD_LIMITS["source_ref"]]
    return data.decode("utf-8", errors="ignore")


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
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:  # pragma: no cover - a reader bug
        log.warning("%s: unexpected %s while validating: %s", ref, type(exc).__name__, exc)
        return reject(rejects.VALIDATION, ref, original, exc)


def reject(reason: str, ref: str, original: bytes, exc: BaseException | str,
           *, error_class: str | None = None) -> Rejection:
    """A rejection from an exception (its class is recorded) or a plain message."""
    if isinstance(exc, BaseException):
        return Rejection(reason, ref, original, error_class or type(exc).__name__, str(exc))
    return Rejection(reason, ref, original, error_class or "InputError", exc)
