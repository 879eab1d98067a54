"""Publish parsed items to the raw topic and rejections to the dead-letter topic.

This is the one entry point the CLI and the demo call (:func:`publish_paths`).
Items go out keyed by their id (so every version of an item lands on the same
partition, in order) with the Kafka timestamp set to ``published_at`` (so
event-time windows downstream see the publication time, not the upload time).
Nothing is dropped silently: input the readers reject, items that do not
encode or do not fit in one Kafka record (``max_message_bytes``) and items the
client or broker refuses are all published as ``DeadLetter`` records and
listed in the report. The dead-letter path itself cannot fail on content: its
texts are sanitised and its original is cut until the record fits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from connectors.sources import rejects
from connectors.sources.exceptions import RecordError, UndeliveredError
from connectors.sources.inputs import read_inputs
from connectors.sources.normalize import MAX_PUBLISHED_AT, MIN_PUBLISHED_AT, ReadOptions, timestamp_ms
from connectors.sources.producers import (
    CLOSE_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    DEFAULT_MAX_MESSAGE_BYTES,
    Producer,
    open_producer,
    topic_max_message_bytes,
)
from connectors.sources.rejects import Rejection
from schemas.connection import KafkaConnection
from schemas.exceptions import EncodeError
from schemas.models import NewsItem
from schemas.registry import RegistryConfig
from schemas.serde import TopicSerdes

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = CLOSE_TIMEOUT_S
#: room left in ``max_message_bytes`` for the record's own framing (length, timestamp delta, headers)
RECORD_OVERHEAD_BYTES = 512
_MAX_DEAD_KEY_BYTES = 4_096  # the dead letter's key (its source ref) is cut to this


@dataclass
class PublishReport:
    """What one run did; ``rejected`` holds every input that did not reach the raw topic."""

    sent: int = 0
    dead_lettered: int = 0
    sent_ids: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    elapsed_s: float = 0.0
    backend: str = ""
    dead_letter_failures: int = 0
    undelivered: int = 0  # records still unacknowledged when the bounded close gave up
    unauthorized: int = 0  # items the broker refused by ACL (also dead-lettered, if the ACLs allow that)

    def reasons(self) -> Counter[str]:
        return Counter(r.reason for r in self.rejected)

    def summary(self) -> str:
        rate = self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.reasons().items())) or "none"
        text = (f"sent {self.sent} item(s), dead-lettered {self.dead_lettered} "
                f"(reasons: {reasons}) in {self.elapsed_s:.2f}s ({rate:.0f} items/s, {self.backend})")
        if self.dead_letter_failures:
            text += f"; {self.dead_letter_failures} dead letter(s) could NOT be delivered"
        if self.undelivered:
            text += f"; {self.undelivered} record(s) NOT acknowledged before the close timeout"
        return text


class _Pacer:
    """Spaces sends to at most ``rate_per_s`` per second (no burst beyond one record)."""

    def __init__(self, rate_per_s: float | None) -> None:
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(self._next, now) + self._interval


def _item_bytes(item: NewsItem) -> bytes:
    """The item as JSON for a dead letter; never raises (lone surrogates are escaped)."""
    try:
        return item.model_dump_json().encode("utf-8")
    except Exception:  # noqa: BLE001 - pydantic refuses unencodable text; fall back to a repr
        return repr(item.model_dump()).encode("utf-8", errors="backslashreplace")


class _Run:
    """State of one publish run, shared with delivery callbacks (which may run on another thread)."""

    def __init__(self, producer: Producer, topic: str, deadletter_topic: str,
                 encode_item: Callable[[dict[str, Any]], bytes],
                 encode_dead: Callable[[dict[str, Any]], bytes],
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.producer = producer
        self.max_record_bytes = max_message_bytes - RECORD_OVERHEAD_BYTES
        self.topic = topic
        self.deadletter_topic = deadletter_topic
        self.encode_item = encode_item
        self.encode_dead = encode_dead
        self.report = PublishReport(backend=producer.backend)
        self._lock = threading.Lock()
        self._refused: list[Rejection] = []

    def item(self, item: NewsItem, ref: str) -> None:
        """Encode, check and send one item; whatever stops it becomes its dead letter."""
        if not MIN_PUBLISHED_AT <= item.published_at < MAX_PUBLISHED_AT:  # built by hand, not by a reader
            self.dead(Rejection(rejects.DATE, ref, _item_bytes(item), "InputError",
                                f"published_at {item.published_at.isoformat()} has no Kafka timestamp"))
            return
        try:
            value = self.encode_item(item.to_avro())
        except EncodeError as exc:
            self.dead(Rejection(rejects.VALIDATION, ref, _item_bytes(item), type(exc).__name__, str(exc)))
            return
        key = item.id.encode("utf-8")
        if len(key) + len(value) > self.max_record_bytes:
            self.dead(Rejection(rejects.OVERSIZE, ref, value, "RecordTooLargeError",
                                f"encoded record is {len(key) + len(value)} bytes, limit is "
                                f"{self.max_record_bytes} (max_message_bytes less {RECORD_OVERHEAD_BYTES})"))
            return

        def done(err: Exception | None) -> None:
            with self._lock:
                if err is None:
                    self.report.sent += 1
                    self.report.sent_ids.append(item.id)
                else:
                    self.report.unauthorized += int(getattr(err, "unauthorized", False))
                    self._refused.append(Rejection(rejects.DELIVERY, ref, value, type(err).__name__, str(err)))

        try:
            self.producer.send(self.topic, key, value, timestamp_ms(item.published_at), done)
        except RecordError as exc:
            self.dead(Rejection(exc.reason, ref, value, type(exc.__cause__ or exc).__name__, str(exc)))

    def _dead_value(self, rejection: Rejection) -> bytes | None:
        """The encoded dead letter, cut until it fits in one record; None (logged) if nothing encodes."""
        budget = self.max_record_bytes - 16_384  # room for the sanitised texts (each cut to 4 KiB)
        for limit in (budget, budget // 4, 0):
            try:
                value = self.encode_dead(rejection.to_dead_letter(max_original_bytes=max(0, limit)).to_avro())
            except Exception as exc:  # noqa: BLE001 - the last resort below must still go out
                log.error("dead letter for %r does not encode (%s); sending it without its original",
                          rejection.source_ref, exc)
                continue
            if len(value) + _MAX_DEAD_KEY_BYTES <= self.max_record_bytes:
                return value
        bare = Rejection(rejection.reason, rejects.safe_text(rejection.source_ref, 256), b"",
                         rejects.safe_text(rejection.error_class, 100),
                         rejects.safe_text(rejection.message, 1_000) + " [original and details dropped]")
        try:
            return self.encode_dead(bare.to_dead_letter(max_original_bytes=0).to_avro())
        except Exception as exc:  # noqa: BLE001 - counted as an undelivered dead letter by the caller
            log.error("dead letter for %r cannot be encoded at all: %s", bare.source_ref, exc)
            return None

    def dead(self, rejection: Rejection) -> None:
        """Send one rejection to the dead-letter topic; a failure is counted and logged, never raised."""
        log.info("rejected %s (%s): %s", rejects.safe_text(rejection.source_ref, 500), rejection.reason,
                 rejects.safe_text(rejection.message, 500))
        value = self._dead_value(rejection)
        with self._lock:
            self.report.rejected.append(rejection)
            if value is None:
                self.report.dead_letter_failures += 1
                return

        def done(err: Exception | None) -> None:
            with self._lock:
                if err is None:
                    self.report.dead_lettered += 1
                else:
                    self.report.dead_letter_failures += 1
                    log.error("dead letter for %r not delivered: %s", rejection.source_ref, err)

        key = rejects.safe_text(rejection.source_ref, 1_000).encode("utf-8")[:_MAX_DEAD_KEY_BYTES]
        try:
            self.producer.send(self.deadletter_topic, key, value, None, done)
        except RecordError as exc:
            done(exc)

    def drain_refused(self) -> None:
        """Dead-letter the items the broker refused since the last call (from the caller's thread)."""
        with self._lock:
            refused, self._refused = self._refused, []
        for rejection in refused:
            self.dead(rejection)

    def refused_left(self) -> int:
        """Items refused after the last drain (during close): they could not be dead-lettered."""
        with self._lock:
            return len(self._refused)

    def handle(self, parsed: NewsItem | Rejection) -> None:
        """One read result to its topic; an unforeseen failure dead-letters it instead of ending the run."""
        try:
            if isinstance(parsed, Rejection):
                self.dead(parsed)
            else:
                self.item(parsed, parsed.source_ref or f"{parsed.source}#{parsed.id}")
        except Exception as exc:  # noqa: BLE001 - nothing lost: the record still reaches the dead-letter topic
            log.exception("unexpected failure publishing a record")
            ref = parsed.source_ref if isinstance(parsed, Rejection) else (parsed.source_ref or parsed.id)
            original = parsed.original if isinstance(parsed, Rejection) else _item_bytes(parsed)
            self.dead(Rejection(rejects.DELIVERY, ref or "?", original, type(exc).__name__, str(exc)))


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[PublishReport, int], None]]:
    """A live sent/failed counter on the terminal; a no-op callable when disabled."""
    if not enabled:
        yield lambda _report, _advance: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("[bold]producing[/bold]"),
                  TextColumn("[green]sent {task.fields[sent]}[/green]"),
                  TextColumn("[red]failed {task.fields[failed]}[/red]"),
                  TextColumn("read {task.completed}"), TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task("produce", total=None, sent=0, failed=0)

        def update(report: PublishReport, advance: int) -> None:
            bar.update(task, advance=advance, sent=report.sent, failed=len(report.rejected))

        yield update


