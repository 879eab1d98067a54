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
OVERSIZE = "oversize"  # body longer than max_body_bytes (UTF-8)
UTF8 = "utf8"  # bytes that are not valid UTF-8
UNKNOWN_FIELDS = "unknown_fields"  # extra fields/columns, strict mode only
PARSE = "parse"  # the file/line is not valid JSON/CSV/feed, or is empty
DELIVERY = "delivery"  # the broker refused the encoded item
REASONS: tuple[str, ...] = (VALIDATION, DATE, OVERSIZE, UTF8, UNKNOWN_FIELDS, PARSE, DELIVERY)

STAGE = "produce"
#: dead letters must fit in a Kafka record; longer originals are cut (and said so)
MAX_ORIGINAL_BYTES = 512 * 1024


@dataclass(frozen=True)
class Rejection:
    """One input that will not be published to the raw topic."""

    reason: str
    source_ref: str
    original: bytes
    error_class: str
    message: str
    rejected_at: datetime = field(default_factory=utcnow)

    def to_dead_letter(self) -> DeadLetter:
        original = self.original
        message = self.message
        if len(original) > MAX_ORIGINAL_BYTES:
            message = f"{message} [original truncated from {len(original)} to {MAX_ORIGINAL_BYTES} bytes]"
            original = original[:MAX_ORIGINAL_BYTES]
        return DeadLetter(
            original=original,
            source_ref=self.source_ref,
            error_class=self.error_class,
            error_message=message,
            reason=self.reason,
            stage=STAGE,
            failed_at=self.rejected_at,
        )
