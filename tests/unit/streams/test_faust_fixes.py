"""The Faust workarounds are pinned: a Faust or aiokafka they were not checked against fails here, loudly."""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import faust

from streams import faust_fixes


def test_faust_and_aiokafka_are_versions_the_workarounds_were_checked_with() -> None:
    assert faust.__version__ in faust_fixes.CHECKED_FAUST, (
        f"faust-streaming {faust.__version__}: re-check streams/faust_fixes.py (including the private "
        "_current_event behind set_current_event), then add the version to CHECKED_FAUST")
    assert aiokafka.__version__ in faust_fixes.CHECKED_AIOKAFKA, (
        f"aiokafka {aiokafka.__version__}: re-check seek_to_committed in streams/faust_fixes.py")


def test_apply_wraps_seek_to_committed_once() -> None:
    faust_fixes.apply()
    first = aiokafka.AIOKafkaConsumer.seek_to_committed
    faust_fixes.apply()
    assert aiokafka.AIOKafkaConsumer.seek_to_committed is first
    assert getattr(first, "__wrapped__", None) is not None


def test_partitions_without_a_committed_offset_are_rewound_to_their_beginning() -> None:
    """None (never committed) and 0 were left where the fetcher stood; above 0 aiokafka already seeks."""
    class FakeConsumer:
        def __init__(self) -> None:
            self.rewound: list[Any] = []

        async def seek_to_beginning(self, *tps: Any) -> None:
            self.rewound.extend(tps)

    async def original(self: Any, *partitions: Any) -> dict[Any, Any]:
        return {"raw-0": None, "raw-1": 0, "raw-2": -1, "raw-3": 17}

    consumer = FakeConsumer()
    got = asyncio.run(faust_fixes.rewinding(original)(consumer))
    assert got == {"raw-0": None, "raw-1": 0, "raw-2": -1, "raw-3": 17}
    assert sorted(consumer.rewound) == ["raw-0", "raw-1", "raw-2"]


def test_apply_replaces_faust_new_offset() -> None:
    from faust.transport.consumer import Consumer

    faust_fixes.apply()
    assert Consumer._new_offset is faust_fixes._new_offset


@pytest.mark.parametrize(("acked", "committed", "offset", "rest"), [
    ([], None, None, []),
    ([0, 1, 2], None, 3, []),
    ([34, 35, 36, 40, 41], None, 37, [40, 41]),
    ([98, 98, 99, 99, 100, 100, 102], 99, 101, [102]),  # duplicates no longer split the run
    ([97, 98, 99, 100], 99, 101, []),  # below committed: committed already
    ([105, 106], 100, None, [105, 106]),  # 100..104 still in flight: wait
    ([101, 102], 100, 103, []),  # Faust's tolerance of one
])
def test_next_commit_examples(acked: list[int], committed: int | None, offset: int | None, rest: list[int]) -> None:
    assert faust_fixes.next_commit(acked, committed) == (offset, rest)


@given(st.lists(st.integers(0, 60), max_size=80), st.one_of(st.none(), st.integers(1, 40)))
@settings(max_examples=300, deadline=None)
def test_next_commit_never_passes_an_unacked_offset(acked: list[int], committed: int | None) -> None:
    offset, rest = faust_fixes.next_commit(acked, committed)
    distinct = {o for o in acked if not committed or o >= committed}
    assert set(rest) <= distinct and rest == sorted(set(rest))
    if offset is not None:
        start = min(distinct)
        assert all(o in distinct for o in range(start, offset))  # every offset committed over was acked
        assert offset not in distinct  # and the run is taken whole, however many duplicates
        assert set(rest) == {o for o in distinct if o > offset}
    else:
        assert not distinct or (committed and min(distinct) - committed > 1)


class _Msg:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class _FakeConsumer:
    """Just what the getmany wrapper touches: Faust's read offsets and our seek counter."""

    def __init__(self, read: dict[str, int | None]) -> None:
        self._read_offset = read
        self.sought_back = 0

    async def perform_seek(self) -> None:
        self.sought_back += 1


@pytest.mark.parametrize("seek_after", [0, 1, 3])
def test_a_fetch_that_overlaps_a_seek_yields_nothing_after_it(seek_after: int) -> None:
    consumer = _FakeConsumer({"raw-0": None})

    async def original(self: Any, timeout: float) -> Any:
        for n, offset in enumerate(range(128, 134)):
            if n == seek_after:
                await faust_fixes.counting_seeks(_noop)(self)
            yield "raw-0", _Msg(offset)

    async def drain() -> list[int]:
        return [m.offset async for _tp, m in faust_fixes.fresh_records(original)(consumer, 1.0)]

    assert asyncio.run(drain()) == list(range(128, 128 + seek_after))
    assert consumer.sought_back == 1  # the undelivered records are fetched again from the committed offsets


def test_a_fetch_without_a_seek_yields_everything_and_seeks_nothing() -> None:
    consumer = _FakeConsumer({"raw-0": 127})

    async def original(self: Any, timeout: float) -> Any:
        for offset in range(128, 134):
            yield "raw-0", _Msg(offset)

    async def drain() -> list[int]:
        return [m.offset async for _tp, m in faust_fixes.fresh_records(original)(consumer, 1.0)]

    assert asyncio.run(drain()) == list(range(128, 134)) and consumer.sought_back == 0


@given(st.integers(0, 500), st.lists(st.integers(0, 500), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_no_record_is_left_below_the_read_offset(read: int, offsets: list[int]) -> None:
    """Faust drops a record below its read offset; after a backward seek that record is the next to process."""
    consumer = _FakeConsumer({"raw-0": read})

    async def original(self: Any, timeout: float) -> Any:
        for offset in offsets:
            yield "raw-0", _Msg(offset)

    async def drain() -> None:
        async for _tp, message in faust_fixes.fresh_records(original)(consumer, 1.0):
            current = consumer._read_offset["raw-0"]
            assert current is None or message.offset >= current  # Faust's drain loop keeps it
            consumer._read_offset["raw-0"] = message.offset  # as Faust's loop does after delivering

    asyncio.run(drain())


async def _noop(self: Any) -> None:
    return None


def test_set_current_event_is_what_faust_table_writes_read() -> None:
    """Table writes look their partition up through faust.streams.current_event(): it must see the batch's event."""
    import contextvars

    from faust.streams import current_event

    class Event:
        pass

    event = Event()

    def inside() -> Any:
        faust_fixes.set_current_event(event)
        return current_event()

    assert contextvars.copy_context().run(inside) is event
