"""Rejected input: what was wrong, where it came from, and the original bytes.

A rejection is the unit the dead-letter topic receives. The reason codes are a
small closed vocabulary so consumers of ``news.deadletter.v1`` can count and
route them without parsing messages (docs/contracts.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.models import DeadLetter, utcnow

#: reason codes for input rejected before it reaches Kafka
VALIDATION = "validation"  # a field is missing or invalid (e.g. empty title)
DATE = "date"  # published_at missing or unparseable
OVERSIZE = "oversize"  # a field above its size limit, or the encoded record above max_message_bytes
UTF8 = "utf8"  # bytes that are not valid UTF-8, or text with lone surrogates
UNKNOWN_FIELDS = "unknown_fields"  # extra fields/columns, strict mode only
PARSE = "parse"  # the file/line is not valid JSON/CSV/feed (or too deep, or binary), or is empty
DELIVERY = "delivery"  # the client or broker refused the encoded item
REASONS: tuple[str, ...] = (VALIDATION, DATE, OVERSIZE, UTF8, UNKNOWN_FIELDS, PARSE, DELIVERY)

STAGE = "produce"
#: dead letters must fit in a Kafka record; longer originals are cut (and said so)
MAX_ORIGINAL_BYTES = 512 * 1024
#: the texts of a dead letter are cut too, so no message or path can make it too big to send
MAX_MESSAGE_CHARS = 4_096
MAX_REF_CHARS = 4_096


def safe_text(text: str, limit: int) -> str:
    """``text`` made encodable as UTF-8 (surrogates become ``\\udcXX`` escapes) and cut to ``limit`` chars.

    The dead-letter path must never fail: a lone surrogate from a JSON escape or
    an undecodable file name would otherwise make the dead letter itself unencodable.
    """
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"... [cut from {len(text)} chars]"


@dataclass(frozen=True)
class Rejection:
    """One input that will not be published to the raw topic."""

    reason: str
    source_ref: str
    original: bytes
    error_class: str
    message: str
    rejected_at: datetime = field(default_factory=utcnow)

    def to_dead_letter(self, max_original_bytes: int = MAX_ORIGINAL_BYTES) -> DeadLetter:
        """The record for the dead-letter topic: every text sanitised, the original cut to fit."""
        original = bytes(self.original)
        message = safe_text(self.message, MAX_MESSAGE_CHARS)
        limit = max(0, min(max_original_bytes, MAX_ORIGINAL_BYTES))
        if len(original) > limit:
            message = f"{message} [original truncated from {len(original)} to {limit} bytes]"
            original = original[:limit]
        return DeadLetter(
            original=original,
            source_ref=safe_text(self.source_ref, MAX_REF_CHARS),
            error_class=safe_text(self.error_class, 200),
            error_message=message,
            reason=self.reason,
            stage=STAGE,
            failed_at=self.rejected_at,
        )
