"""A write-back view of the Faust table that the pure reducer mutates.

The reducer (``streams.windows.apply``) reads and writes a plain mapping. This
view reads through to the table and keeps every write of one batch in memory
until :meth:`flush`, which writes panes first, then dedup entries, then
``meta`` (watermark, counters). Within the single changelog partition that
order is preserved, so any prefix that survives a crash is one the reducer
can resume from: a pane written without its dedup entry is still found by
``is_duplicate``, and a watermark is never ahead of the panes it depends on.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()
_ORDER = {"p": 0, "s": 1}


def _write_order(key: str) -> tuple[int, str, int]:
    """Panes (chunks in ascending number), then dedup entries, then anything else, ``meta`` last."""
    if key == "meta":
        return 3, "", 0
    head, _, chunk = key.rpartition(":") if key.count(":") == 2 else (key, "", "0")
    return _ORDER.get(key[:1], 2), head, int(chunk) if chunk.isdigit() else 0


class TableState(MutableMapping[str, Any]):
    """MutableMapping over a Faust table with per-batch write-back."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.pending: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            value = self.pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        value = self.table.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
            return True
        except KeyError:
            return False

    def __setitem__(self, key: str, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        self.pending[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        raise TypeError("TableState is not iterable: the reducer addresses keys directly")

    def __len__(self) -> int:
        raise TypeError("TableState has no length")

    def flush(self) -> int:
        """Write the batch to the table (panes, dedup entries, then meta); return the writes."""
        keys = sorted(self.pending, key=_write_order)
        for key in keys:
            value = self.pending[key]
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        written = len(keys)
        self.pending.clear()
        return written
