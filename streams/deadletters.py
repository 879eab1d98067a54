"""Turn a failed record into a DeadLetter record: bad input is data, never dropped."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.serde import AvroSerializer

_serialize = AvroSerializer("DeadLetter")


def dead_letter(original: bytes | None, key: bytes | None, error: Exception, *, stage: str, reason: str,
                topic: str | None, partition: int | None, offset: int | None, attempt: int = 1) -> bytes:
    """Encode a DeadLetter for `original` as it was read from topic/partition/offset."""
    return _serialize({
        "original": original or b"",
        "original_key": key,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "source_ref": None,
        "error_class": type(error).__name__,
        "error_message": str(error)[:2000],
        "reason": reason,
        "stage": stage,
        "attempt": attempt,
        "failed_at": datetime.now(timezone.utc),
    })
