"""The worker refuses what the producer refuses, and its dead letters always fit a Kafka record."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.exceptions import DecodeError
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.agents.checks import EARLIEST_MS, MAX_FUTURE_MS, check_event_time, check_item
from schemas.deadletters import MAX_ORIGINAL_BYTES, cut_key, dead_letter, original_budget
from streams.exceptions import BadEventTime, InvalidRecord
from streams.sending import BROKER_MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES

NOW = 1_765_000_000_000


def news(**extra: object) -> dict[str, object]:
    return {"id": "a", "source": "s", "url": None, "title": "Tariffs", "body": "", "language": "en",
            "published_at": datetime(2025, 3, 1, tzinfo=timezone.utc), "ingested_at": datetime.now(timezone.utc),
            "attributes": {}, "source_ref": None, **extra}


@settings(max_examples=60, deadline=None)
@given(tail=st.binary(min_size=1, max_size=64), name=st.sampled_from(["NewsItem", "DeadLetter"]))
def test_trailing_bytes_after_the_avro_body_are_a_decode_error(tail: bytes, name: str) -> None:
    record = news() if name == "NewsItem" else {
        "original": b"x", "error_class": "E", "error_message": "m", "reason": "decode", "stage": "classify",
        "failed_at": datetime.now(timezone.utc)}
    value = AvroSerializer(name)(record)
    AvroDeserializer(name)(value)  # the exact bytes decode
    with pytest.raises(DecodeError, match="trailing"):
        AvroDeserializer(name)(value + tail)


@pytest.mark.parametrize("field", ["title", "id", "source"])
@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u00a0\u2003"])
def test_blank_required_text_is_invalid(field: str, blank: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        check_item(news(**{field: blank}))
    assert info.value.reason == "validation"


def test_a_real_title_passes() -> None:
    check_item(news(title=" x "))


BAD_TIMES = [math.inf, -math.inf, math.nan, 1e300, -1e300, -1, 0.5, EARLIEST_MS - 1,
             NOW + MAX_FUTURE_MS + 1, 2**63, "1740000000000", None, True, [1]]


@pytest.mark.parametrize("ts", BAD_TIMES, ids=repr)
def test_event_time_outside_the_product_range_is_rejected(ts: object) -> None:
    with pytest.raises(BadEventTime) as info:
        check_event_time(ts, now_ms=NOW)
    assert info.value.reason == "date"


@given(ts=st.integers(EARLIEST_MS, NOW + MAX_FUTURE_MS))
def test_event_time_inside_the_range_is_kept(ts: int) -> None:
    assert check_event_time(ts, now_ms=NOW) == ts
    assert check_event_time(float(ts), now_ms=NOW) == ts


LIMITS = [1_000_000, BROKER_MAX_MESSAGE_BYTES, 200_000, 64 * 1024]


@settings(max_examples=40, deadline=None)
@given(size=st.sampled_from([0, 1, MAX_ORIGINAL_BYTES, MAX_ORIGINAL_BYTES + 1, 999_990, 1_048_576, 3_000_000]),
       key_size=st.sampled_from([0, 36, 16 * 1024, 1_000_000]), limit=st.sampled_from(LIMITS),
       message=st.text(max_size=5000))
def test_a_dead_letter_fits_the_record_limit(size: int, key_size: int, limit: int, message: str) -> None:
    original, key = b"\xc3" * size, b"k" * key_size
    budget = original_budget(limit)
    value = dead_letter(original, key, ValueError(message), stage="classify", reason="oversize",
                        topic="t", partition=0, offset=1, max_original=budget, encode=AvroSerializer("DeadLetter"))
    assert len(value) + len(cut_key(key) or b"") + RECORD_OVERHEAD_BYTES <= limit
    letter = AvroDeserializer("DeadLetter")(value)
    assert letter["original"] == original[:budget]
    assert letter["original_size"] == (size if size > budget else None)
