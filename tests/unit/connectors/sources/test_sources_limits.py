"""Every class of bad record becomes one rejection with its reason, and the record after it is still read.

Each family below feeds a bad JSONL line (or file) *between* two good ones and
asserts: exactly one rejection, with the expected reason and source ref, the
good items on both sides intact, and the rejection's dead letter encodable
(so the publisher can always send it).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.sources import ReadOptions, Rejection, read_inputs
from connectors.sources.normalize import MIN_PUBLISHED_AT, timestamp_ms
from schemas import models
from schemas.models import NewsItem
from schemas.serde import AvroDeserializer, AvroSerializer

DATE = "2025-05-01T00:00:00Z"
GOOD_BEFORE = json.dumps({"title": "Good before", "published_at": DATE}).encode()
GOOD_AFTER = json.dumps({"title": "Good after", "published_at": DATE}).encode()
encode_dead = AvroSerializer("DeadLetter")


def _around(tmp_path: Path, bad: bytes, suffix: str = ".jsonl", **opts: Any) -> tuple[Rejection, Path]:
    """Read good / bad / good; return the single rejection after checking its neighbours."""
    f = tmp_path / f"in{suffix}"
    f.write_bytes(GOOD_BEFORE + b"\n" + bad + b"\n" + GOOD_AFTER + b"\n")
    out = list(read_inputs([str(f)], ReadOptions(**opts)))
    assert [o.title for o in out if isinstance(o, NewsItem)] == ["Good before", "Good after"], out
    [rejection] = [o for o in out if isinstance(o, Rejection)]
    assert rejection.source_ref == f"{f}:2"
    letter = rejection.to_dead_letter()
    assert AvroDeserializer("DeadLetter")(encode_dead(letter.to_avro()))["reason"] == rejection.reason
    return rejection, f


def _line(**fields: Any) -> bytes:
    return json.dumps({"published_at": DATE, "title": "T", **fields}).encode()


OVERSIZE_FIELDS = {
    "title": lambda n: {"title": "t" * n},
    "body": lambda n: {"body": "b" * n},
    "url": lambda n: {"url": "https://x.test/" + "u" * n},
    "source": lambda n: {"source": "s" * n},
    "id": lambda n: {"id": "i" * n},
    "language": lambda n: {"language": "l" * n},
    "attributes (count)": lambda n: {"attributes": {f"k{i}": "v" for i in range(n)}},
    "attributes (size)": lambda n: {"attributes": {"k": "v" * n}},
}
LIMITS = {
    "title": models.MAX_TITLE_BYTES, "body": 100_000, "url": models.MAX_URL_BYTES - len("https://x.test/"),
    "source": models.MAX_SOURCE_BYTES, "id": models.MAX_ID_BYTES, "language": models.MAX_LANGUAGE_BYTES,
    "attributes (count)": models.MAX_ATTRIBUTES, "attributes (size)": models.MAX_ATTRIBUTES_BYTES - 1,
}


class TestFieldLimits:
    @pytest.mark.parametrize("field", list(OVERSIZE_FIELDS))
    @pytest.mark.parametrize("huge", [False, True])  # just past the limit; the tester's 2 MB / 50 000 entries
    def test_oversize_field_is_rejected_alone(self, tmp_path: Path, field: str, huge: bool) -> None:
        n = (50_000 if "count" in field else 2_000_000) if huge else LIMITS[field] + 1
        rejection, _ = _around(tmp_path, _line(**OVERSIZE_FIELDS[field](n)))
        assert rejection.reason == "oversize", rejection.message

    @pytest.mark.parametrize("field", list(OVERSIZE_FIELDS))
    def test_field_at_its_limit_is_accepted(self, tmp_path: Path, field: str) -> None:
        f = tmp_path / "at.jsonl"
        f.write_bytes(_line(**OVERSIZE_FIELDS[field](LIMITS[field])) + b"\n")
        [item] = list(read_inputs([str(f)], ReadOptions()))
        assert isinstance(item, NewsItem), item
        assert AvroSerializer("NewsItem")(item.to_avro())

    @pytest.mark.parametrize("char", ["é", "中", "😀"])  # limits are UTF-8 bytes, not characters
    def test_title_limit_counts_bytes(self, tmp_path: Path, char: str) -> None:
        n = models.MAX_TITLE_BYTES // len(char.encode()) + 1
        rejection, _ = _around(tmp_path, _line(title=char * n))
        assert rejection.reason == "oversize"


class TestParseFaults:
    @pytest.mark.parametrize("depth", [100, 5_000, 100_000, 1_000_000])
    @pytest.mark.parametrize("brackets", ["[]", "{}"])
    def test_deep_nesting_top_level_or_in_a_field(self, tmp_path: Path, depth: int, brackets: str) -> None:
        open_, close = brackets
        nested = (open_ + '"k":') * depth if open_ == "{" else open_ * depth
        nested = nested[:-4] + "1" if open_ == "{" else nested + "1"
        nested += close * depth
        for bad in (nested.encode(), b'{"title": "deep", "published_at": "' + DATE.encode() + b'", "attributes": '
                    + nested.encode() + b"}"):
            f = tmp_path / f"d{depth}.jsonl"
            f.write_bytes(GOOD_BEFORE + b"\n" + bad + b"\n" + GOOD_AFTER + b"\n")
            out = list(read_inputs([str(f)], ReadOptions()))
            assert [o.title for o in out if isinstance(o, NewsItem)] == ["Good before", "Good after"]
            [rejection] = [o for o in out if isinstance(o, Rejection)]
            assert rejection.reason in ("parse", "validation"), rejection

    def test_deep_nesting_is_a_parse_error_with_its_cause(self, tmp_path: Path) -> None:
        rejection, _ = _around(tmp_path, b"[" * 200_000 + b"]" * 200_000)
        assert (rejection.reason, rejection.error_class) == ("parse", "RecursionError")

    def test_integer_beyond_python_digit_limit(self, tmp_path: Path) -> None:
        rejection, _ = _around(tmp_path, b'{"title": "n", "published_at": ' + b"9" * 5000 + b"}")
        assert rejection.reason == "parse"

    def test_csv_field_above_the_csv_limit_costs_only_its_row(self, tmp_path: Path) -> None:
        f = tmp_path / "big.csv"
        f.write_bytes(b"title,body,published_at\nA,b," + DATE.encode() + b'\nB,"' + b"x" * 200_000
                      + b'",' + DATE.encode() + b'\nC,"two\nlines",' + DATE.encode() + b"\n")
        out = list(read_inputs([str(f)], ReadOptions()))
        assert [o.title for o in out if isinstance(o, NewsItem)] == ["A", "C"]
        [bad] = [o for o in out if isinstance(o, Rejection)]
        assert (bad.reason, bad.source_ref) == ("parse", f"{f}:3") and len(bad.original) > 200_000

    @pytest.mark.parametrize("doc", [
        b"<rss><channel><item><title>x</title>",  # truncated
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><rss>&b;</rss>",
        b"<rss>\x00\x01\x02</rss>",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>&#xd800;</title></entry></feed>",
    ])
    def test_malformed_feeds_are_one_rejection_and_the_next_input_is_read(self, tmp_path: Path,
                                                                          doc: bytes) -> None:
        (tmp_path / "a.xml").write_bytes(doc)
        (tmp_path / "b.jsonl").write_bytes(GOOD_AFTER + b"\n")
        out = list(read_inputs([str(tmp_path)], ReadOptions()))
        assert out[-1].title == "Good after"  # type: ignore[union-attr]
        assert all(isinstance(o, Rejection) for o in out[:-1]) and out[:-1]
        for o in out[:-1]:
            assert encode_dead(o.to_dead_letter().to_avro())  # type: ignore[union-attr]


ENCODING_FAULTS = {
    "invalid byte": (b'{"title": "bad \xff byte", "published_at": "2025-05-01"}', "utf8"),
    "overlong encoding": (b'{"title": "over \xc0\xaf long", "published_at": "2025-05-01"}', "utf8"),
    "truncated sequence": (b'{"title": "cut \xe4\xb8", "published_at": "2025-05-01"}', "utf8"),
    "encoded surrogate": (b'{"title": "s \xed\xa0\x80", "published_at": "2025-05-01"}', "utf8"),
    "lone surrogate in title": (_line(title="a\ud800b"), "utf8"),
    "lone low surrogate in body": (_line(body="x\udfffy"), "utf8"),
    "lone surrogate in attribute key": (_line(attributes={"k\udc00": "v"}), "utf8"),
    "lone surrogate in attribute value": (_line(attributes={"k": "v\ud83d"}), "utf8"),
    "escaped NUL": (_line(title="nul\u0000here"), "validation"),
    "raw NUL in a string": (b'{"title": "raw \x00 nul", "published_at": "2025-05-01"}', "parse"),
    "latin-1 text": ('{"title": "Café", "published_at": "2025-05-01"}'.encode("latin-1"), "utf8"),
}


class TestEncodingFaults:
    @pytest.mark.parametrize("name", list(ENCODING_FAULTS))
    def test_encoding_fault_is_rejected_alone(self, tmp_path: Path, name: str) -> None:
        bad, reason = ENCODING_FAULTS[name]
        rejection, _ = _around(tmp_path, bad)
        assert rejection.reason == reason, rejection.message
        assert rejection.original == bad

    @pytest.mark.parametrize("data,reason", [
        (b"Title\x00with NUL\nbody", "parse"),
        ("Title\nbody".encode("utf-16"), "utf8"),  # BOM ff fe is not UTF-8
        ("Title\nbody".encode("utf-16-le"), "parse"),  # valid UTF-8, full of NULs
        (b"Caf\xe9\nbody", "utf8"),
    ])
    def test_text_files(self, tmp_path: Path, data: bytes, reason: str) -> None:
        (tmp_path / "a.txt").write_bytes(data)
        (tmp_path / "b.txt").write_bytes(b"Next file\nstill read")
        out = list(read_inputs([str(tmp_path)], ReadOptions()))
        assert isinstance(out[0], Rejection) and out[0].reason == reason
        assert isinstance(out[1], NewsItem) and out[1].title == "Next file"


class TestDates:
    @pytest.mark.parametrize("value", [
        "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1900-01-01", 0, -1, "-86400", "0001-01-01T00:00:00+01:00",
        "1970-01-01T00:00:00.0009Z", "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z", 10**30,
    ])
    def test_out_of_range_is_a_date_rejection(self, tmp_path: Path, value: object) -> None:
        rejection, _ = _around(tmp_path, json.dumps({"title": "T", "published_at": value}).encode())
        assert rejection.reason == "date", rejection.message

    @pytest.mark.parametrize("value,ms", [
        ("1970-01-01T00:00:00.001Z", 1), ("1970-01-01T00:00:01Z", 1000), ("1970-01-02T00:00:00+00:00", 86_400_000),
        ("1999-12-31T23:59:59.999Z", 946_684_799_999), (1747038600, 1_747_038_600_000),
    ])
    def test_accepted_dates_give_the_exact_kafka_timestamp(self, tmp_path: Path, value: object, ms: int) -> None:
        f = tmp_path / "d.jsonl"
        f.write_bytes(json.dumps({"title": "T", "published_at": value}).encode())
        [item] = list(read_inputs([str(f)], ReadOptions()))
        assert isinstance(item, NewsItem) and timestamp_ms(item.published_at) == ms
        decoded = AvroDeserializer("NewsItem")(AvroSerializer("NewsItem")(item.to_avro()))
        assert timestamp_ms(decoded["published_at"]) == ms  # the Avro value and the Kafka timestamp agree

    def test_range_bounds(self) -> None:
        assert timestamp_ms(MIN_PUBLISHED_AT) == 1
        assert timestamp_ms(datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=999)) == 0

    @pytest.mark.parametrize("title", ["", " ", "\t\n", "\u200b", "\u3000\u00a0", "\ufeff", "\u2028"])
    def test_empty_or_blank_title(self, tmp_path: Path, title: str) -> None:
        rejection, _ = _around(tmp_path, json.dumps({"title": title, "published_at": DATE}).encode())
        assert rejection.reason == "validation"
