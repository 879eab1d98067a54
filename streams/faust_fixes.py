"""Workarounds for faust-streaming behaviour we depend on, in one place, each pinned to the version checked.

Why a module of its own: these touch Faust's (or aiokafka's) internals, so they
must be easy to find, and must fail loudly on a version they were not checked
against (``CHECKED_FAUST``; ``tests/unit/test_faust_fixes.py``).

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
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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

    aiokafka.AIOKafkaConsumer.seek_to_committed = rewinding(  # type: ignore[method-assign]
        aiokafka.AIOKafkaConsumer.seek_to_committed)
    _applied = True


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
