"""The facts topic's wire format: one JSON fact per item, many facts per record (a *pack*).

Why packs: every Kafka record costs the index stage Faust's whole per-record
machinery (fetch, conductor, channel, stream iteration, ack) and the classify
stage a producer send with its future; a fact is ~200 bytes, so that overhead
dwarfed the fold (docs/streams.md, "Throughput"). The classify stage therefore
sends the facts of one batch as one record, a JSON array of fact objects in the
order of their items (split only where a record would exceed the size limit).
A record holding a single JSON object is a fact too (what earlier versions
wrote, and what a test or an operator may write by hand).

Nothing changes for the guarantee: a pack is published, and acked, before the
raw records it comes from are committed; a replay re-sends the facts, and the
index's dedup index counts each item once whatever pack it arrives in. Order per
raw partition is kept (items are packed in batch order and a fact carries its
raw partition), which is all the per-partition watermark relies on.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import Any

from streams.sending import RECORD_OVERHEAD_BYTES
from streams.windows import Fact


def encode_fact(fact: Fact) -> bytes:
    """One fact as JSON (no NaN/Infinity: the index stage refuses them)."""
    return json.dumps(fact.to_json(), allow_nan=False, separators=(",", ":")).encode()


def unpack(value: bytes) -> list[Any]:
    """The fact objects of one facts record (a pack, or a single fact); raises ValueError if not JSON."""
    d = json.loads(value)
    return d if isinstance(d, list) else [d]


class FactPacker:
    """Collects the encoded facts of one batch with their owners and cuts them into records that fit."""

    def __init__(self, max_record_bytes: int) -> None:
        self.budget = max_record_bytes - RECORD_OVERHEAD_BYTES - 2  # "[" and "]"
        self._facts: list[tuple[Any, bytes]] = []

    encode = staticmethod(encode_fact)

    def fits(self, value: bytes) -> bool:
        """Whether a pack of this one fact would fit (a fact is never split)."""
        return len(value) <= self.budget

    def add(self, owner: Any, value: bytes) -> None:
        self._facts.append((owner, value))

    def packs(self, skip: Collection[int] = ()) -> Iterator[tuple[list[Any], bytes]]:
        """(owners, record value) per pack, in the order the facts were added; owners whose ``id()`` is in ``skip`` are left out."""
        owners: list[Any] = []
        values: list[bytes] = []
        size = 0
        for owner, value in self._facts:
            if id(owner) in skip:
                continue
            if values and size + len(value) + 1 > self.budget:
                yield owners, b"[" + b",".join(values) + b"]"
                owners, values, size = [], [], 0
            owners.append(owner)
            values.append(value)
            size += len(value) + 1
        if values:
            yield owners, b"[" + b",".join(values) + b"]"
        self._facts = []
