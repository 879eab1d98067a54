"""`tension produce` against the real broker, with both clients: every class of bad record is one dead
letter with its reason, every good record around it (before AND after) is on the raw topic with
Kafka timestamp = published_at, and the exit code is the documented one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sources.exceptions import RecordError
from connectors.sources.producers import open_producer
from schemas.models import DeadLetter, NewsItem
from schemas.serde import AvroDeserializer
from tests.helpers import closed_port, unique, wait_for

pytestmark = pytest.mark.integration
BACKENDS = ["confluent", "kafka-python"]


def _line(title: str, date: object = "2025-05-01T00:00:00Z", **fields: Any) -> bytes:
    return json.dumps({"title": title, "published_at": date, **fields}).encode()


# (label, JSONL line, expected reason); each is followed by a good line that must be published
BAD_LINES: list[tuple[str, bytes, str]] = [
    ("2 MB title", _line("t" * 2_000_000), "oversize"),
    ("50 000 attributes", _line("a", attributes={f"k{i}": "v" for i in range(50_000)}), "oversize"),
    ("2 MB url", _line("u", url="https://x.test/" + "u" * 2_000_000), "oversize"),
    ("record above max.message.bytes", _line("big body", body="b" * 1_100_000), "oversize"),
    ("nested 100 000 deep", b"[" * 100_000 + b"]" * 100_000, "parse"),
    ("nested in a field", b'{"title": "d", "published_at": 1, "attributes": ' + b"[" * 50_000 + b"]" * 50_000
     + b"}", "parse"),
    ("lone surrogate", _line("lone \ud800 surrogate"), "utf8"),
    ("invalid UTF-8", b'{"title": "caf\xe9", "published_at": "2025-05-01"}', "utf8"),
    ("NUL", _line("nul \u0000 char"), "validation"),
    ("before the epoch", _line("old", "1969-12-31T23:59:59Z"), "date"),
    ("the epoch itself", _line("epoch", "1970-01-01T00:00:00Z"), "date"),
    ("after 2100", _line("far", "2100-01-01T00:00:00Z"), "date"),
    ("blank title", _line("\u200b \t"), "validation"),
]
NEAR_EPOCH = [("1970-01-01T00:00:00.001Z", 1), ("1970-01-01T00:00:01Z", 1000), ("1970-01-02T00:00:00Z", 86_400_000)]


def _corpus(root: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Good titles -> expected Kafka timestamp (ms); bad source refs -> expected reason."""
    f = root / "mixed.jsonl"
    lines: list[bytes] = []
    good: dict[str, int] = {}
    bad: dict[str, str] = {}
    for i, (label, line, reason) in enumerate(BAD_LINES):
        date, ms = NEAR_EPOCH[i % len(NEAR_EPOCH)]
        lines.append(line)
        bad[f"{f}:{len(lines)}"] = reason
        lines.append(_line(f"good after {label}", date))
        good[f"good after {label}"] = ms
    f.write_bytes(b"\n".join(lines) + b"\n")
    (root / "big.csv").write_bytes(b"title,published_at\nCSV before,2025-05-01T00:00:00Z\n\"" + b"x" * 200_000
                                   + b'",2025-05-01T00:00:00Z\nCSV after,2025-05-02T00:00:00Z\n')
    good.update({"CSV before": 1_746_057_600_000, "CSV after": 1_746_144_000_000})
    bad[f"{root / 'big.csv'}:3"] = "parse"
    (root / "broken.xml").write_bytes(b"<rss><channel><<<>>>&&&")
    bad[str(root / "broken.xml")] = "parse"
    (root / "z-last.txt").write_bytes(b"Last file still read\nbody")
    good["Last file still read"] = -1  # the file's mtime; checked separately
    return good, bad


def _drain(bootstrap: str, topic: str, expected: int) -> list[Any]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g.faults"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "fetch.message.max.bytes": 2_000_000})
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

        wait_for(done, 40, f"{expected} records from {topic}", interval_s=0)
        return out
    finally:
        consumer.close()


