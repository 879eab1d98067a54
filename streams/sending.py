"""The agents' fast path to Kafka: the app's producer, without Faust's per-message machinery.

Every topic of the topology carries raw bytes (keys and values are encoded in
the agents), so ``Topic.send`` only adds per-message objects (FutureMessage,
PendingMessage, serializer lookups, callbacks) that showed up at ~10 % of the
worker's CPU in profiles (docs/streams.md, "Throughput"). ``Sender.send`` hands
the bytes to the same producer Faust uses, which partitions by key exactly as
``Topic.send`` would and which Faust flushes before every offset commit.

A record Kafka would refuse must not reach the producer: aiokafka raises on a
record over ``max_request_size`` and the broker fails the delivery future of a
record over the topic's ``max.message.bytes``; either used to crash an agent
(and Faust then committed past the records behind it). ``send`` checks the size
first and raises :class:`OutputTooLarge`; any refusal by the producer becomes
:class:`DeliveryFailed`; the caller awaits the delivery future with
:func:`delivered` and dead-letters what failed before the batch is acked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust

from streams.exceptions import DeliveryFailed, OutputTooLarge

# Broker default of max.message.bytes (1 MiB + 12 bytes); the topology's topics keep it.
BROKER_MAX_MESSAGE_BYTES = 1_048_588
# Record and batch headers, timestamp and varints on top of key + value: a generous bound.
RECORD_OVERHEAD_BYTES = 256


class Sender:
    """Enqueue raw records on the app's producer; returns the delivery future (await it to wait for acks)."""

    def __init__(self, app: faust.App, max_record_bytes: int | None = None) -> None:
        self.app = app
        limit = min(int(app.conf.producer_max_request_size), BROKER_MAX_MESSAGE_BYTES)
        self.max_record_bytes = max_record_bytes or limit

    def fits(self, key: bytes | None, value: bytes) -> bool:
        """Whether Kafka would take a record of this key and value."""
        return len(key or b"") + len(value) + RECORD_OVERHEAD_BYTES <= self.max_record_bytes

    async def send(self, topic: faust.TopicT, key: bytes | None, value: bytes, *,
                   timestamp_s: float | None = None) -> Awaitable[Any]:
        """Enqueue one record, in call order; the result resolves once Kafka acked it (acks=all).

        Raises :class:`OutputTooLarge` before enqueuing a record Kafka would refuse and
        :class:`DeliveryFailed` when the producer refuses it at once.
        """
        name = topic.get_topic_name()
        if not self.fits(key, value):
            raise OutputTooLarge(f"record of {len(key or b'') + len(value)} bytes for {name} exceeds the "
                                 f"{self.max_record_bytes}-byte record limit")
        try:
            return await self.app.producer.send(name, key, value, None, timestamp_s, None)
        except Exception as exc:  # ProducerSendError, MessageSizeTooLarge, bad timestamp...
            raise DeliveryFailed(f"producer refused a record for {name}: {exc!r}") from exc


async def delivered(future: Awaitable[Any]) -> BaseException | None:
    """Wait for one delivery; the error the producer or broker reported, or None once acked."""
    try:
        await future
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # broker refusals arrive here (RecordTooLarge, InvalidTimestamp...)
        return exc
    return None
