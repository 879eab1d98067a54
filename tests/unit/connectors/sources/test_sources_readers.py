"""Readers turn every kind of bad input into a rejection with the right reason, and never stop."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.sources import ReadOptions, Rejection, parse_datetime, read_inputs
from connectors.sources.exceptions import InputError
from schemas.models import NewsItem, item_id

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><language>en-us</language>
<item><title>Tariff truce extended</title><link>https://example.test/a</link>
<description>&lt;p&gt;Both sides &lt;b&gt;agreed&lt;/b&gt;.&lt;/p&gt;</description>
<pubDate>Mon, 12 May 2025 08:30:00 GMT</pubDate><category>tariffs</category></item>
<item><title>Undated</title><link>https://example.test/b</link><pubDate>someday</pubDate></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atomic</title>
<entry><title>Rare earth permits</title><link href="https://example.test/c"/><id>urn:c</id>
<updated>2025-06-01T10:00:00Z</updated><summary>Permits approved.</summary></entry></feed>"""


def _read(paths: list[Path | str], **kw: object) -> list[NewsItem | Rejection]:
    return list(read_inputs([str(p) for p in paths], ReadOptions(**kw)))  # type: ignore[arg-type]


def test_text_file_title_first_line_mtime_date(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("\nHeadline here\nBody line one.\nBody line two.\n")
    os.utime(f, (1_700_000_000, 1_700_000_000))
    [item] = _read([f])
    assert isinstance(item, NewsItem)
    assert item.title == "Headline here" and item.body == "Body line one.\nBody line two."
    assert item.published_at == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert item.id == item_id("a.txt", None, "Headline here", item.body)


def test_sidecar_and_front_matter(tmp_path: Path) -> None:
    f = tmp_path / "b.txt"
    f.write_text("Title\nBody")
    (tmp_path / "b.txt.meta.json").write_text(json.dumps(
        {"published_at": "2025-05-12T08:30:00Z", "source": "wire", "url": "https://x.test/1"}))
    m = tmp_path / "c.md"
    m.write_text("---\ntitle: From front matter\npublished_at: 2025-06-01T00:00:00+02:00\n---\n# Ignored\ntext\n")
    items = _read([tmp_path])
    assert [type(i).__name__ for i in items] == ["NewsItem", "NewsItem"]  # the sidecar is not an input
    b, c = items
    assert isinstance(b, NewsItem) and isinstance(c, NewsItem)
    assert (b.source, b.url, b.id) == ("wire", "https://x.test/1", item_id("wire", "https://x.test/1", "", ""))
    assert c.title == "From front matter" and c.published_at.isoformat() == "2025-05-31T22:00:00+00:00"


def test_jsonl_each_bad_line_alone(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    lines = [
        json.dumps({"id": "keep-me", "title": "Good", "published_at": "2025-05-01T00:00:00Z", "labels": {}}),
        "{not json",
        json.dumps({"body": "no title", "published_at": "2025-05-01"}),
        json.dumps({"title": "Bad date", "published_at": "yesterday-ish"}),
        json.dumps({"title": "Big", "body": "x" * 50, "published_at": "2025-05-01"}),
        "",
        json.dumps({"title": "Good two", "published_at": 1746057600}),
    ]
    data = "\n".join(lines).encode() + b"\n" + b'{"title": "bad \xff byte", "published_at": "2025-05-01"}\n'
    f.write_bytes(data)
    out = _read([f], max_body_bytes=10)
    kinds = [(o.reason, o.source_ref) if isinstance(o, Rejection) else o.id for o in out]
    assert kinds[0] == "keep-me"
    assert kinds[1:5] == [("parse", f"{f}:2"), ("validation", f"{f}:3"), ("date", f"{f}:4"), ("oversize", f"{f}:5")]
    assert isinstance(out[5], NewsItem) and out[5].published_at.year == 2025
    assert kinds[6] == ("utf8", f"{f}:8")
    assert isinstance(out[6], Rejection) and b"\xff" in out[6].original


def test_strict_rejects_unknown_fields(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"title": "T", "published_at": "2025-05-01", "labels": {"a": 1}}) + "\n")
    [lenient] = _read([f])
    [strict] = _read([f], strict=True)
    assert isinstance(lenient, NewsItem)
    assert isinstance(strict, Rejection) and strict.reason == "unknown_fields" and "labels" in strict.message


