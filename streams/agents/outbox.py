"""Per-batch output bookkeeping shared by the agents: outputs, dead letters, and their acks.

Faust acks every event of a ``take_events`` batch when the agent body leaves
the batch, *even when the body raised* (the generator's ``finally``), and an
agent that raised is restarted behind offsets that move on: an exception
escaping an agent loses records silently. So an agent never lets one escape
for a record: whatever fails for a record (decode, processing, encoding, the
producer refusing an output, the broker failing its delivery future) becomes
a dead letter of that record, with reason, stage and coordinates.

:meth:`Outbox.settle` is called before the body returns: it awaits every
delivery future of the batch, dead-letters the records whose outputs were
refused, and waits until every dead letter is acked. A dead letter always fits
(``schemas.deadletters`` cuts it), so the only way one fails is a broker that
does not answer; then the stage retries it with back-off instead of acking a
record that is neither processed nor dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from streams import metrics
from schemas.deadletters import cut_key, dead_letter, original_budget
from streams.exceptions import DeliveryFailed, StreamError
from streams.sending import Sender, delivered

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


def reason_of(exc: BaseException, default: str) -> str:
    """The dead-letter reason of an exception: a StreamError knows its own, anything else gets ``default``."""
    return exc.reason if isinstance(exc, StreamError) else default


@dataclass
class _Pending:
    events: list[faust.EventT]  # the records this output belongs to (several for a pack of facts)
    future: Awaitable[Any]
    what: str  # the output, for the dead letter's message


@dataclass
class Outbox:
    """Outputs and dead letters of one batch of one stage."""

    sender: Sender
    deadletter: faust.TopicT
    stage: str
    #: the dead-letter topic's serializer (``StreamConfig.serdes``); None: single-object encoding
    encode_letter: Callable[[dict[str, Any]], bytes] | None = None
    outputs: list[_Pending] = field(default_factory=list)
    letters: list[tuple[bytes | None, bytes, Awaitable[Any] | None]] = field(default_factory=list)
    rejected: set[int] = field(default_factory=set)  # id(event) of every record dead-lettered in this batch

    @property
    def max_original(self) -> int:
        """Bytes of a record's value its dead letter keeps: what fits the producer's record limit."""
        return original_budget(self.sender.max_record_bytes)

    async def output(self, event: faust.EventT, topic: faust.TopicT, key: bytes | None, value: bytes, *,
                     timestamp_s: float | None = None) -> bool:
        """Send one output of ``event``; False (and the event dead-lettered) when it was refused at once."""
        return await self.output_many([event], topic, key, value, timestamp_s=timestamp_s)

    async def output_many(self, events: list[faust.EventT], topic: faust.TopicT, key: bytes | None, value: bytes, *,
                          timestamp_s: float | None = None) -> bool:
        """Send one output that belongs to several records (a pack); refused or failed, each is dead-lettered."""
        try:
            fut = await self.sender.send(topic, key, value, timestamp_s=timestamp_s)
        except StreamError as exc:
            for event in events:
                await self.reject(event, exc)
            return False
        self.outputs.append(_Pending(events, fut, topic.get_topic_name()))
        return True

    async def reject(self, event: faust.EventT, exc: BaseException, reason: str | None = None) -> None:
        """Dead-letter ``event`` (once per batch) for ``exc``; its delivery is awaited by :meth:`settle`."""
        if id(event) in self.rejected:
            return
        m = event.message
        reason = reason or reason_of(exc, "stream")
        log.warning("dead-lettering %s[%d]@%d (%s/%s): %s", m.topic, m.partition, m.offset, self.stage, reason, exc,
                    extra={"topic": m.topic, "partition": m.partition, "offset": m.offset, "stage": self.stage,
                           "reason": reason})
        err = exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
        raw_key = event.key if isinstance(event.key, (bytes, type(None))) else str(event.key).encode()
        key = cut_key(raw_key)
        original = event.value if isinstance(event.value, (bytes, bytearray, memoryview)) else repr(event.value).encode()
        value = dead_letter(original, raw_key, err, stage=self.stage, reason=reason,
                            topic=m.topic, partition=m.partition, offset=m.offset, max_original=self.max_original,
                            encode=self.encode_letter)
        self.rejected.add(id(event))  # only once its letter exists: a failure above must not hide the record
        metrics.DEAD_LETTERS.labels(self.stage, reason).inc()  # rare: counted per record
        self.letters.append((key, value, await self._try_send(key, value)))

    async def settle(self) -> int:
        """Await every output; dead-letter records whose outputs failed; wait for every dead letter.

        Returns the number of records dead-lettered in this batch.
        """
        await self.settle_outputs()
        for key, value, fut in self.letters:
            await self._deliver_letter(key, value, fut)
        count, self.letters = len(self.rejected), []
        self.rejected = set()
        return count

    async def settle_outputs(self) -> None:
        """Await the outputs sent so far; dead-letter the records whose outputs failed (letters not awaited)."""
        outputs, self.outputs = self.outputs, []
        acked: Counter[str] = Counter()
        for p in outputs:
            error = await delivered(p.future)
            if error is not None:
                for event in p.events:
                    m = event.message
                    await self.reject(event, DeliveryFailed(f"output to {p.what} refused: {error!r}", topic=m.topic,
                                                            partition=m.partition, offset=m.offset))
            else:
                acked[p.what] += len(p.events)  # records whose output this is (a pack counts its facts)
        metrics.count_out(self.stage, acked)  # once per topic and call

    async def _try_send(self, key: bytes | None, value: bytes) -> Awaitable[Any] | None:
        try:
            return await self.sender.send(self.deadletter, key, value)
        except StreamError as exc:
            log.error("dead letter not accepted by the producer, will retry: %s", exc)
            return None

    async def _deliver_letter(self, key: bytes | None, value: bytes, fut: Awaitable[Any] | None) -> None:
        """Wait until one dead letter is acked, re-sending it with back-off while the broker refuses it."""
        pause = RETRY_FIRST_S
        while True:
            error = await delivered(fut) if fut is not None else "not enqueued"
            if error is None:
                return
            log.error("dead letter to %s not delivered (%s); retrying in %.1fs: the batch stays unacked",
                      self.deadletter.get_topic_name(), error, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)
            fut = await self._try_send(key, value)
