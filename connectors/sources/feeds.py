"""RSS 2.0 and Atom feeds, parsed by feedparser.

feedparser copes with the many dialects of real feeds; we only map its
normalised entries onto ``NewsItem`` fields. Entry summaries are HTML, so the
body is reduced to text here: classifiers downstream match words, not tags.
Whatever feedparser or the HTML reduction raises on a hostile document costs
that document (or that entry) as a ``parse`` rejection, never the run.
"""

from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

import feedparser

from connectors.sources import rejects
from connectors.sources.normalize import Parsed, ReadOptions, parsed_or_rejected, reject

log = logging.getLogger(__name__)


class _TextOnly(HTMLParser):
    """Collects the character data of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(fragment: str) -> str:
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _entry_time(entry: Any) -> datetime | str | None:
    """feedparser's parsed UTC struct_time when it has one, else the raw string (so we can reject it)."""
    # dict.get bypasses FeedParserDict's deprecated updated->published key aliasing
    for key in ("published", "updated", "created"):
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
            except (OverflowError, OSError, ValueError):  # a year datetime cannot hold
                return str(dict.get(entry, key) or parsed)
    for key in ("published", "updated", "created"):
        if dict.get(entry, key):
            return str(dict.get(entry, key))
    return None


def _entry_body(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents and contents[0].get("value"):
        return html_to_text(contents[0]["value"])
    return html_to_text(entry.get("summary") or "")


def read_feed(data: bytes, *, ref: str, name: str, opts: ReadOptions) -> Iterator[Parsed]:
    """One item per entry; a feed feedparser cannot read at all is one ``parse`` rejection."""
    if not data.strip():
        yield reject(rejects.PARSE, ref, data, "empty input: no feed document", error_class="EmptyInputError")
        return
    try:
        feed = feedparser.parse(data)
    except Exception as exc:  # noqa: BLE001 - feedparser's failure modes on hostile XML are open-ended
        yield reject(rejects.PARSE, ref, data, f"not an RSS/Atom feed: {exc}")
        return
    if feed.get("bozo") and not feed.entries:
        cause = feed.get("bozo_exception")
        yield reject(rejects.PARSE, ref, data, f"not an RSS/Atom feed: {cause}",
                     error_class=type(cause).__name__ if cause else "FeedParseError")
        return
    if not feed.entries:  # like an empty JSONL or CSV file: said, not silently skipped
        yield reject(rejects.PARSE, ref, data, "empty input: the feed has no entries", error_class="EmptyInputError")
        return
    if feed.get("bozo"):
        log.warning("%s is not well-formed (%s); keeping the %d entries feedparser recovered",
                    ref, feed.get("bozo_exception"), len(feed.entries))
    meta = feed.get("feed", {})
    source = meta.get("title") or name
    language = (meta.get("language") or "").strip() or None
    for index, entry in enumerate(feed.entries, 1):
        try:
            yield _entry_item(entry, ref=f"{ref}#entry{index}", name=name, source=source, language=language,
                              opts=opts)
        except Exception as exc:  # noqa: BLE001 - one unreadable entry must not cost its neighbours
            yield reject(rejects.PARSE, f"{ref}#entry{index}", b"", f"unreadable feed entry: {exc}",
                         error_class=type(exc).__name__)


def _entry_item(entry: Any, *, ref: str, name: str, source: Any, language: str | None,
                opts: ReadOptions) -> Parsed:
    """One entry's fields, validated into an item (or a rejection carrying them as JSON)."""
    published = _entry_time(entry)
    attributes: dict[str, Any] = {}
    if entry.get("author"):
        attributes["author"] = entry["author"]
    tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    if tags:
        attributes["tags"] = ",".join(tags)
    if entry.get("id"):
        attributes["guid"] = entry["id"]
    fields: dict[str, Any] = {
        "title": html_to_text(entry.get("title") or ""),
        "body": _entry_body(entry),
        "url": entry.get("link"),
        "published_at": published,
        "source": source,
        "attributes": attributes,
    }
    if language:
        fields["language"] = language
    original = json.dumps(
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()},
        ensure_ascii=False,
    ).encode("utf-8", errors="surrogatepass")  # a lone surrogate from an XML char ref must not raise
    return parsed_or_rejected(fields, ref=ref, original=original, default_source=name, opts=opts)