def test_csv_rows(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(b'title,body,published_at,extra\nOne,"multi\nline",2025-05-01T00:00:00Z,z\n'
                  b",no title,2025-05-01,\nBad \xfe,b,2025-05-01,\n")
    out = _read([f])
    assert isinstance(out[0], NewsItem) and out[0].body == "multi\nline"
    assert [(o.reason, o.source_ref) for o in out[1:] if isinstance(o, Rejection)] == [
        ("validation", f"{f}:4"), ("utf8", f"{f}:5")]
    [*_, strict_first] = _read([f], strict=True)[:1]
    assert isinstance(strict_first, Rejection) and strict_first.reason == "unknown_fields"


def test_feeds(tmp_path: Path) -> None:
    (tmp_path / "wire.rss").write_bytes(RSS)
    (tmp_path / "atomic.atom").write_bytes(ATOM)
    (tmp_path / "broken.xml").write_bytes(b"plain words, no markup at all")
    out = _read([tmp_path])
    by_ref = {o.source_ref if isinstance(o, Rejection) else o.title: o for o in out}
    atom = by_ref["Rare earth permits"]
    assert isinstance(atom, NewsItem) and atom.url == "https://example.test/c" and atom.source == "Atomic"
    rss = by_ref["Tariff truce extended"]
    assert isinstance(rss, NewsItem) and rss.body == "Both sides agreed ." and rss.language == "en-us"
    assert rss.published_at == datetime(2025, 5, 12, 8, 30, tzinfo=timezone.utc)
    assert rss.attributes["tags"] == "tariffs"
    assert by_ref[f"{tmp_path / 'wire.rss'}#entry2"].reason == "date"  # type: ignore[union-attr]
    assert by_ref[str(tmp_path / "broken.xml")].reason == "parse"  # type: ignore[union-attr]


def test_empty_missing_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    out = _read([tmp_path, tmp_path / "nope.txt"])
    assert [o.reason for o in out if isinstance(o, Rejection)] == ["parse", "parse", "parse"]
    stdin = io.BytesIO(b'{"title": "From a pipe", "published_at": "2025-05-01"}\n')
    [item] = list(read_inputs(["-"], ReadOptions(), stdin=stdin))
    assert isinstance(item, NewsItem) and item.source == "stdin"


@pytest.mark.parametrize("text,expected", [
    ("2025-05-12T08:30:00Z", "2025-05-12T08:30:00+00:00"),
    ("2025-05-12 10:30:00+02:00", "2025-05-12T08:30:00+00:00"),
    ("Mon, 12 May 2025 08:30:00 GMT", "2025-05-12T08:30:00+00:00"),
    ("1747038600", "2025-05-12T08:30:00+00:00"),
    (1747038600000, "2025-05-12T08:30:00+00:00"),
])
def test_dates(text: object, expected: str) -> None:
    assert parse_datetime(text).isoformat() == expected


def test_future_date_rejected() -> None:
    with pytest.raises(InputError) as err:
        from connectors.sources import build_item
        build_item({"title": "t", "published_at": "2999-01-01"}, default_source="s", opts=ReadOptions())
    assert err.value.reason == "date"


def test_url_input_served_on_loopback(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    (tmp_path / "feed.rss").write_bytes(RSS)
    (tmp_path / "plain").write_bytes(ATOM)  # no suffix: sniffed as a feed
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        out = _read([f"{base}/feed.rss", f"{base}/plain", f"{base}/missing.jsonl"])
    finally:
        server.shutdown()
        server.server_close()
    titles = [o.title for o in out if isinstance(o, NewsItem)]
    assert titles == ["Tariff truce extended", "Rare earth permits"]
    assert [(o.reason, o.source_ref) for o in out if isinstance(o, Rejection)] == [
        ("date", f"{base}/feed.rss#entry2"), ("parse", f"{base}/missing.jsonl")]


def test_time_ordered_backfill_puts_rejections_first_then_items_by_time() -> None:
    from datetime import datetime, timedelta, timezone

    from connectors.sources.publisher import time_ordered
    from connectors.sources.rejects import Rejection
    from schemas.models import NewsItem

    t0 = datetime(2025, 6, 9, tzinfo=timezone.utc)
    items = [NewsItem(id=f"i{h}", source="t", title=f"item {h}", published_at=t0 + timedelta(hours=h))
             for h in (5, 1, 3, 1)]
    bad = Rejection.__new__(Rejection)  # only its type matters here
    ordered = time_ordered([items[0], bad, items[1], items[2], items[3]])
    assert ordered[0] is bad
    assert [i.id for i in ordered[1:]] == ["i1", "i1", "i3", "i5"]
    assert ordered[1] is items[1] and ordered[2] is items[3]  # ties keep their input order
