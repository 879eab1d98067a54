"""`tension worker`: run the Faust topology (classification, index tables, alerts, HTTP API)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import typer

from streams.config import IndexConfig, StreamConfig, TopicConfig
from tension.preflight import require_kafka
from tension.settings import Settings, load_settings

app = typer.Typer()


def index_config(s: Settings) -> IndexConfig:
    """Settings → the plain config of the pure index reducer (shared by worker and `tension index`)."""
    st = s.stream
    values: dict[str, object] = dict(
        window_hours=st.window_hours, window_step_hours=st.window_step_hours, tumbling_days=st.tumbling_days,
        grace_hours=st.grace_hours, expires_days=st.expires_days, top_k=st.top_k, alert_level=st.alert_level,
        alert_k=st.alert_k, alert_trailing=st.alert_trailing, alert_min_trailing=st.alert_min_trailing,
        alert_min_items=st.alert_min_items, alert_cooldown_hours=st.alert_cooldown_hours,
        interval_level=st.interval_level, min_evidence=st.min_evidence,
    )
    if st.baselines is not None:
        values["baselines"] = dict(st.baselines)
    return IndexConfig(**values)  # type: ignore[arg-type]


def state_dir(data_dir: Path, app_id: str, web_port: int) -> Path:
    """The folder of one worker's table state: ``<data_dir>/<app_id>/port-<web_port>``.

    Faust keeps one app's tables in its datadir and refuses to start on tables of
    another app id (ConsistencyError); two workers on one host are told apart by
    their web port. Characters that are not safe in a path are replaced in the app id.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", app_id).lstrip(".") or "_"
    return Path(data_dir) / safe / f"port-{web_port}"


def stream_config(s: Settings, **overrides: object) -> StreamConfig:
    """Settings → the plain config the topology takes."""
    t = s.topics
    st = s.stream
    values = dict(
        bootstrap=s.bootstrap, connection=s.connection(), registry=s.registry(), app_id=st.app_id,
        topics=TopicConfig(raw=t.raw, classified=t.classified, index=t.index, alerts=t.alerts,
                           deadletter=t.deadletter, partitions=s.kafka.partitions,
                           replication=s.kafka.replication),
        web_host=st.web_host, web_port=st.web_port, web_builtin_views=st.web_builtin_views, store=st.store,
        standby_replicas=st.standby_replicas,
        index=replace(index_config(s), source_partitions=s.kafka.partitions),
        batch_max=st.batch_max, batch_within_s=st.batch_within_s, session_timeout_s=st.session_timeout_s,
        classify_within_s=st.classify_within_s, producer_batch_bytes=st.producer_batch_bytes,
        ready_max_lag=st.ready_max_lag,
    )
    values.update(overrides)
    values.setdefault("data_dir", state_dir(st.data_dir, str(values["app_id"]), int(values["web_port"])))  # type: ignore[call-overload]
    return StreamConfig(**values)  # type: ignore[arg-type]


@app.command()
def worker(
    web_port: int = typer.Option(None, help="HTTP port of this worker (default from settings)"),
    loglevel: str = typer.Option(None, help="Log level (default: TENSION_LOG_LEVEL)"),
) -> None:
    """Run one Faust worker; start several for more throughput (partitions rebalance)."""
    import faust

    from streams.app import create_app
    from tension.logs import faust_logging_config

    s = load_settings()
    # Faust retries a dead broker for ever; a worker that cannot start says so at once (exit 2)
    require_kafka(s.bootstrap, s.kafka.connect_timeout_s)
    cfg = stream_config(s, **({"web_port": web_port} if web_port else {}))
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    faust_app = create_app(cfg)
    level = (loglevel or s.log_level).upper()
    # Faust (mode) sets logging up itself when the worker starts; logging_config is its hook for ours
    faust.Worker(faust_app, loglevel=level, quiet=True,
                 logging_config=faust_logging_config(level, s.log_format)).execute_from_commandline()