class TestBadRecordsWithTheRealBroker:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_each_bad_record_is_one_dead_letter_and_the_rest_is_published(
        self, kafka: Any, topic_factory: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        backend: str,
    ) -> None:
        from tension.cli import app

        good, bad = _corpus(tmp_path)
        raw, dead = topic_factory("raw"), topic_factory("dl")
        monkeypatch.setenv("TENSION_KAFKA_BOOTSTRAP", kafka.bootstrap)
        monkeypatch.setenv("TENSION_TOPICS__DEADLETTER", dead)
        result = CliRunner().invoke(app, ["produce", str(tmp_path), "--topic", raw, "--backend", backend,
                                          "--max-body-bytes", "2000000", "--close-timeout", "30"])
        assert result.exit_code == 0, result.output
        assert f"sent {len(good)} item(s), dead-lettered {len(bad)}" in result.output, result.output

        read_item = AvroDeserializer("NewsItem")
        items = {}
        for msg in _drain(kafka.bootstrap, raw, len(good)):
            item = NewsItem.from_avro(read_item(msg.value()))
            items[item.title] = item
            kind, ts = msg.timestamp()
            assert kind == 1 and ts == int(item.published_at.timestamp() * 1000), (item.title, ts)  # CreateTime
            assert msg.key() == item.id.encode()
            if good[item.title] >= 0:
                assert ts == good[item.title], (item.title, ts)
        assert set(items) == set(good)

        read_dead = AvroDeserializer("DeadLetter")
        letters = [DeadLetter.from_avro(read_dead(m.value())) for m in _drain(kafka.bootstrap, dead, len(bad))]
        assert {d.source_ref: d.reason for d in letters} == bad
        assert all(d.stage == "produce" and d.error_message for d in letters)

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_client_refusal_of_one_record_is_typed_and_the_producer_goes_on(
        self, kafka: Any, topic_factory: Callable[..., str], backend: str,
    ) -> None:
        topic = topic_factory("refuse")
        producer = open_producer(kafka.bootstrap, backend=backend, max_message_bytes=65_536)
        acked: list[Exception | None] = []
        try:
            with pytest.raises(RecordError) as err:
                producer.send(topic, b"k", b"v" * 100_000, 1000, acked.append)
            assert err.value.reason == "oversize"
            producer.send(topic, b"k", b"small", 1000, acked.append)
        finally:
            pending = producer.close(20)
        assert pending == 0 and acked == [None]


class TestTopicLimit:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_records_above_the_topics_max_message_bytes_are_dead_letters_that_fit(
        self, kafka: Any, admin: Any, tmp_path: Path, backend: str,
    ) -> None:
        from kafka.admin import NewTopic

        from connectors.sources import publish_paths

        raw, dead = unique("t.small-raw"), unique("t.small-dl")
        admin.create_topics([NewTopic(t, 1, 1, topic_configs={"max.message.bytes": "100000"}) for t in (raw, dead)])
        wait_for(lambda: {raw, dead} <= set(admin.list_topics()), 30, "topics to exist")
        (tmp_path / "a.jsonl").write_bytes(b"\n".join([
            _line("fits", body="f" * 50_000), _line("too big for the topic", body="b" * 150_000), _line("after")]))
        report = publish_paths([str(tmp_path)], bootstrap=kafka.bootstrap, topic=raw, deadletter_topic=dead,
                               max_body_bytes=1_000_000, backend=backend, close_timeout_s=30)
        assert report.sent == 2 and [r.reason for r in report.rejected] == ["oversize"]
        assert report.dead_lettered == 1 and report.dead_letter_failures == 0
        [msg] = _drain(kafka.bootstrap, dead, 1)
        letter = DeadLetter.from_avro(AvroDeserializer("DeadLetter")(msg.value()))
        assert letter.reason == "oversize" and "truncated" in letter.error_message
        assert {NewsItem.from_avro(AvroDeserializer("NewsItem")(m.value())).title
                for m in _drain(kafka.bootstrap, raw, 2)} == {"fits", "after"}


class TestUnreachableBroker:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_exit_code_2_only_when_no_broker_answers(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     backend: str) -> None:
        from tension.cli import app

        (tmp_path / "a.jsonl").write_bytes(_line("never sent") + b"\n")
        monkeypatch.setenv("TENSION_KAFKA_BOOTSTRAP", f"127.0.0.1:{closed_port()}")
        result = CliRunner().invoke(app, ["produce", str(tmp_path), "--backend", backend,
                                          "--connect-timeout", "2"])
        assert result.exit_code == 2, result.output
        assert "cannot" in result.output
