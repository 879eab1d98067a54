"""Validation of every query parameter the API accepts, before anything reaches SQL.

Each endpoint declares the parameters it knows; anything else is rejected
(a typo like ``categroy=`` should fail loudly, not silently show everything).
Values are parsed into typed Python values here so the store only ever binds
validated parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

from dashboard.errors import InvalidParameter

CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
KINDS = ("hopping", "tumbling")
MAX_CATEGORIES = 32
MAX_VALUE_LEN = 2000


def check_known(query: Mapping[str, str], allowed: set[str]) -> None:
    """Reject unknown and repeated-too-long parameters."""
    for key, value in query.items():
        if key not in allowed:
            raise InvalidParameter(key, f"unknown parameter; allowed: {', '.join(sorted(allowed)) or 'none'}")
        if len(value) > MAX_VALUE_LEN:
            raise InvalidParameter(key, f"longer than {MAX_VALUE_LEN} characters")


def category(value: str | None, *, required: bool = False, name: str = "category") -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidParameter(name, "required")
        return None
    if not CATEGORY_RE.match(value):
        raise InvalidParameter(name, "a category is lower-case letters, digits and '_' (e.g. tariffs)")
    return value


def categories(value: str | None, name: str = "category") -> list[str] | None:
    """Comma-separated category names; None means all."""
    if value is None or value.strip() == "":
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if len(names) > MAX_CATEGORIES:
        raise InvalidParameter(name, f"at most {MAX_CATEGORIES} categories")
    for n in names:
        category(n, name=name)
    return list(dict.fromkeys(names))


def kinds(value: str | None, name: str = "kind") -> list[str]:
    """``hopping``, ``tumbling`` or ``all`` (the default)."""
    if value is None or value in ("", "all"):
        return list(KINDS)
    if value not in KINDS:
        raise InvalidParameter(name, "one of hopping, tumbling, all")
    return [value]


def kind(value: str | None, name: str = "kind") -> str:
    """Exactly one window kind; hopping by default."""
    if value is None or value == "":
        return "hopping"
    if value not in KINDS:
        raise InvalidParameter(name, "one of hopping, tumbling")
    return value


def timestamp(value: str | None, name: str, *, required: bool = False) -> datetime | None:
    """ISO 8601 (``2025-06-09T00:00:00Z``; naive means UTC) → aware UTC datetime."""
    if value is None or value == "":
        if required:
            raise InvalidParameter(name, "required (ISO 8601, e.g. 2025-06-09T00:00:00Z)")
        return None
    try:
        # an unescaped "+01:00" arrives as " 01:00" after URL decoding
        dt = datetime.fromisoformat(re.sub(r" (\d\d:?\d\d)$", r"+\1", value.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidParameter(name, "not an ISO 8601 timestamp (e.g. 2025-06-09T00:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    if not 1970 <= dt.year <= 2200:
        raise InvalidParameter(name, "year out of range 1970..2200")
    return dt.astimezone(timezone.utc)


def integer(value: str | None, name: str, *, default: int, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    if not re.fullmatch(r"[0-9]{1,12}", value):
        raise InvalidParameter(name, f"an integer from {lo} to {hi}")
    number = int(value)
    if not lo <= number <= hi:
        raise InvalidParameter(name, f"an integer from {lo} to {hi}")
    return number


def time_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidParameter("until", "must be later than since")
