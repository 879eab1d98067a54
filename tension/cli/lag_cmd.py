"""`tension lag`: committed offset, end offset and lag per consumer group and partition (tension.lag)."""

from __future__ import annotations

import json

import typer

app = typer.Typer()


@app.command()
def lag(
    group: list[str] = typer.Option(None, "--group", "-g",
                                    help="a group to show (repeatable); default: the worker's and every sink's"),
    as_json: bool = typer.Option(False, "--json", help="one JSON array of {group, topic, partition, committed, "
                                 "end, lag} objects"),
) -> None:
    """Consumer lag of the product's groups: the worker (TENSION_STREAM__APP_ID) and the sinks (<prefix>-*)."""
    from tension.lag import group_lags, table
    from tension.preflight import require_kafka
    from tension.settings import load_settings

    s = load_settings()
    require_kafka(s.bootstrap, s.kafka.connect_timeout_s)  # unreachable: one line, exit 2 (tension.cli.main)
    rows = group_lags(s.connection(), groups=group or None, app_id=s.stream.app_id,
                      sink_prefix=s.sink.group_prefix, timeout_s=max(s.kafka.connect_timeout_s, 5.0))
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows]))
    elif rows:
        typer.echo(table(rows))
    else:
        typer.echo("no committed offsets for the product's consumer groups yet", err=True)