def time_ordered(parsed: Iterable[NewsItem | Rejection]) -> list[NewsItem | Rejection]:
    """Rejections first (their order kept), then items by publication time (stable for ties)."""
    items: list[NewsItem] = []
    rejected: list[NewsItem | Rejection] = []
    for p in parsed:
        (rejected if isinstance(p, Rejection) else items).append(p)  # type: ignore[arg-type]
    return rejected + sorted(items, key=lambda i: i.published_at)


def publish_paths(paths: list[str], *, bootstrap: str, topic: str, deadletter_topic: str,
                  max_body_bytes: int = 100_000, strict: bool = False, rate_per_s: float | None = None,
                  progress: bool = False, registry: RegistryConfig | str | None = None, backend: str = "auto",
                  stdin: BinaryIO | None = None, in_time_order: bool = False,
                  max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                  close_timeout_s: float = CLOSE_TIMEOUT_S,
                  connect_timeout_s: float = CONNECT_TIMEOUT_S,
                  connection: KafkaConnection | None = None) -> PublishReport:
    """Read every path (file, folder, URL or ``-``), publish items and dead letters, wait for acks.

    ``in_time_order`` is for backfills of a historical corpus: everything is
    read first and items are published by publication time, as a live feed
    would have delivered them, so event-time windows do not see them as late.

    ``max_message_bytes`` is the largest record the producer sends, lowered to
    the topics' ``max.message.bytes`` when that can be read; ``close_timeout_s``
    bounds the final wait for acknowledgements, ``connect_timeout_s`` the wait
    for a first broker. ``connection`` carries the security settings (TLS,
    SASL); its bootstrap servers are replaced by ``bootstrap``.

    Raises :class:`~connectors.sources.exceptions.BrokerUnreachableError` when
    no broker answers at the start and
    :class:`~connectors.sources.exceptions.UndeliveredError` (carrying the
    report) when records are still unacknowledged after ``close_timeout_s``;
    bad *input* never raises, it is reported in ``PublishReport.rejected``.
    """
    started = time.monotonic()
    opts = ReadOptions(max_body_bytes=max_body_bytes, strict=strict)
    serdes = TopicSerdes({"raw": topic, "deadletter": deadletter_topic}, registry)
    encode_item, encode_dead = serdes.serializer("raw"), serdes.serializer("deadletter")
    conn = (connection or KafkaConnection()).with_bootstrap(bootstrap)
    producer = open_producer(conn, backend=backend, max_message_bytes=max_message_bytes,
                             connect_timeout_s=connect_timeout_s)
    topic_limit = topic_max_message_bytes(conn, [topic, deadletter_topic])
    if topic_limit is not None and topic_limit < max_message_bytes:
        log.info("records limited to %d bytes: the topics' max.message.bytes", topic_limit)
        max_message_bytes = topic_limit
    run = _Run(producer, topic, deadletter_topic, encode_item, encode_dead, max_message_bytes)
    pacer = _Pacer(rate_per_s)
    closed = False
    try:
        with _progress_bar(progress) as tick:
            inputs = read_inputs(paths, opts, stdin=stdin)
            for parsed in (time_ordered(inputs) if in_time_order else inputs):
                pacer.wait()
                run.handle(parsed)
                producer.poll()
                run.drain_refused()
                tick(run.report, 1)
            producer.flush(close_timeout_s)
            run.drain_refused()  # items refused during the flush
            pending = producer.close(close_timeout_s)
            closed = True
            tick(run.report, 0)
    finally:
        if not closed:  # an exception (or Ctrl-C) ended the loop: still wait, bounded, for what was sent
            producer.close(close_timeout_s)
    run.report.elapsed_s = time.monotonic() - started
    undelivered = pending + run.refused_left()
    run.report.undelivered = undelivered
    log.info("%s", run.report.summary())
    if undelivered:
        raise UndeliveredError(f"{undelivered} record(s) not acknowledged within {close_timeout_s:.0f}s",
                               bootstrap=bootstrap, topic=topic, undelivered=undelivered, report=run.report)
    return run.report


