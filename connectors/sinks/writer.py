"""One batch into the store: retried while the store is away, bisected when it blames the data.

Apart from the consumer loop (:mod:`connectors.sinks.runner`) because the two
failure modes of a write are store logic, not Kafka logic: a *transient* error
(the store is down, locked, full) means "same batch again, later", a *data*
error means "find the records that fail on their own, dead-letter them, store
the rest". The writer only needs to be told how to wait without fetching
(the runner pauses its partitions) and where the batch is (a rebalance may
shrink it between attempts).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from connectors.exceptions import SinkWriteError
from connectors.sinks.base import Sink, SinkRecord
from connectors.sinks.deadletters import DeadLetters
from connectors.sinks.metrics import SinkMetrics

log = logging.getLogger(__name__)


class BatchWriter:
    """Writes batches to one store; counts retries (the store refused) for the progress line."""

    def __init__(self, sink: Sink, dead_letters: DeadLetters, metrics: SinkMetrics, *, retry_initial_s: float,
                 max_retry_s: float, stop: threading.Event) -> None:
        self.sink = sink
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.retry_initial_s = retry_initial_s
        self.max_retry_s = max_retry_s
        self.stop = stop
        self.retries = 0

    def write(self, batch: Callable[[], list[SinkRecord]], wait: Callable[[float], None]) -> tuple[int, int]:
        """Write ``batch()`` and flush, retrying transient store errors with exponential backoff.

        ``batch`` is read again before each attempt (a rebalance during ``wait`` may have
        dropped revoked partitions' records); ``wait(seconds)`` must not fetch. Returns
        (records written, attempts). Raises :class:`SinkWriteError` if asked to stop while
        the store still refuses: nothing of the batch is then committed.
        """
        delay = self.retry_initial_s
        attempt = 0
        while True:
            attempt += 1
            records = batch()
            started = time.perf_counter()
            try:
                if records:
                    self.write_or_split(records)
                    self.sink.flush()
                    self.metrics.written(self._stored(records), time.perf_counter() - started)
                if attempt > 1:
                    log.info("%s: store accepted the batch of %d rows after %d attempts",
                             self.sink.name, len(records), attempt)
                return len(records), attempt
            except Exception as exc:
                if self.stop.is_set():
                    raise SinkWriteError(self.sink.name, records, exc) from exc
                self.retries += 1
                self.metrics.retried()
                log.warning("%s: write of %d rows failed (attempt %d), retrying in %.1fs: %s",
                            self.sink.name, len(records), attempt, delay, self.sink.describe_error(exc))
                wait(delay)
                delay = min(delay * 2, self.max_retry_s)

    def _stored(self, records: list[SinkRecord]) -> list[SinkRecord]:
        """The records of a written batch that the store took (not dead-lettered by the split)."""
        rejected = self.dead_letters.rejected()
        if not rejected:
            return records
        return [r for r in records if (r.topic, r.partition, r.offset) not in rejected]

    def write_or_split(self, records: list[SinkRecord]) -> None:
        """Write; if the store blames the data, bisect until the offending records stand alone.

        A batch with k bad records among n costs O(k log n) store calls; the good halves are
        written (each in its own transaction, idempotent) and the bad records dead-lettered
        with ``reason="constraint"``.
        """
        try:
            self.sink.write_batch(records)
        except Exception as exc:
            if self.sink.is_transient(exc):
                raise
            if len(records) == 1:
                rec = records[0]
                log.warning("%s: store rejected %s[%d]@%d: %s", self.sink.name, rec.topic, rec.partition,
                            rec.offset, self.sink.describe_error(exc),
                            extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset})
                self.dead_letters.send(rec.topic, rec.partition, rec.offset, rec.key, rec.raw, "constraint",
                                       type(exc).__name__, self.sink.describe_error(exc))
                return
            mid = len(records) // 2
            self.write_or_split(records[:mid])
            self.write_or_split(records[mid:])
