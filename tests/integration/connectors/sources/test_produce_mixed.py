"""A producer run over a folder of good and bad files: every item and every rejection accounted for.

Good items must all be on the raw topic (key = id, timestamp = published_at),
each bad input exactly once on the dead-letter topic with its reason code and
original bytes, and the topic sizes must equal the report's counts exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sources import publish_paths
from schemas.models import DeadLetter, NewsItem
from schemas.serde import AvroDeserializer
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Chip export rules tightened</title><link>https://wire.example/1</link>
<description>New licences are required.</description><pubDate>Tue, 03 Jun 2025 09:00:00 GMT</pubDate></item>
<item><title>Student visa review announced</title><link>https://wire.example/2</link>
<description>Reviews start next month.</description><pubDate>Wed, 04 Jun 2025 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def _line(**fields: object) -> str:
    return json.dumps(fields)


def make_corpus(root: Path) -> tuple[set[str], dict[str, str]]:
    """Write the mixed folder; return (titles of good items, source_ref -> expected reason)."""
    (root / "sub").mkdir()
    (root / "good.txt").write_text("Officials meet in London\nTalks resume on rare earths.\n")
    (root / "sub" / "story.md").write_text(
        "---\npublished_at: 2025-06-09T08:00:00Z\nsource: desk\n---\n# Tariff truce holds\nMarkets calm.\n")
    jsonl = root / "news.jsonl"
    jsonl.write_text("\n".join([
        _line(title="Geneva truce extended", published_at="2025-05-12T08:00:00Z", source="wire"),
        '{"title": "broken json", ',
        _line(body="no title here", published_at="2025-05-12T08:00:00Z"),
        _line(title="Bad date", published_at="the twelfth of never"),
        _line(title="Huge", body="x" * 5000, published_at="2025-05-12T08:00:00Z"),
        _line(title="Labels ignored when lenient", published_at="2025-05-13T08:00:00Z", labels={"a": 1}),
        _line(id="given-id-7", title="Explicit id kept", published_at="2025-05-14T08:00:00Z"),
    ]) + "\n")
    (root / "latin1.txt").write_bytes("Caf\xe9 talks\nbody".encode("latin-1"))
    (root / "empty.txt").write_bytes(b"")
    (root / "feed.rss").write_text(RSS)
    (root / "rows.csv").write_text("title,body,published_at\nCSV one,b,2025-05-01T00:00:00Z\n"
                                   ",missing title,2025-05-01T00:00:00Z\nCSV two,b,2025-05-02T00:00:00Z\n")
    os.utime(root / "good.txt", (1_748_000_000, 1_748_000_000))
    good = {"Officials meet in London", "Tariff truce holds", "Geneva truce extended",
            "Labels ignored when lenient", "Explicit id kept", "Chip export rules tightened",
            "Student visa review announced", "CSV one", "CSV two"}
    bad = {f"{jsonl}:2": "parse", f"{jsonl}:3": "validation", f"{jsonl}:4": "date", f"{jsonl}:5": "oversize",
           str(root / "latin1.txt"): "utf8", str(root / "empty.txt"): "parse",
           f"{root / 'rows.csv'}:3": "validation"}
    return good, bad


def _drain(bootstrap: str, topic: str, group: str, expected: int) -> list[Any]:
    """Every record of the topic; fails unless the high watermark equals ``expected`` exactly."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert high == expected, f"{topic} holds {high} records, expected {expected}"
        consumer.subscribe([topic])
        out: list[Any] = []

        def done() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.append(msg)
            return len(out) >= expected

        if expected:
            wait_for(done, 60, f"{expected} records from {topic}", interval_s=0)
        return out
    finally:
        consumer.close()


def test_mixed_folder_counts_match_exactly(kafka: Any, topic_factory: Callable[..., str], group_id: str,
                                           tmp_path: Path) -> None:
    good, bad = make_corpus(tmp_path)
    raw, dead = topic_factory("raw"), topic_factory("dl")
    report = publish_paths([str(tmp_path)], bootstrap=kafka.bootstrap, topic=raw, deadletter_topic=dead,
                           max_body_bytes=1000)
    assert report.sent == len(good) and report.dead_lettered == len(bad)
    assert {r.source_ref: r.reason for r in report.rejected} == bad

    items = [NewsItem.from_avro(AvroDeserializer("NewsItem")(m.value()))
             for m in _drain(kafka.bootstrap, raw, group_id, len(good))]
    assert {i.title for i in items} == good
    assert sorted(i.id for i in items) == sorted(report.sent_ids)
    assert "given-id-7" in report.sent_ids
    txt = next(i for i in items if i.title == "Officials meet in London")
    assert txt.published_at.timestamp() == 1_748_000_000

    letters = [DeadLetter.from_avro(AvroDeserializer("DeadLetter")(m.value()))
               for m in _drain(kafka.bootstrap, dead, group_id + "-dl", len(bad))]
    assert {d.source_ref: d.reason for d in letters} == bad
    assert all(d.stage == "produce" and d.error_class and d.error_message for d in letters)
    latin = next(d for d in letters if d.reason == "utf8")
    assert latin.original == "Caf\xe9 talks\nbody".encode("latin-1")
    assert next(d for d in letters if d.reason == "date").original.startswith(b'{"title": "Bad date"')


def test_cli_strict_exits_non_zero_and_dead_letters_unknown_fields(
    kafka: Any, topic_factory: Callable[..., str], group_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tension.cli import app

    raw, dead = topic_factory("raw"), topic_factory("dl")
    (tmp_path / "x.jsonl").write_text(
        _line(title="Fine", published_at="2025-05-01T00:00:00Z") + "\n"
        + _line(title="Has labels", published_at="2025-05-01T00:00:00Z", labels=["x"]) + "\n")
    monkeypatch.setenv("TENSION_KAFKA_BOOTSTRAP", kafka.bootstrap)
    monkeypatch.setenv("TENSION_TOPICS__DEADLETTER", dead)
    result = CliRunner().invoke(app, ["produce", str(tmp_path), "--topic", raw, "--strict"])
    assert result.exit_code == 1, result.output
    assert "unknown_fields" in result.output and "sent 1 item(s)" in result.output
    [letter] = [DeadLetter.from_avro(AvroDeserializer("DeadLetter")(m.value()))
                for m in _drain(kafka.bootstrap, dead, group_id, 1)]
    assert letter.reason == "unknown_fields" and letter.source_ref == f"{tmp_path / 'x.jsonl'}:2"
    lenient = CliRunner().invoke(app, ["produce", str(tmp_path), "--topic", raw])
    assert lenient.exit_code == 0, lenient.output
