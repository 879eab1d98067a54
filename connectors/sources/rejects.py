"""Rejected input: what was wrong, where it came from, and the original bytes.

A rejection is the unit the dead-letter topic receives from `tension produce`.
Its reason is one of :class:`schemas.deadletters.Reason` (the one vocabulary of
every stage, so consumers of ``news.deadletter.v1`` can count and route letters
without parsing messages); the letter itself is built by
:func:`schemas.deadletters.build`, like every other stage's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.deadletters import MAX_ORIGINAL_BYTES, Reason, build, safe_text
from schemas.models import DeadLetter, utcnow

__all__ = ["REASONS", "Rejection", "safe_text", "STAGE", "MAX_ORIGINAL_BYTES"]

#: the reasons of input rejected before it reaches Kafka (a subset of Reason)
VALIDATION = Reason.VALIDATION
DATE = Reason.DATE
OVERSIZE = Reason.OVERSIZE
UTF8 = Reason.UTF8
UNKNOWN_FIELDS = Reason.UNKNOWN_FIELDS
PARSE = Reason.PARSE
DELIVERY = Reason.DELIVERY
REASONS: tuple[str, ...] = (VALIDATION, DATE, OVERSIZE, UTF8, UNKNOWN_FIELDS, PARSE, DELIVERY)

STAGE = "produce"


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
        return build(self.original, reason=self.reason, stage=STAGE, error_class=self.error_class,
                     error_message=self.message, source_ref=self.source_ref, failed_at=self.rejected_at,
                     max_original=max_original_bytes)
