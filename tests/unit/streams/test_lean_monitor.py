"""The worker's Faust monitor skips per-record bookkeeping but keeps what Faust itself reads."""

from __future__ import annotations

from types import SimpleNamespace

from faust.sensors.monitor import Monitor
from faust.types import TP

from streams.app import LeanMonitor, create_app
from streams.config import StreamConfig


def test_the_app_runs_the_lean_monitor() -> None:
    assert isinstance(create_app(StreamConfig()).monitor, LeanMonitor)


def test_lean_monitor_keeps_the_inbound_time_faust_diagnostics_read_and_counts_nothing_per_record() -> None:
    lean, full = LeanMonitor(), Monitor()
    tp, event, message = TP("raw", 0), SimpleNamespace(), SimpleNamespace(time_in=None)
    for m in (lean, full):
        m.on_message_in(tp, 7, message)  # type: ignore[arg-type]
    assert lean.on_stream_event_in(tp, 7, SimpleNamespace(), event) is None  # type: ignore[arg-type]
    assert tp in lean.stream_inbound_time and lean.tp_read_offsets[tp] == 7  # type: ignore[index]
    assert lean.messages_received_total == 0 and full.messages_received_total == 1
    lean.on_stream_event_out(tp, 7, SimpleNamespace(), event, None)  # type: ignore[arg-type]
    lean.on_message_out(tp, 7, message)  # type: ignore[arg-type]
    assert lean.events_active == 0 and lean.messages_active == 0
