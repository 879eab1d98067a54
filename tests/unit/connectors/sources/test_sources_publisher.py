"""The publish loop: per-record producer refusals become dead letters, the dead-letter path cannot fail,
the close is bounded and reports what was left undelivered, and the CLI's exit codes are the documented ones.

The broker is replaced by a recording producer here (what the loop does with each
outcome is the logic under test); tests/integration/connectors/sources/test_produce_faults.py runs
the same classes of input against the real broker with both real clients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sources import Rejection, publisher, rejects
from connectors.sources.exceptions import BrokerUnreachableError, PublishError, RecordError, UndeliveredError
from schemas.exceptions import RegistryError, UnknownSchemaError
from schemas.models import NewsItem
from schemas.serde import AvroDeserializer, AvroSerializer

RAW, DEAD = "raw", "dead"
read_dead = AvroDeserializer("DeadLetter")


class FakeProducer:
    """Acknowledges every send unless told to refuse it (synchronously or by callback) or to never ack it."""

    backend = "fake"

    def __init__(self, refuse: Callable[[str, bytes], str | None] = lambda _t, _v: None,
                 fail_delivery: Callable[[str, bytes], bool] = lambda _t, _v: False, hang: int = 0) -> None:
        self.refuse, self.fail_delivery, self.hang = refuse, fail_delivery, hang
        self.sent: list[tuple[str, bytes | None, bytes, int | None]] = []
        self._callbacks: list[tuple[Callable[[Exception | None], None], Exception | None]] = []
        self.close_timeouts: list[float] = []

    def send(self, topic: str, key: bytes | None, value: bytes, timestamp_ms: int | None,
             on_done: Callable[[Exception | None], None]) -> None:
        reason = self.refuse(topic, value)
        if reason:
            raise RecordError(reason, "refused by the fake client", topic=topic)
        self.sent.append((topic, key, value, timestamp_ms))
        err = RuntimeError("delivery failed") if self.fail_delivery(topic, value) else None
        self._callbacks.append((on_done, err))

    def poll(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for on_done, err in callbacks:
            on_done(err)

    def flush(self, timeout_s: float) -> int:
        self.poll()
        return 0

    def close(self, timeout_s: float = 60.0) -> int:
        self.close_timeouts.append(timeout_s)
        self.poll()
        return self.hang


def _publish(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lines: list[bytes], producer: FakeProducer,
             topic_limit: int | None = None, **kw: Any) -> publisher.PublishReport:
    monkeypatch.setattr(publisher, "open_producer", lambda *_a, **_k: producer)
    monkeypatch.setattr(publisher, "topic_max_message_bytes", lambda *_a, **_k: topic_limit)
    f = tmp_path / "in.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    return publisher.publish_paths([str(f)], bootstrap="unused:1", topic=RAW, deadletter_topic=DEAD, **kw)


def _line(title: str, **fields: Any) -> bytes:
    return json.dumps({"title": title, "published_at": "2025-05-01T00:00:00Z", **fields}).encode()


def _letters(producer: FakeProducer) -> list[dict[str, Any]]:
    return [read_dead(v) for t, _k, v, _ts in producer.sent if t == DEAD]


def _raw_titles(producer: FakeProducer) -> list[str]:
    read = AvroDeserializer("NewsItem")
    return [read(v)["title"] for t, _k, v, _ts in producer.sent if t == RAW]


class TestPerRecordRefusals:
    @pytest.mark.parametrize("reason", ["oversize", "delivery"])
    def test_synchronous_refusal_dead_letters_that_record_only(self, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path, reason: str) -> None:
        producer = FakeProducer(refuse=lambda t, v: reason if t == RAW and b"refuse me" in v else None)
        report = _publish(monkeypatch, tmp_path, [_line("one"), _line("refuse me"), _line("three")], producer)
        assert _raw_titles(producer) == ["one", "three"] and report.sent == 2
        assert {ts for t, _k, _v, ts in producer.sent if t == RAW} == {1_746_057_600_000}  # = published_at
        [letter] = _letters(producer)
        assert letter["reason"] == reason and letter["source_ref"].endswith(":2")
        assert b"refuse me" in letter["original"]  # the encoded item, so it can be replayed

    def test_delivery_failure_of_one_record(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        producer = FakeProducer(fail_delivery=lambda t, v: t == RAW and b"lost" in v)
        report = _publish(monkeypatch, tmp_path, [_line("lost"), _line("kept")], producer)
        assert report.sent == 1 and [r.reason for r in report.rejected] == ["delivery"]
        assert [d["reason"] for d in _letters(producer)] == ["delivery"]

    @pytest.mark.parametrize("max_message_bytes", [70_000, 200_000, 1_000_000])
    def test_encoded_record_above_max_message_bytes(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    max_message_bytes: int) -> None:
        body = "b" * max_message_bytes  # within max_body_bytes below, but not within one record
        producer = FakeProducer()
        report = _publish(monkeypatch, tmp_path, [_line("big", body=body), _line("small")], producer,
                          max_body_bytes=10 * max_message_bytes, max_message_bytes=max_message_bytes)
        assert _raw_titles(producer) == ["small"]
        [letter] = _letters(producer)
        assert letter["reason"] == "oversize" and "truncated" in letter["error_message"]
        assert all(len(v) + len(k or b"") <= max_message_bytes for _t, k, v, _ts in producer.sent)
        assert report.dead_lettered == 1


    @pytest.mark.parametrize("topic_limit", [None, 80_000, 5_000_000])
    def test_topic_limit_lowers_the_configured_one(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   topic_limit: int | None) -> None:
        producer = FakeProducer()
        _publish(monkeypatch, tmp_path, [_line("mid", body="m" * 150_000)], producer, topic_limit=topic_limit,
                 max_body_bytes=1_000_000, max_message_bytes=200_000)
        published = _raw_titles(producer)
        assert published == ([] if topic_limit == 80_000 else ["mid"])
        assert all(len(v) <= min(200_000, topic_limit or 200_000) for _t, _k, v, _ts in producer.sent)


class TestDeadLetterPathNeverFails:
    @pytest.mark.parametrize("text", ["lone \ud800 surrogate", "escaped \udcff byte", "nul \x00", "x" * 100_000])
    @pytest.mark.parametrize("where", ["source_ref", "error_class", "message"])
    def test_any_text_in_any_field(self, text: str, where: str) -> None:
        fields = {"reason": rejects.PARSE, "source_ref": "f:1", "original": b"o", "error_class": "E",
                  "message": "m", where: text}
        producer = FakeProducer()
        run = publisher._Run(producer, RAW, DEAD, AvroSerializer("NewsItem"), AvroSerializer("DeadLetter"))
        run.dead(Rejection(**fields))  # type: ignore[arg-type]
        producer.poll()
        [letter] = _letters(producer)
        assert letter["reason"] == "parse" and run.report.dead_lettered == 1
        assert "details dropped" not in letter["error_message"]  # sanitised in place, not the last resort
        kept = {"source_ref": letter["source_ref"], "error_class": letter["error_class"],
                "message": letter["error_message"]}[where]
        assert kept.startswith(text.encode("utf-8", "backslashreplace").decode()[:50])

    @pytest.mark.parametrize("size", [600_000, 2_000_000, 20_000_000])
    @pytest.mark.parametrize("max_message_bytes", [100_000, 1_000_000])
    def test_original_is_cut_to_fit(self, size: int, max_message_bytes: int) -> None:
        producer = FakeProducer()
        run = publisher._Run(producer, RAW, DEAD, AvroSerializer("NewsItem"), AvroSerializer("DeadLetter"),
                             max_message_bytes)
        run.dead(Rejection(rejects.OVERSIZE, "f:1", b"z" * size, "E", "too big"))
        [(_t, key, value, _ts)] = producer.sent
        assert len(value) + len(key or b"") <= max_message_bytes
        assert "truncated" in read_dead(value)["error_message"]

    def test_item_that_cannot_be_encoded(self) -> None:
        producer = FakeProducer()
        run = publisher._Run(producer, RAW, DEAD, AvroSerializer("NewsItem"), AvroSerializer("DeadLetter"))
        item = NewsItem(id="x", source="s", title="lone \ud800", published_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        run.handle(item)
        [letter] = _letters(producer)
        assert letter["reason"] == "validation" and "\\ud800" in letter["original"].decode()

    @pytest.mark.parametrize("when", [datetime(1970, 1, 1, tzinfo=timezone.utc),
                                      datetime(1969, 7, 20, tzinfo=timezone.utc),
                                      datetime(2200, 1, 1, tzinfo=timezone.utc)])
    def test_item_without_a_kafka_timestamp_is_never_stamped_with_the_clock(self, when: datetime) -> None:
        producer = FakeProducer()
        run = publisher._Run(producer, RAW, DEAD, AvroSerializer("NewsItem"), AvroSerializer("DeadLetter"))
        run.handle(NewsItem(id="x", source="s", title="t", published_at=when))
        assert [t for t, *_ in producer.sent] == [DEAD] and _letters(producer)[0]["reason"] == "date"

    def test_dead_letter_refused_by_the_client_is_counted(self, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
        producer = FakeProducer(refuse=lambda t, _v: "delivery" if t == DEAD else None)
        report = _publish(monkeypatch, tmp_path, [b"{bad", _line("fine")], producer)
        assert report.sent == 1 and report.dead_letter_failures == 1 and len(report.rejected) == 1


class TestClose:
    def test_close_waits_with_the_configured_timeout(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        producer = FakeProducer()
        _publish(monkeypatch, tmp_path, [_line("a")], producer, close_timeout_s=7.5)
        assert producer.close_timeouts == [7.5]

    @pytest.mark.parametrize("pending", [1, 3])
    def test_undelivered_records_at_close_are_a_failure(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        pending: int) -> None:
        with pytest.raises(UndeliveredError) as err:
            _publish(monkeypatch, tmp_path, [_line("a")], FakeProducer(hang=pending))
        assert err.value.undelivered == pending
        assert isinstance(err.value.report, publisher.PublishReport) and err.value.report.undelivered == pending

    def test_close_still_waits_when_the_loop_fails(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        producer = FakeProducer()
        monkeypatch.setattr(publisher, "read_inputs", lambda *_a, **_k: iter([1 / 0]))
        with pytest.raises(ZeroDivisionError):
            _publish(monkeypatch, tmp_path, [], producer, close_timeout_s=3.0)
        assert producer.close_timeouts == [3.0]


def _exit_code(monkeypatch: pytest.MonkeyPatch, outcome: Callable[[], publisher.PublishReport],
               *args: str) -> int:
    from tension import preflight
    from tension.cli import app, produce_cmd

    monkeypatch.setattr(preflight, "require_kafka", lambda *_a, **_k: None)  # no broker: the outcome is stubbed
    monkeypatch.setattr(produce_cmd, "publish_paths", lambda *_a, **_k: outcome())
    return CliRunner().invoke(app, ["produce", __file__, *args]).exit_code  # a path that exists


def _raise(exc: Exception) -> Callable[[], publisher.PublishReport]:
    def boom() -> publisher.PublishReport:
        raise exc
    return boom


REPORT_REJECTED = publisher.PublishReport(sent=1, rejected=[Rejection("parse", "f:1", b"", "E", "m")])


class TestExitCodes:
    @pytest.mark.parametrize("outcome,args,code", [
        (lambda: publisher.PublishReport(sent=3), (), 0),
        (lambda: REPORT_REJECTED, (), 0),
        (lambda: REPORT_REJECTED, ("--strict",), 1),
        (lambda: publisher.PublishReport(sent=1, dead_letter_failures=1), (), 1),
        (_raise(UndeliveredError("pending", bootstrap="b", topic="t", undelivered=2,
                                 report=publisher.PublishReport(sent=1, undelivered=2))), (), 1),
        (_raise(PublishError("other", bootstrap="b", topic="t")), (), 1),
        (_raise(UnknownSchemaError("no such schema")), (), 1),
        (_raise(BrokerUnreachableError("down", bootstrap="b", topic="-")), (), 2),
        (_raise(RegistryError("registry down")), (), 2),
    ], ids=["ok", "rejected-lenient", "rejected-strict", "dead-letter-lost", "undelivered", "publish-error",
            "schema-error", "broker-unreachable", "registry-unreachable"])
    def test_documented_exit_codes(self, monkeypatch: pytest.MonkeyPatch, outcome: Any, args: tuple[str, ...],
                                   code: int) -> None:
        assert _exit_code(monkeypatch, outcome, *args) == code

    def test_unknown_backend_is_a_usage_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert _exit_code(monkeypatch, lambda: publisher.PublishReport(), "--backend", "nope") == 2
