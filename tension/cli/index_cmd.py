"""`tension index FILE.jsonl`: the offline reference of the live index tables.

Reads classified items (`tension classify` output or ClassifiedItem-shaped
JSON; raw items are classified first) and folds them, in file order, through
the very functions the Faust index agent calls (``streams.processing.index_batch``),
so its final rows are what the live topology must publish for the same items.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from streams.offline import calibrate, read_facts, reference
from streams.processing import event_time_ms
from tension.wiring import index_config
from tension.settings import load_settings

app = typer.Typer()


@app.command("index")
def index_cmd(
    paths: list[Path] = typer.Argument(..., help="JSONL files of classified (or raw) items."),
    all_rows: bool = typer.Option(False, "--all", help="Also print non-final updates."),
    close: bool = typer.Option(True, help="Close every window at the end (final rows for all)."),
    file_order: bool = typer.Option(False, "--file-order",
                                    help="Fold in file order (late items are then dropped as the stream would)."),
    calibrate_from: str = typer.Option(None, "--calibrate-from", help="ISO date: print baselines instead."),
    calibrate_to: str = typer.Option(None, "--calibrate-to", help="ISO date, exclusive."),
) -> None:
    """Print the final index rows (JSON lines) the live topology publishes for these items."""
    s = load_settings()
    cfg = index_config(s)
    facts = read_facts(paths)
    if not file_order:
        facts.sort(key=lambda f: (f.ts, f.id))  # the items as an in-order stream delivers them
    out = reference(facts, cfg, close_all=close)
    if calibrate_from:
        lo = event_time_ms({"published_at": calibrate_from})
        hi = event_time_ms({"published_at": calibrate_to or "9999-01-01T00:00:00Z"})
        print(json.dumps(calibrate(out.finals, cfg.window_hours * 3600, lo, hi)))
        return
    for row in (out.updates + out.finals) if all_rows else out.finals:
        sys.stdout.write(json.dumps(row) + "\n")
    for alert in out.alerts:
        sys.stderr.write(f"alert {alert['id']}: {alert['message']}\n")
    sys.stderr.write(f"{len(out.finals)} final rows, {len(out.alerts)} alerts, {len(out.late)} late, "
                     f"{len(out.duplicates)} duplicates\n")
