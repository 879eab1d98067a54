"""Publish parsed items to the raw topic and rejections to the dead-letter topic.

This is the one entry point the CLI and the demo call (:func:`publish_paths`).
Items go out keyed by their id (so every version of an item lands on the same
partition, in order) with the Kafka timestamp set to ``published_at`` (so
event-time windows downstream see the publication time, not the upload time).
Nothing is dropped silently: input the readers reject and items the broker
refuses are both published as ``DeadLetter`` records and listed in the report.
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
from connectors.sources.exceptions import PublishError
from connectors.sources.inputs import read_inputs
from connectors.sources.normalize import ReadOptions
from connectors.sources.producers import Producer, open_producer
from connectors.sources.rejects import Rejection
from schemas.exceptions import EncodeError
from schemas.models import NewsItem
from schemas.serde import serializer_for

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 60.0


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

    def reasons(self) -> Counter[str]:
        return Counter(r.reason for r in self.rejected)

    def summary(self) -> str:
        rate = self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.reasons().items())) or "none"
        text = (f"sent {self.sent} item(s), dead-lettered {self.dead_lettered} "
                f"(reasons: {reasons}) in {self.elapsed_s:.2f}s ({rate:.0f} items/s, {self.backend})")
        if self.dead_letter_failures:
            text += f"; {self.dead_letter_failures} dead letter(s) could NOT be delivered"
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


def _timestamp_ms(item: NewsItem) -> int | None:
    ms = int(item.published_at.timestamp() * 1000)
    return ms if ms >= 0 else None  # Kafka has no negative timestamps; the broker then stamps it


class _Run:
    """State of one publish run, shared with delivery callbacks (which may run on another thread)."""

    def __init__(self, producer: Producer, topic: str, deadletter_topic: str,
                 encode_item: Callable[[dict[str, Any]], bytes],
                 encode_dead: Callable[[dict[str, Any]], bytes]) -> None:
        self.producer = producer
        self.topic = topic
        self.deadletter_topic = deadletter_topic
        self.encode_item = encode_item
        self.encode_dead = encode_dead
        self.report = PublishReport(backend=producer.backend)
        self._lock = threading.Lock()
        self._refused: list[Rejection] = []

    def item(self, item: NewsItem, ref: str) -> None:
        try:
            value = self.encode_item(item.to_avro())
        except EncodeError as exc:
            self.dead(Rejection(rejects.VALIDATION, ref, item.model_dump_json().encode(), type(exc).__name__,
                                str(exc)))
            return

        def done(err: Exception | None) -> None:
            with self._lock:
                if err is None:
                    self.report.sent += 1
                    self.report.sent_ids.append(item.id)
                else:
                    self._refused.append(Rejection(rejects.DELIVERY, ref, value, type(err).__name__, str(err)))

        self.producer.send(self.topic, item.id.encode("utf-8"), value, _timestamp_ms(item), done)

    def dead(self, rejection: Rejection) -> None:
        log.info("rejected %s (%s): %s", rejection.source_ref, rejection.reason, rejection.message)
        value = self.encode_dead(rejection.to_dead_letter().to_avro())
        with self._lock:
            self.report.rejected.append(rejection)

        def done(err: Exception | None) -> None:
            with self._lock:
                if err is None:
                    self.report.dead_lettered += 1
                else:
                    self.report.dead_letter_failures += 1
                    log.error("dead letter for %s not delivered: %s", rejection.source_ref, err)

        self.producer.send(self.deadletter_topic, rejection.source_ref.encode("utf-8"), value, None, done)

    def drain_refused(self) -> None:
        """Dead-letter the items the broker refused since the last call (from the caller's thread)."""
        with self._lock:
            refused, self._refused = self._refused, []
        for rejection in refused:
            self.dead(rejection)


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
                  progress: bool = False, registry_url: str | None = None, backend: str = "auto",
                  stdin: BinaryIO | None = None, in_time_order: bool = False) -> PublishReport:
    """Read every path (file, folder, URL or ``-``), publish items and dead letters, wait for acks.

    ``in_time_order`` is for backfills of a historical corpus: everything is
    read first and items are published by publication time, as a live feed
    would have delivered them, so event-time windows do not see them as late.

    Raises :class:`PublishError` when the broker cannot be reached or
    deliveries are still outstanding after the final flush; bad *input* never
    raises, it is reported in ``PublishReport.rejected``.
    """
    started = time.monotonic()
    opts = ReadOptions(max_body_bytes=max_body_bytes, strict=strict)
    encode_item = serializer_for("NewsItem", registry_url=registry_url, topic=topic)
    encode_dead = serializer_for("DeadLetter", registry_url=registry_url, topic=deadletter_topic)
    producer = open_producer(bootstrap, backend=backend)
    run = _Run(producer, topic, deadletter_topic, encode_item, encode_dead)
    pacer = _Pacer(rate_per_s)
    try:
        with _progress_bar(progress) as tick:
            inputs = read_inputs(paths, opts, stdin=stdin)
            for parsed in (time_ordered(inputs) if in_time_order else inputs):
                pacer.wait()
                if isinstance(parsed, Rejection):
                    run.dead(parsed)
                else:
                    run.item(parsed, parsed.source_ref or f"{parsed.source}#{parsed.id}")
                producer.poll()
                run.drain_refused()
                tick(run.report, 1)
            pending = producer.flush(FLUSH_TIMEOUT_S)
            run.drain_refused()  # items refused during the flush
            pending += producer.flush(FLUSH_TIMEOUT_S)
            tick(run.report, 0)
        if pending:
            raise PublishError("deliveries still pending after flush", bootstrap=bootstrap, topic=topic,
                               undelivered=pending)
    finally:
        producer.close()
    run.report.elapsed_s = time.monotonic() - started
    log.info("%s", run.report.summary())
    return run.report
