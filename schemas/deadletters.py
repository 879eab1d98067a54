"""The dead-letter record, built in one place for every stage: bad input is data, never dropped.

The producer (stage ``produce``), both worker stages (``classify``, ``index``)
and the sinks (``sink:<store>``) all send what they cannot process to the
dead-letter topic as a ``DeadLetter``; this module is the one place that fills
its fields (:func:`build`) and the one list of reasons (:class:`Reason`), so a
consumer of the topic can count and route letters without knowing which stage
wrote them. The caller encodes the letter with the dead-letter topic's own
serializer (``schemas.serde.TopicSerdes.serializer("deadletter")``): single-object
encoding on the embedded default, Confluent framing with a registry.

A dead letter must itself fit in a Kafka record, or the record that failed
(often *because* it was big) would be lost with it: ``original`` is cut to at
most :data:`MAX_ORIGINAL_BYTES` (``original_size``, DeadLetter v2, keeps its
real length), the key and the texts are cut too and made encodable, and
:func:`original_budget` says how much of ``original`` fits a given record limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from schemas.models import DeadLetter, utcnow


class Reason(StrEnum):
    """Every reason a dead letter may carry (docs/contracts.md, "Dead letters", says when each is used)."""

    # input rejected by `tension produce` before it reaches Kafka
    VALIDATION = "validation"  # a field is missing or invalid (e.g. empty title)
    DATE = "date"  # published_at / the event time missing, unparseable or out of range
    OVERSIZE = "oversize"  # a field above its limit, or an encoded record above the record limit
    UTF8 = "utf8"  # bytes that are not valid UTF-8, or text with lone surrogates
    UNKNOWN_FIELDS = "unknown_fields"  # extra fields/columns, strict mode only
    PARSE = "parse"  # not valid JSON/CSV/feed (or too deep, or binary), or empty
    DELIVERY = "delivery"  # the client or broker refused the encoded record
    # the worker stages
    DECODE = "decode"  # not Avro of a known version, or an index fact that is not one
    SCHEMA = "schema"  # a single-object fingerprint no catalog schema has
    CLASSIFIER = "classifier"  # the classifier raised
    ENCODE = "encode"  # the output record could not be encoded
    INDEX = "index"  # folding a fact into the window state raised
    LATE = "late"  # older than the watermark
    STREAM = "stream"  # any other processing error of the topology
    DEADLETTER = "deadletter"  # a dead letter itself could not be delivered
    # the sinks
    CONSTRAINT = "constraint"  # the store refused the record on its own (e.g. a check constraint)


#: dead letters must fit in a Kafka record; longer originals are cut (and said so)
MAX_ORIGINAL_BYTES = 512 * 1024  # far below the 1 MB producer limit
MAX_KEY_BYTES = 16 * 1024
#: the texts are cut too, so no message or path can make a letter too big to send
MAX_MESSAGE_CHARS = 4_096
MAX_REF_CHARS = 4_096
MAX_CLASS_CHARS = 200
_NOTE_CHARS = 64  # what safe_text may add when it cuts
# Room a letter needs beyond ``original``: the key twice (record key and original_key), the texts
# at up to 4 UTF-8 bytes a character, and the fixed fields.
LETTER_OVERHEAD_BYTES = (2 * MAX_KEY_BYTES + 4 * (MAX_MESSAGE_CHARS + MAX_REF_CHARS + MAX_CLASS_CHARS + 3 * _NOTE_CHARS)
                         + 2048)


def original_budget(max_record_bytes: int) -> int:
    """How much of ``original`` a dead letter can carry and still fit a record of ``max_record_bytes``."""
    return max(0, min(MAX_ORIGINAL_BYTES, max_record_bytes - LETTER_OVERHEAD_BYTES))


def cut_key(key: bytes | None) -> bytes | None:
    """The key a dead letter carries (as record key and ``original_key``): at most MAX_KEY_BYTES."""
    return None if key is None else bytes(key[:MAX_KEY_BYTES])


def safe_text(text: str, limit: int) -> str:
    """``text`` made encodable as UTF-8 (surrogates become ``\\udcXX`` escapes) and cut to ``limit`` chars.

    The dead-letter path must never fail: a lone surrogate from a JSON escape or
    an undecodable file name would otherwise make the dead letter itself unencodable.
    """
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"... [cut from {len(text)} chars]"


def build(original: bytes | bytearray | memoryview | None, *, reason: Reason | str, stage: str, error_class: str,
          error_message: str, key: bytes | None = None, topic: str | None = None, partition: int | None = None,
          offset: int | None = None, source_ref: str | None = None, attempt: int = 1,
          failed_at: datetime | None = None, max_original: int = MAX_ORIGINAL_BYTES) -> DeadLetter:
    """The ``DeadLetter`` for one record that failed at ``stage``, read from topic/partition/offset.

    ``original`` is cut to ``max_original`` bytes (at most :data:`MAX_ORIGINAL_BYTES`;
    see :func:`original_budget`) and the message says so first, so the note survives
    the message's own cut. ``reason`` must be a :class:`Reason` (ValueError otherwise).
    """
    original = bytes(original or b"")
    limit = max(0, min(max_original, MAX_ORIGINAL_BYTES))
    notes = []
    if key is not None and len(key) > MAX_KEY_BYTES:
        notes.append(f"[key truncated from {len(key)} to {MAX_KEY_BYTES} bytes]")
    cut = len(original) > limit
    if cut:
        notes.append(f"[original truncated from {len(original)} to {limit} bytes]")
    return DeadLetter(
        original=original[:limit],
        original_size=len(original) if cut else None,
        original_key=cut_key(key),
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        source_ref=None if source_ref is None else safe_text(source_ref, MAX_REF_CHARS),
        error_class=safe_text(error_class, MAX_CLASS_CHARS),
        error_message=safe_text(" ".join([*notes, error_message]), MAX_MESSAGE_CHARS),
        reason=Reason(reason).value,
        stage=stage,
        attempt=attempt,
        failed_at=failed_at or utcnow(),
    )


def dead_letter(original: bytes | bytearray | memoryview | None, key: bytes | None, error: BaseException, *,
                stage: str, reason: Reason | str, topic: str | None, partition: int | None, offset: int | None,
                encode: Callable[[dict[str, Any]], bytes], attempt: int = 1,
                max_original: int = MAX_ORIGINAL_BYTES) -> bytes:
    """:func:`build` for an exception, encoded with ``encode``, the dead-letter topic's serializer."""
    letter = build(original, reason=reason, stage=stage, error_class=type(error).__name__, error_message=str(error),
                   key=key, topic=topic, partition=partition, offset=offset, attempt=attempt,
                   max_original=max_original)
    return encode(letter.to_avro())
