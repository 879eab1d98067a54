"""The Faust workarounds are pinned: a Faust or aiokafka they were not checked against fails here, loudly."""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import faust

from streams import faust_fixes


def test_faust_and_aiokafka_are_versions_the_workarounds_were_checked_with() -> None:
    assert faust.__version__ in faust_fixes.CHECKED_FAUST, (
        f"faust-streaming {faust.__version__}: re-check streams/faust_fixes.py (and the private "
        "_current_event use in streams/agents/index.py), then add the version to CHECKED_FAUST")
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
