"""`tension produce PATH... | -`: publish news files, folders, URLs or stdin to Kafka.

Exit codes (tension/exits.py; docs/contracts.md, "Exit codes"): 0 when every record read was
published or dead-lettered; 1 when, with ``--strict``, anything was rejected,
or when a dead letter or any record could not be delivered (still
unacknowledged after ``--close-timeout``); 2 only when the broker or the schema
registry cannot be reached at the start (and, as for every click command, for
command-line usage errors).
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from connectors.sources import PublishReport, publish_paths
from connectors.sources.exceptions import BrokerUnreachableError, PublishError, UndeliveredError
from connectors.sources.producers import BACKENDS, CLOSE_TIMEOUT_S, DEFAULT_MAX_MESSAGE_BYTES
from schemas.exceptions import RegistryError, SchemaError
from tension.exits import EXIT_INVALID, EXIT_UNREACHABLE, error_line, fail
from tension.settings import Settings, load_settings
from tension.wiring import publish_options

app = typer.Typer()
console = Console(stderr=True, soft_wrap=True)  # one error, one line: no wrapping at 80 columns



def _check_backend(value: str) -> str:
    if value not in BACKENDS:
        raise typer.BadParameter(f"choose one of {', '.join(BACKENDS)}")
    return value


@app.command()
def produce(
    paths: list[str] = typer.Argument(..., help="Files, folders (recursive), http(s) URLs, or - for stdin."),
    topic: str | None = typer.Option(None, help="Target topic (default: settings topics.raw)."),
    strict: bool | None = typer.Option(None, "--strict/--lenient",
                                       help="Reject unknown fields and exit 1 if anything was rejected."),
    rate: float | None = typer.Option(None, min=0.001, help="At most this many records per second."),
    max_body_bytes: int | None = typer.Option(None, min=1, help="Reject bodies longer than this (UTF-8 bytes)."),
    max_message_bytes: int = typer.Option(
        DEFAULT_MAX_MESSAGE_BYTES, min=65_536,
        help="Largest Kafka record sent (the producer's message.max.bytes); keep it at or below the topics' "
             "max.message.bytes. Larger items are dead-lettered (oversize)."),
    close_timeout: float = typer.Option(
        CLOSE_TIMEOUT_S, min=0.0,
        help="Seconds to wait at the end for acknowledgements; records still pending then make the exit code 1."),
    connect_timeout: float | None = typer.Option(
        None, min=0.5, help="Seconds to wait for a first broker; none answering exits 2 "
                            "(default: TENSION_KAFKA__CONNECT_TIMEOUT_S)."),
    backend: str = typer.Option("auto", callback=_check_backend,
                                help="Producer client: auto, confluent or kafka-python."),
    in_time_order: bool = typer.Option(False, "--in-time-order",
                                       help="Backfill: read everything, publish by publication time."),
    follow: bool = typer.Option(False, "--follow",
                                help="Keep polling the feeds, files and folders; publish only entries not seen "
                                     "before (state: TENSION_PRODUCER__FOLLOW_STATE). Stops on SIGTERM/Ctrl-C."),
    interval: str = typer.Option("60s", callback=lambda v: _check_interval(v),
                                 help="--follow: time between polls of each source, e.g. 30s, 5m, 1h."),
    state: Path | None = typer.Option(None, help="--follow: state file (default: TENSION_PRODUCER__FOLLOW_STATE)."),
) -> None:
    """Validate every item, publish good ones (key = id, timestamp = published_at), dead-letter the rest.

    Exit 0: all read records published or dead-lettered. Exit 1: --strict and something was rejected, or a
    record or dead letter was not delivered. Exit 2: the broker or schema registry cannot be reached.
    """
    missing = [p for p in paths if p != "-" and "://" not in p and not Path(p).exists()]
    if missing:  # a typo is the user's to fix, not a dead letter: fail before connecting anywhere
        fail(f"no such file or directory: {', '.join(missing)}", EXIT_INVALID)
    settings = load_settings()
    strict_mode = settings.producer.strict if strict is None else strict
    if follow:
        if in_time_order:
            raise typer.BadParameter("a followed source is published as it arrives", param_hint="--in-time-order")
        _follow(paths, settings, topic=topic, strict=strict_mode, interval_s=parse_duration(interval),
                rate=rate or settings.producer.rate_per_s,
                state=state, backend=backend, max_message_bytes=max_message_bytes,
                close_timeout=close_timeout, connect_timeout=connect_timeout, max_body_bytes=max_body_bytes)
        return
    _require_kafka(settings, connect_timeout)
    opts = _options(settings, topic=topic, max_body_bytes=max_body_bytes, rate=rate, connect_timeout=connect_timeout)
    try:
        report = publish_paths(paths, **opts, strict=strict_mode, progress=sys.stderr.isatty(), backend=backend,
                               in_time_order=in_time_order, max_message_bytes=max_message_bytes,
                               close_timeout_s=close_timeout)
    except (BrokerUnreachableError, RegistryError) as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except UndeliveredError as exc:
        if isinstance(exc.report, PublishReport):
            _print_report(exc.report, opts["topic"])
        fail(str(exc), EXIT_INVALID)
    except (PublishError, SchemaError) as exc:  # e.g. an unknown schema: a broken install, not the network
        fail(str(exc), EXIT_INVALID)
    acl_named = _print_report(report, opts["topic"])
    # The exit follows the line printed, not only the delivery report's error code: under load
    # librdkafka can hand back the same refusal under another code, with the name only in its text.
    if report.unauthorized or acl_named:  # the report above already named the missing ACL in one line
        raise typer.Exit(EXIT_INVALID)
    if report.dead_letter_failures or (strict_mode and report.rejected):
        raise typer.Exit(EXIT_INVALID)


def _require_kafka(settings: Settings, connect_timeout: float | None) -> None:
    """The same one line as every other command, exit 2, whichever client would have timed out (each words it
    otherwise)."""
    from tension.preflight import ServiceUnreachable, require_kafka

    try:
        require_kafka(settings.bootstrap, connect_timeout or settings.kafka.connect_timeout_s)
    except ServiceUnreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)


def _options(settings: Settings, *, topic: str | None, max_body_bytes: int | None, rate: float | None,
             connect_timeout: float | None) -> dict[str, Any]:
    """The settings' publish options (tension.wiring), with the command-line flags that were given laid over."""
    flags = {"topic": topic, "max_body_bytes": max_body_bytes, "rate_per_s": rate, "connect_timeout_s": connect_timeout}
    return {**publish_options(settings), **{k: v for k, v in flags.items() if v}}


