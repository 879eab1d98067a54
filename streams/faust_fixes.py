"""Workarounds for faust-streaming behaviour we depend on, in one place, each pinned to the version checked.

Why a module of its own: these touch Faust's (or aiokafka's) internals, so they
must be easy to find, and must fail loudly on a version they were not checked
against (``CHECKED_FAUST``; ``tests/unit/streams/test_faust_fixes.py``).

``seek_to_committed`` (checked with faust-streaming 0.15.3 on aiokafka 0.14.0):
after a rebalance Faust recovers the tables, then seeks every assigned partition
to its committed offset. aiokafka's ``seek_to_committed`` only seeks when the
committed offset is above 0, so a partition nobody has committed yet stays
wherever its fetcher stood. Observed with ``bench/faults.py --case
worker-loss-sb1`` (two workers, the index owner SIGKILLed before either had
committed any raw offset): the survivor processed the tail of the dead
worker's partition but not its middle — 54 to 226 of 300 items lost in most
runs, none dead-lettered. Our reading (not traced through aiokafka) is that
the fetcher moved on while Faust kept the partition inactive during table
recovery. With this fix such partitions go back to their beginning, which is
what ``consumer_auto_offset_reset="earliest"`` (our setting, ``streams.app``)
means for a partition without a committed offset; already processed records
are then processed again, which the pipeline absorbs (idempotent sinks, the
index's dedup index). Since: 0 lost in every run.

``next_commit`` (checked with faust-streaming 0.15.3): Faust keeps the acked
offsets of each partition in a list and commits up to the end of its first run
of consecutive numbers. After a rebalance the same offsets can be acked again
(records re-delivered from the committed offset) and gap ranges are appended
on top, so the list holds duplicates and offsets already committed. A duplicate
splits the first run (``[98, 98, 99, 99, …]`` yields ``[98]``), so each commit
advanced the offset by about one record per commit interval. Observed with
``bench/faults.py --case worker-loss-sb0`` (about 1 run in 3) and in CI's
``test_second_worker_mid_stream``: the survivor processed everything but its
committed facts offset crawled (99 → 101 in 5 s with 310 acked entries), so the
group never caught up and a later crash would replay the whole backlog. The fix
takes the distinct acked offsets at or above the committed one and keeps Faust's
rule otherwise (the first consecutive run; nothing while the head is more than
one past the committed offset).

``fresh_records`` (checked with faust-streaming 0.15.3): Faust seeks every
assigned partition back to its committed offset after a rebalance, sometimes
twice (once when recovery ends, again when a fetch returns while the flow is
stopped). Records fetched before such a seek were still delivered after it and
moved Faust's read offset forward; the same records re-fetched from the
committed offset were then *dropped* as already read, so they were never acked:
the partition's commits stopped for good (traced: seek to 128, stale
records up to 149 delivered, 128–148 dropped) and, when the stale record was
the one just past the committed offset, Faust's tolerance of one committed past
a record nobody processed (1 item lost in 1 of 11 ``worker-loss-sb0`` runs).
The fix counts seeks. A fetch that overlaps a seek may hold stale records or
fresh ones (fetched after it, the consumer's position already past them), so
neither dropping nor delivering them is safe: its remaining records are not
delivered and every assigned partition is sought back to its committed offset
(``perform_seek``), from where they are fetched again. A record below the read
offset (a re-delivery after a backward seek, e.g. of a record that was being
delivered while the seek ran) is delivered instead of dropped. Both cost only
duplicates, which the pipeline absorbs (idempotent sinks, the index's dedup).

``set_current_event`` (checked with faust-streaming 0.15.3): a table write finds
its changelog partition and store partition through ``faust.streams.current_event()``,
a private context variable Faust sets per event while a stream iterates. A
``take_events`` batch runs the agent body outside that per-event context, so the
index agent's table writes raised (no current event) or used whichever event the
context last held. The index agent sets it to the batch's last event before it
writes; every event of the batch comes from the one facts partition, so the
partition is the same for all of them.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

CHECKED_FAUST = ("0.15.3",)
CHECKED_AIOKAFKA = ("0.14.0",)
_applied = False


def apply() -> None:
    """Install the workarounds once per process (idempotent)."""
    global _applied
    if _applied:
        return
    import aiokafka

    from faust.transport.consumer import Consumer

    aiokafka.AIOKafkaConsumer.seek_to_committed = rewinding(  # type: ignore[method-assign]
        aiokafka.AIOKafkaConsumer.seek_to_committed)
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer.getmany = fresh_records(Consumer.getmany)  # type: ignore[method-assign]
    Consumer.perform_seek = counting_seeks(Consumer.perform_seek)  # type: ignore[method-assign]
    Consumer.seek = counting_seeks(Consumer.seek)  # type: ignore[method-assign]
    _applied = True


def set_current_event(event: Any) -> None:
    """Make ``event`` the current event of this task, as Faust does per event (see the module docstring).

    Table writes outside a stream's per-event context (an agent body that took a
    batch) then go to ``event``'s partition of the changelog and the store.
    """
    from faust.streams import _current_event

    _current_event.set(weakref.ref(event))


def rewinding(original: Callable[..., Awaitable[dict[Any, Any]]]) -> Callable[..., Awaitable[dict[Any, Any]]]:
    """``seek_to_committed`` that also seeks partitions without a committed offset to their beginning."""

    async def seek_to_committed(self: Any, *partitions: Any) -> dict[Any, Any]:
        committed: dict[Any, Any] = await original(self, *partitions)
        uncommitted = [tp for tp, offset in committed.items() if offset is None or offset <= 0]
        if uncommitted:
            log.info("no committed offset for %s: seeking to the beginning", sorted(map(str, uncommitted)))
            await self.seek_to_beginning(*uncommitted)
        return committed

    seek_to_committed.__wrapped__ = original  # type: ignore[attr-defined]
    return seek_to_committed


def next_commit(acked: Iterable[int], committed: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit for a partition and the acked offsets left after it.

    Pure, so the rule is unit-tested on its own: duplicates and offsets below
    ``committed`` (already committed) are dropped; a falsy ``committed`` means
    none yet, as in Faust. Nothing is committed while the lowest acked offset is
    more than one past ``committed`` (an earlier record is still in flight).
    """
    pending = sorted({o for o in acked if not committed or o >= committed})
    if not pending or (committed and pending[0] - committed > 1):
        return None, pending
    end = 1
    while end < len(pending) and pending[end] == pending[end - 1] + 1:
        end += 1
    return pending[end - 1] + 1, pending[end:]


