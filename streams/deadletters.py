"""Turn a failed record into a DeadLetter record: bad input is data, never dropped.

A dead letter must itself fit in a Kafka record, or the record that failed
(often *because* it was big) would be lost with it: ``original`` is cut to
:data:`MAX_ORIGINAL_BYTES` and ``original_size`` (DeadLetter v2) keeps its real
length; the key and the message are cut too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from schemas.serde import AvroSerializer

MAX_ORIGINAL_BYTES = 512 * 1024  # same cut as `tension produce`; far below the 1 MB producer limit
MAX_KEY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000
# Room a dead letter needs beyond ``original``: key (twice: record key and original_key), message, the rest.
LETTER_OVERHEAD_BYTES = 2 * MAX_KEY_BYTES + 4 * MAX_MESSAGE_CHARS + 2048


def original_budget(max_record_bytes: int) -> int:
    """How much of ``original`` a dead letter can carry and still fit a record of ``max_record_bytes``."""
    return max(0, min(MAX_ORIGINAL_BYTES, max_record_bytes - LETTER_OVERHEAD_BYTES))

# single-object encoding; a worker with a registry passes its own (Confluent-framed) encoder
_serialize = AvroSerializer("DeadLetter")


def cut_key(key: bytes | None) -> bytes | None:
    """The key a dead letter carries (as record key and ``original_key``): at most MAX_KEY_BYTES."""
    return None if key is None else key[:MAX_KEY_BYTES]


def dead_letter(original: bytes | None, key: bytes | None, error: Exception, *, stage: str, reason: str,
                topic: str | None, partition: int | None, offset: int | None, attempt: int = 1,
                max_original: int = MAX_ORIGINAL_BYTES,
                encode: Callable[[dict[str, Any]], bytes] | None = None) -> bytes:
    """Encode a DeadLetter for `original` as it was read from topic/partition/offset.

    ``original`` is cut to ``max_original`` bytes (see :func:`original_budget`).
    ``encode`` is the dead-letter topic's serializer (``TopicSerdes``); None: single-object encoding.
    """
    original = bytes(original or b"")
    cut = len(original) > max_original
    message = str(error)
    if cut:
        message = f"[original cut to {max_original} of {len(original)} bytes] {message}"
    if key is not None and len(key) > MAX_KEY_BYTES:
        message = f"[key cut to {MAX_KEY_BYTES} of {len(key)} bytes] {message}"
    return (encode or _serialize)({
        "original": original[:max_original],
        "original_size": len(original) if cut else None,
        "original_key": cut_key(key),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "source_ref": None,
        "error_class": type(error).__name__,
        "error_message": message[:MAX_MESSAGE_CHARS],
        "reason": reason,
        "stage": stage,
        "attempt": attempt,
        "failed_at": datetime.now(timezone.utc),
    })