def _print_report(report: PublishReport, topic: str | None = None) -> bool:
    """Print the rejections and the summary; True when a rejection was an authorization refusal."""
    for rejection in report.rejected[:20]:
        ref = escape(rejection.source_ref.encode("utf-8", "backslashreplace").decode()[:300])
        message = escape(rejection.message.encode("utf-8", "backslashreplace").decode()[:300])
        console.print(f"[yellow]rejected[/yellow] {ref} {escape(f'[{rejection.reason}]')} {message}")
    if len(report.rejected) > 20:
        console.print(f"... and {len(report.rejected) - 20} more rejection(s)")
    console.print(report.summary())
    from tension.kafka_errors import describe_kafka_text

    for rejection in report.rejected:  # refused for a missing ACL: say which, once
        problem = describe_kafka_text(rejection.message, topic=topic, operation="Write")
        if problem:
            print(error_line(problem.message), file=sys.stderr, flush=True)
            return True
    return False


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


def parse_duration(text: str) -> float:
    """``250ms``, ``30s``, ``5m``, ``1h`` or a bare number of seconds → seconds (> 0)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _check_interval(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _follow(paths: list[str], settings: Settings, *, topic: str | None, strict: bool, interval_s: float,
            rate: float | None, state: Path | None, backend: str, max_message_bytes: int, close_timeout: float,
            connect_timeout: float | None, max_body_bytes: int | None) -> None:
    """Poll until SIGTERM/SIGINT; the poll under way finishes, its entries published and recorded."""
    from connectors.sources.follow import Follower, FollowStateError
    from connectors.sources.normalize import ReadOptions
    from connectors.sources.publisher import Publisher
    from tension.cli import configure_logging
    if "-" in paths:
        raise typer.BadParameter("stdin cannot be followed", param_hint="PATHS")
    configure_logging(settings.log_level, settings.log_format)
    _require_kafka(settings, connect_timeout)
    opts = _options(settings, topic=topic, max_body_bytes=max_body_bytes, rate=rate, connect_timeout=connect_timeout)
    try:
        publisher = Publisher(bootstrap=opts["bootstrap"], topic=opts["topic"],
                              deadletter_topic=opts["deadletter_topic"], registry=opts["registry"],
                              backend=backend, max_message_bytes=max_message_bytes, close_timeout_s=close_timeout,
                              rate_per_s=opts["rate_per_s"], connect_timeout_s=opts["connect_timeout_s"])
    except (BrokerUnreachableError, RegistryError) as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    try:
        follower = Follower(paths, publish=publisher.publish, state_path=state or settings.producer.follow_state,
                            interval_s=interval_s, max_backoff_s=settings.producer.follow_max_backoff_s,
                            opts=ReadOptions(max_body_bytes=max_body_bytes or settings.producer.max_body_bytes,
                                             strict=strict))
    except FollowStateError as exc:
        publisher.close()
        fail(str(exc), EXIT_INVALID)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: follower.stop())
    server = None
    try:
        server = _follow_metrics(follower, settings)
        follower.run()
    finally:
        publisher.close()
        if server is not None:
            server.stop()


def _follow_metrics(follower: Any, settings: Settings) -> Any:
    """Serve the follower's counters on TENSION_PRODUCER__METRICS_PORT (unset: not served)."""
    from prometheus_client import REGISTRY

    from tension.observe import FOLLOW_METRICS, SamplesCollector, serve_observe

    p = settings.producer
    if p.metrics_port is None:
        return None
    REGISTRY.register(SamplesCollector(follower.metrics.samples, FOLLOW_METRICS))
    try:
        return serve_observe(p.metrics_host, p.metrics_port)
    except OSError as exc:
        fail(f"cannot serve metrics on {p.metrics_host}:{p.metrics_port} (TENSION_PRODUCER__METRICS_PORT): "
             f"{exc.strerror or exc}", EXIT_INVALID)