class Publisher:
    """One producer kept open across many :meth:`publish` calls, for a source that is followed.

    ``tension produce --follow`` publishes a few entries per poll for hours;
    reconnecting each time would cost a bootstrap round trip and the topics'
    limit lookup per poll. Each call is one run with its own report, and
    returns only once everything it sent is acknowledged (or raises), so the
    caller may then mark those entries as published.
    """

    def __init__(self, *, bootstrap: str, topic: str, deadletter_topic: str,
                 registry: RegistryConfig | str | None = None, backend: str = "auto",
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, close_timeout_s: float = CLOSE_TIMEOUT_S,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S, rate_per_s: float | None = None) -> None:
        self.bootstrap, self.topic, self.deadletter_topic = bootstrap, topic, deadletter_topic
        self._pacer = _Pacer(rate_per_s)
        self.close_timeout_s = close_timeout_s
        serdes = TopicSerdes({"raw": topic, "deadletter": deadletter_topic}, registry)
        self._encode_item, self._encode_dead = serdes.serializer("raw"), serdes.serializer("deadletter")
        self._producer = open_producer(bootstrap, backend=backend, max_message_bytes=max_message_bytes,
                                       connect_timeout_s=connect_timeout_s)
        limit = topic_max_message_bytes(bootstrap, [topic, deadletter_topic])
        self.max_message_bytes = min(max_message_bytes, limit) if limit else max_message_bytes

    def publish(self, parsed: Iterable[NewsItem | Rejection]) -> PublishReport:
        """Send items and dead letters, wait for their acknowledgements; UndeliveredError when some are not."""
        started = time.monotonic()
        run = _Run(self._producer, self.topic, self.deadletter_topic, self._encode_item, self._encode_dead,
                   self.max_message_bytes)
        for one in parsed:
            self._pacer.wait()
            run.handle(one)
            self._producer.poll()
            run.drain_refused()
        self._producer.flush(self.close_timeout_s)
        run.drain_refused()  # refused during the flush: their dead letters need one more flush
        pending = self._producer.flush(self.close_timeout_s) + run.refused_left()
        run.report.elapsed_s = time.monotonic() - started
        run.report.undelivered = pending
        if pending:
            raise UndeliveredError(f"{pending} record(s) not acknowledged within {self.close_timeout_s:.0f}s",
                                   bootstrap=self.bootstrap, topic=self.topic, undelivered=pending,
                                   report=run.report)
        return run.report

    def close(self) -> None:
        self._producer.close(self.close_timeout_s)
