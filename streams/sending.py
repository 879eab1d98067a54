"""The agents' fast path to Kafka: the app's producer, without Faust's per-message machinery.

Every topic of the topology carries raw bytes (keys and values are encoded in
the agents), so ``Topic.send`` only adds per-message objects (FutureMessage,
PendingMessage, serializer lookups, callbacks) that showed up at ~10 % of the
worker's CPU in profiles (docs/streams.md, "Throughput"). ``Sender.send`` hands
the bytes to the same producer Faust uses, which partitions by key exactly as
``Topic.send`` would and which Faust flushes before every offset commit — so
"acked offsets ⇒ outputs in Kafka" (at-least-once) still holds.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import faust


class Sender:
    """Enqueue raw records on the app's producer; returns the delivery future (await it to wait for acks)."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send(self, topic: faust.TopicT, key: bytes | None, value: bytes, *,
                   timestamp_s: float | None = None) -> Awaitable[Any]:
        """Enqueue one record, in call order; the result resolves once Kafka acked it (acks=all)."""
        return await self.app.producer.send(topic.get_topic_name(), key, value, None, timestamp_s, None)
