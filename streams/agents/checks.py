"""What the worker refuses on top of the Avro contract: the same rules as `tension produce`.

A record on news.raw.v1 need not come from `tension produce`; whatever the
producer would have rejected (a blank title, an empty id or source, an event
time it would refuse) is rejected here too, as a dead letter with the
producer's reason code, instead of flowing into the index.

Event time range (docs/contracts.md): a fact's ``ts`` must be an integer in
``[EARLIEST_MS, now + MAX_FUTURE_MS]``. Kafka record timestamps cannot be
negative (the classified record carries the event time as its timestamp), and
brokers refuse timestamps more than an hour ahead; an item far in the future
would also move the watermark and make every real item late.
"""

from __future__ import annotations

import math
import time
from typing import Any

from streams.exceptions import BadEventTime, InvalidRecord

EARLIEST_MS = 0  # 1970-01-01T00:00:00Z
MAX_FUTURE_MS = 3_600_000  # the producer's limit: one hour ahead of the wall clock


def check_item(item: dict[str, Any]) -> None:
    """Raise :class:`InvalidRecord` for a decoded NewsItem the producer would not have sent."""
    for name in ("id", "source", "title"):
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidRecord(f"{name} is empty")


def check_event_time(ts: Any, *, now_ms: int | None = None) -> int:
    """``ts`` as an int when it is a finite event time in the product range, else :class:`BadEventTime`."""
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise BadEventTime(f"event time {ts!r} is not a number")
    if isinstance(ts, float) and (not math.isfinite(ts) or not ts.is_integer()):
        raise BadEventTime(f"event time {ts!r} is not a finite integer")
    latest = (now_ms if now_ms is not None else int(time.time() * 1000)) + MAX_FUTURE_MS
    if not EARLIEST_MS <= ts <= latest:
        raise BadEventTime(f"event time {ts!r} ms is outside [{EARLIEST_MS}, now + {MAX_FUTURE_MS}]")
    return int(ts)