def _new_offset(self: Any, tp: Any) -> int | None:
    """Faust's ``Consumer._new_offset`` with the acked list made distinct (see the module docstring).

    Gap handling (offsets the fetcher never delivered, e.g. compacted away) is
    Faust's: gap ranges up to the highest acked offset count as acked.
    """
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:
        highest = max(acked)
        spans = sorted(gaps.overlap(0, highest), key=lambda span: span.begin)
        if spans:
            filled = [o for span in spans for o in range(span.begin, span.end)]
            acked.extend(filled)
            gaps.chop(0, max(filled[-1], highest + 1))
    offset, rest = next_commit(acked, self._committed_offset[tp])
    acked[:] = rest
    self._acked_index[tp].intersection_update(rest)
    return offset


def _bump(consumer: Any) -> None:
    consumer._tension_seeks = getattr(consumer, "_tension_seeks", 0) + 1


def counting_seeks(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A Faust seek that counts itself before and after, so fetches that overlap it are known stale."""

    async def seek(self: Any, *args: Any, **kwargs: Any) -> Any:
        _bump(self)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _bump(self)

    seek.__wrapped__ = original  # type: ignore[attr-defined]
    return seek


def fresh_records(original: Callable[..., AsyncIterator[tuple[Any, Any]]]) -> Callable[..., AsyncIterator[tuple[Any, Any]]]:
    """Faust's ``Consumer.getmany`` that never yields a record of a fetch a seek overlapped, nor lets one be dropped.

    Faust's drain loop drops a record whose offset is below the partition's read
    offset; after a backward seek that record is exactly the one to process next,
    so the read offset is lowered to it first.
    """

    async def getmany(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        seeks = getattr(self, "_tension_seeks", 0)
        read_offset = self._read_offset
        async for tp, message in original(self, timeout):
            if getattr(self, "_tension_seeks", 0) != seeks:
                log.info("a fetch overlapped a seek: seeking back to the committed offsets to fetch its records again")
                await self.perform_seek()
                return
            current = read_offset.get(tp)
            if current is not None and message.offset < current:
                read_offset[tp] = message.offset
            yield tp, message

    getmany.__wrapped__ = original  # type: ignore[attr-defined]
    return getmany
