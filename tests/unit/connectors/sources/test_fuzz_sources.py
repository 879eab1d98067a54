"""Fuzzing the producer's edge: every reader, fed anything, yields valid items or dead-letterable rejections.

The contract under test (issue 13): for arbitrary bytes, and for structures
that look almost right (JSON with any values and nesting, CSV with any cells,
feeds with any text in their elements, mutated valid inputs), each reader in
``connectors.sources`` returns only

* ``NewsItem``s that satisfy the limits and encode to Avro and back unchanged,
  with a Kafka timestamp that is exactly ``published_at``, or
* ``Rejection``s whose reason is in the documented vocabulary and whose dead
  letter encodes and fits in one Kafka record,

and never raises. The decode path (``schemas.serde.AvroDeserializer``) fed
arbitrary or mutated records returns a dict or raises ``SchemaError`` only.

Example counts: ``TENSION_FUZZ_EXAMPLES`` per target (default 60 in
``make test``); ``make fuzz`` / ``bench/fuzz.py`` run 20 000 each.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connectors.sources import REASONS, ReadOptions, Rejection, read_inputs
from connectors.sources.feeds import read_feed
from connectors.sources.inputs import read_one
from connectors.sources.normalize import KNOWN_FIELDS, MAX_PUBLISHED_AT, MIN_PUBLISHED_AT, timestamp_ms
from connectors.sources.producers import DEFAULT_MAX_MESSAGE_BYTES
from connectors.sources.readers import read_csv, read_jsonl, read_text
from schemas import models
from schemas.exceptions import SchemaError
from schemas.models import NewsItem
from schemas.serde import AvroDeserializer, AvroSerializer

EXAMPLES = int(os.environ.get("TENSION_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
OPTS = [ReadOptions(max_body_bytes=2_000), ReadOptions(max_body_bytes=2_000, strict=True)]
encode_item, decode_item = AvroSerializer("NewsItem"), AvroDeserializer("NewsItem")
encode_dead, decode_dead = AvroSerializer("DeadLetter"), AvroDeserializer("DeadLetter")


def check(outputs: list[Any]) -> None:
    """The contract every reader output must satisfy."""
    for out in outputs:
        event(f"rejection: {out.reason}" if isinstance(out, Rejection) else "item")  # shown by make fuzz
        if isinstance(out, Rejection):
            assert out.reason in REASONS, out
            value = encode_dead(out.to_dead_letter().to_avro())
            assert len(value) < DEFAULT_MAX_MESSAGE_BYTES
            assert decode_dead(value)["reason"] == out.reason
            continue
        assert isinstance(out, NewsItem), out
        assert out.title.strip() and MIN_PUBLISHED_AT <= out.published_at < MAX_PUBLISHED_AT
        assert timestamp_ms(out.published_at) >= 1
        assert len(out.attributes) <= models.MAX_ATTRIBUTES
        for name, limit in models.FIELD_LIMITS.items():
            value = getattr(out, name)
            assert value is None or len(value.encode("utf-8")) <= limit
        decoded = decode_item(encode_item(out.to_avro()))
        assert decoded["title"] == out.title and decoded["attributes"] == out.attributes
        assert timestamp_ms(decoded["published_at"]) == timestamp_ms(out.published_at)


def run_all(data: bytes, opts: ReadOptions) -> None:
    """Every reader on the same bytes, and the dispatcher with sniffing (what stdin gets)."""
    check(list(read_text(data, ref="t", name="t", opts=opts, mtime=MIN_PUBLISHED_AT)))
    check(list(read_text(data, ref="m", name="m", opts=opts, mtime=None, markdown=True)))
    check(list(read_jsonl(data, ref="j", name="j", opts=opts)))
    check(list(read_csv(data, ref="c", name="c", opts=opts)))
    check(list(read_feed(data, ref="f", name="f", opts=opts)))
    check(list(read_inputs(["-"], opts, stdin=io.BytesIO(data))))


# -- strategies ---------------------------------------------------------------------------------------
# text with the characters that break things: surrogates, NUL, controls, BOM, separators, astral chars
nasty_text = st.text(st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", " ", "\u200b", "\x00", "\ud800", "\udcff", "\ufeff", "\u2028", "😀", "1970-01-01T00:00:00Z",
     "1969-12-31", "2100-01-01", "0001-01-01T00:00:00+01:00", "-1", "1e400", "Mon, 12 May 2025 08:30:00 GMT"])
dates = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(KNOWN_FIELDS)) | nasty_text
records = st.dictionaries(field_names, json_values, max_size=8).flatmap(
    lambda d: st.builds(lambda title, date, extra: {**d, **extra, "title": title, "published_at": date},
                        nasty_text | json_values, dates,
                        st.dictionaries(st.sampled_from(sorted(KNOWN_FIELDS)), json_values, max_size=3)))


def _deep(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "[" else '{"a":' * depth + "1" + "}" * depth


class TestReadersOnArbitraryBytes:
    @FUZZ
    @given(st.binary(max_size=2_000), st.sampled_from(OPTS))
    def test_any_bytes(self, data: bytes, opts: ReadOptions) -> None:
        run_all(data, opts)

    @FUZZ
    @given(st.lists(st.binary(max_size=80) | st.sampled_from(
        [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\r", b"\n", b'"', b",", b"<", b"{", b"\\u", b"---"]),
        max_size=30).map(b"".join), st.sampled_from(OPTS))
    def test_format_looking_fragments(self, data: bytes, opts: ReadOptions) -> None:
        run_all(data, opts)


class TestJsonl:
    @FUZZ
    @given(st.lists(records.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=60), min_size=1,
                    max_size=6), st.sampled_from(OPTS))
    def test_any_records_each_line_alone(self, lines: list[bytes], opts: ReadOptions) -> None:
        lines = [line.replace(b"\n", b" ") for line in lines]
        out = list(read_jsonl(b"\n".join(lines), ref="j", name="j", opts=opts))
        check(out)
        assert len(out) == max(1, sum(1 for line in lines if line.strip()))  # one outcome per line

    @FUZZ
    @given(st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", "{"]),
           st.sampled_from(["top", "title", "attributes", "unknown"]))
    def test_any_depth_anywhere(self, depth: int, kind: str, where: str) -> None:
        deep = _deep(depth, kind)
        line = deep if where == "top" else (
            '{"title": "t", "published_at": "2025-05-01", "%s": %s}' % (where, deep))
        out = list(read_jsonl(line.encode(), ref="j", name="j", opts=ReadOptions()))
        check(out)
        assert len(out) == 1


class TestCsv:
    @FUZZ
    @given(st.lists(st.sampled_from(["title", "body", "published_at", "url", "attributes", "x"]) | nasty_text,
                    min_size=1, max_size=6),
           st.lists(st.lists(nasty_text | dates.map(str) | json_values.map(json.dumps), max_size=7), max_size=6),
           st.sampled_from(OPTS))
    def test_any_cells(self, header: list[str], rows: list[list[str]], opts: ReadOptions) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        check(list(read_csv(buf.getvalue().encode("utf-8", "surrogatepass"), ref="c", name="c", opts=opts)))


RSS_ITEM = ("<item><title>{0}</title><link>{1}</link><description>{2}</description><pubDate>{3}</pubDate>"
            "<category>{0}</category><guid>{1}</guid><author>{2}</author></item>")
ATOM_ENTRY = ("<entry><title type='html'>{0}</title><link href='{1}'/><id>{1}</id><updated>{3}</updated>"
              "<content type='html'>{2}</content></entry>")


class TestFeeds:
    @FUZZ
    @given(st.lists(st.tuples(nasty_text, nasty_text, nasty_text, dates.map(str)), max_size=4),
           st.booleans(), st.booleans(), st.sampled_from(OPTS))
    def test_any_text_in_the_elements(self, entries: list[tuple[str, ...]], atom: bool, escape: bool,
                                      opts: ReadOptions) -> None:
        from xml.sax.saxutils import escape as xml_escape

        parts = [tuple(xml_escape(p) if escape else p for p in e) for e in entries]
        if atom:
            doc = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>A</title>"
                   + "".join(ATOM_ENTRY.format(*p) for p in parts) + "</feed>")
        else:
            doc = ("<?xml version='1.0'?><rss version='2.0'><channel><title>R</title>"
                   + "".join(RSS_ITEM.format(*p) for p in parts) + "</channel></rss>")
        check(list(read_feed(doc.encode("utf-8", "surrogatepass"), ref="f", name="f", opts=opts)))

    @FUZZ
    @given(st.data())
    def test_mutated_valid_feed(self, data: st.DataObject) -> None:
        doc = bytearray(("<?xml version='1.0'?><rss version='2.0'><channel><title>R</title>"
                         + RSS_ITEM.format("Tariffs", "https://x.test/1", "&lt;b&gt;body&lt;/b&gt;",
                                           "Mon, 12 May 2025 08:30:00 GMT") * 2 + "</channel></rss>").encode())
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(doc) - 1))
            op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
            if op == "flip":
                doc[at] = data.draw(st.integers(0, 255))
            elif op == "cut":
                del doc[at:at + data.draw(st.integers(1, 20))]
            else:
                doc[at:at] = data.draw(st.binary(min_size=1, max_size=10))
            if not doc:
                break
        check(list(read_feed(bytes(doc), ref="f", name="f", opts=ReadOptions())))


class TestDispatch:
    @FUZZ
    @given(st.binary(max_size=500), st.sampled_from(["text", "markdown", "jsonl", "csv", "feed"]))
    def test_read_one_with_any_kind(self, data: bytes, kind: str) -> None:
        check(list(read_one(data, kind=kind, ref="r", name="r", opts=ReadOptions(), mtime=None,
                            meta={"published_at": "2025-05-01"})))


SAMPLE = NewsItem(id="i", source="s", url="https://x.test", title="Tariffs", body="Body " * 20,
                  published_at=MIN_PUBLISHED_AT, attributes={"a": "b", "c": "d"}, source_ref="f:1")
VALID = {"NewsItem": encode_item(SAMPLE.to_avro()),
         "DeadLetter": encode_dead(Rejection("parse", "f:1", b"orig", "E", "m").to_dead_letter().to_avro())}
DECODERS = {"NewsItem": decode_item, "DeadLetter": decode_dead, "ClassifiedItem": AvroDeserializer("ClassifiedItem")}


def decode_contract(name: str, data: bytes) -> None:
    try:
        out = DECODERS[name](data)
    except SchemaError:
        return
    assert isinstance(out, dict)


class TestAvroDecode:
    @FUZZ
    @given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=300))
    def test_arbitrary_bytes(self, name: str, data: bytes) -> None:
        decode_contract(name, data)

    @FUZZ
    @given(st.sampled_from(sorted(VALID)), st.sampled_from(sorted(DECODERS)), st.data())
    def test_mutated_valid_records(self, written: str, reader: str, data: st.DataObject) -> None:
        record = bytearray(VALID[written])
        for _ in range(data.draw(st.integers(1, 6))):
            at = data.draw(st.integers(2 if data.draw(st.booleans()) else 10, len(record) - 1))
            op = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
            if op == "flip":
                record[at] = data.draw(st.integers(0, 255))
            elif op == "cut":
                del record[at:at + data.draw(st.integers(1, 8))]
            elif op == "insert":
                record[at:at] = data.draw(st.binary(min_size=1, max_size=12))
            else:
                del record[at:]
            if len(record) < 12:
                break
        decode_contract(reader, bytes(record))

    @FUZZ
    @given(st.sampled_from(sorted(VALID)), st.binary(max_size=200))
    def test_valid_header_any_body(self, written: str, body: bytes) -> None:
        decode_contract(written, VALID[written][:10] + body)
