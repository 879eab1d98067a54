"""Settings → the plain configs the libraries take, in one place.

The libraries below the edge (``streams/``, ``connectors/``, ``dashboard/``,
``devenv/``) take plain arguments and never read the environment; this module is
the one translation from :class:`tension.settings.Settings` to those arguments.
The CLI commands, the demo and the tests call it, so a setting means the same
thing wherever the product is started from.

The developer environment is imported inside :func:`local_cluster` and
:func:`local_registry` only: importing this module (as every command does)
never loads ``devenv`` (tests/unit/test_import_graph.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.config import IndexConfig, StreamConfig, TopicConfig
from tension.settings import LocalKafkaSettings, LocalRegistrySettings, Settings

if TYPE_CHECKING:  # pragma: no cover - types only
    from connectors.sinks.base import Sink
    from connectors.sinks.runner import SinkRunner
    from connectors.sinks.metrics import SinkMetrics
    from dashboard.api import ApiConfig
    from devenv.localkafka import LocalCluster
    from devenv.registry import LocalRegistry


def topic_config(s: Settings) -> TopicConfig:
    """The topic names and their partitions/replication."""
    t = s.topics
    return TopicConfig(raw=t.raw, classified=t.classified, index=t.index, alerts=t.alerts, deadletter=t.deadletter,
                       partitions=s.kafka.partitions, replication=s.kafka.replication)


def index_config(s: Settings) -> IndexConfig:
    """The plain config of the pure index reducer (shared by the worker and `tension index`)."""
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
    """The plain config the topology takes; `overrides` replace single fields (e.g. the web port)."""
    st = s.stream
    values = dict(
        bootstrap=s.bootstrap, connection=s.connection(), registry=s.registry(), app_id=st.app_id,
        topics=topic_config(s),
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


def sink_runner(sink: Sink, s: Settings, group_suffix: str, group: str | None = None,
                metrics: SinkMetrics | None = None) -> SinkRunner:
    """The runner that feeds `sink`: its own consumer group ``<group_prefix>-<suffix>`` unless `group`."""
    from connectors.sinks.runner import SinkRunner

    t = s.topics
    return SinkRunner(
        sink, bootstrap=s.bootstrap, topics={t.classified: "item", t.index: "index", t.alerts: "alert"},
        group_id=group or f"{s.sink.group_prefix}-{group_suffix}", deadletter_topic=t.deadletter,
        batch_size=s.sink.batch_size, batch_seconds=s.sink.batch_seconds, max_retry_s=s.sink.retry_max_s,
        session_timeout_ms=s.sink.session_timeout_ms, group_instance_id=s.sink.instance_id,
        registry=s.registry(), progress_every_s=s.sink.progress_s, connection=s.connection(), metrics=metrics,
    )


def publish_options(s: Settings) -> dict[str, Any]:
    """The keyword arguments every publish of `tension produce` shares (command-line flags override them)."""
    return dict(bootstrap=s.bootstrap, connection=s.connection(), topic=s.topics.raw,
                deadletter_topic=s.topics.deadletter, registry=s.registry(),
                max_body_bytes=s.producer.max_body_bytes, rate_per_s=s.producer.rate_per_s,
                connect_timeout_s=s.kafka.connect_timeout_s)


def dashboard_store_url(s: Settings, store: str | None = None) -> str:
    """The store the dashboard reads: `store`, else TENSION_DASHBOARD__STORE, else the sink's SQLite file."""
    return store or s.dashboard.store.get_secret_value() or f"sqlite:///{s.sink.sqlite_path.resolve()}"


def api_config(s: Settings, live_api_url: str | None = None) -> ApiConfig:
    """The dashboard API's plain config."""
    from dashboard.api import ApiConfig

    d = s.dashboard
    return ApiConfig(refresh_s=d.refresh_s, max_points=d.max_points, live_api_url=live_api_url or d.api_url)


#: run folder per (nodes, secure): the open sandbox, the quorum, the secured single node
LOCAL_RUN_DIRS = {(1, False): "run", (3, False): "run-3", (1, True): "run-secure"}


def local_cluster(cfg: LocalKafkaSettings, nodes: int = 1, run_dir: Path | None = None, secure: bool = False,
                  *, fetch: bool = True) -> LocalCluster:
    """The embedded broker described by settings; `nodes` and `secure` pick its run folder.

    Without `fetch` nothing is downloaded (for `down`/`status` on whatever ran before).
    """
    from devenv.localkafka import KafkaDistribution, LocalCluster, assemble

    if (nodes, secure) not in LOCAL_RUN_DIRS:
        raise ValueError("--secure runs a single node")
    dist = (assemble(cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version) if fetch
            else KafkaDistribution(cfg.version, cfg.lib_root / cfg.version))
    run = run_dir or cfg.home / LOCAL_RUN_DIRS[(nodes, secure)]
    return LocalCluster(dist, run, nodes=nodes, host=cfg.host, port=cfg.port,
                        controller_port=cfg.controller_port, heap=cfg.heap, secure=secure)


def local_registry(cfg: LocalRegistrySettings, *, fetch: bool = True) -> LocalRegistry:
    """The local schema registry described by settings; without `fetch` nothing is downloaded."""
    from devenv.registry import LocalRegistry, RegistryDistribution, assemble, find_runner

    if fetch:
        dist = assemble(cfg.home, cfg.version)
    else:
        app_dir = cfg.home / "app" / cfg.version
        dist = RegistryDistribution(cfg.version, app_dir, find_runner(app_dir) if app_dir.exists()
                                    else app_dir / "missing.jar")
    return LocalRegistry(dist, cfg.home / "run", host=cfg.host, port=cfg.port, heap=cfg.heap)
