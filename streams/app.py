"""Builds the one ``faust.App`` of tension-stream, with explicit module discovery.

No autodiscovery: topics, tables, each agent module and the web views are
registered here in order, so what runs is exactly what this file lists.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.sensors.monitor import Monitor

from schemas.connection import KafkaConnection
from streams import faust_fixes
from streams import tables as tables_module
from streams import topics as topics_module
from streams import web
from streams.agents import classify as classify_agents
from streams.agents import index as index_agents
from streams.config import StreamConfig

AGENT_MODULES = (classify_agents, index_agents)


def broker_credentials(conn: KafkaConnection) -> faust.types.auth.CredentialsT | None:
    """Faust's ``broker_credentials`` for a connection (None for PLAINTEXT); Faust hands them to aiokafka."""
    if conn.sasl:
        return faust.SASLCredentials(username=conn.username, password=conn.password,
                                     ssl_context=conn.ssl_context(), mechanism=conn.sasl_mechanism)
    if conn.tls:
        return faust.SSLCredentials(conn.ssl_context())
    return None


class LeanMonitor(Monitor):
    """Faust's Monitor without its per-record and per-table-key bookkeeping.

    Faust calls the monitor for every record in and out of a stream and every table
    read and write; its counters and timings (2 % of the worker's samples in the
    issue-15 profile) feed only Faust's own /stats pages, which we do not serve (our
    metrics count per batch, ``streams.metrics``). Kept: ``stream_inbound_time``,
    which Faust's slow-processing diagnostics read, and every per-commit or
    per-assignment hook.
    """

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.tp_read_offsets[tp] = offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        self.stream_inbound_time[tp] = self.time()
        return None

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_table_del(self, table: Any, key: Any) -> None:
        return None


def create_app(cfg: StreamConfig) -> faust.App:
    faust_fixes.apply()
    conn = cfg.kafka
    app = faust.App(
        cfg.app_id,
        broker=[f"kafka://{hp}" for hp in conn.bootstrap.split(",")],
        broker_credentials=broker_credentials(conn),
        store=cfg.store,
        datadir=str(cfg.data_dir),
        autodiscover=False,
        web_enabled=cfg.web_enabled,
        web_host=cfg.web_host,
        web_port=cfg.web_port,
        web_bind=cfg.web_host,
        # Faust's own /router and /table pages show live table contents to anyone and answer
        # 500/503 for unknown names: off unless asked for (TENSION_STREAM__WEB_BUILTIN_VIEWS).
        web_router_enabled=cfg.web_builtin_views,
        web_tables_enabled=cfg.web_builtin_views,
        web_application_options={"middlewares": [web.json_http_errors]},  # 404/405 as JSON bodies too
        canonical_url=f"http://{cfg.web_host}:{cfg.web_port}",  # where other workers forward API calls
        topic_partitions=cfg.topics.partitions,
        topic_replication_factor=cfg.topics.replication,
        topic_allow_declare=True,
        table_standby_replicas=cfg.standby_replicas,
        broker_session_timeout=cfg.session_timeout_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        table_cleanup_interval=30.0,
        # aiokafka keeps one request in flight per broker and makes a send wait when its
        # partition's batch is full: bigger batches let a busy stage keep enqueuing.
        producer_max_batch_size=cfg.producer_batch_bytes,
        Monitor=LeanMonitor,
    )
    topics = topics_module.declare(app, cfg)
    tables = tables_module.declare(app, cfg)
    for module in AGENT_MODULES:
        module.register(app, topics, tables, cfg)
    web.register(app, tables, cfg)
    return app
