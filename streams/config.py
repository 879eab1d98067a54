"""Plain configuration of the stream topology, built by the CLI from Settings.

``streams`` never reads the environment: the edge passes a :class:`StreamConfig`
so tests and tools can build an app with any values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from schemas.connection import KafkaConnection
from schemas.models import CATEGORIES
from schemas.registry import RegistryConfig
from schemas.serde import TopicSerdes


@dataclass(frozen=True)
class TopicConfig:
    raw: str = "news.raw.v1"
    classified: str = "news.classified.v1"
    index: str = "tension.index.v1"
    alerts: str = "tension.alerts.v1"
    deadletter: str = "news.deadletter.v1"
    partitions: int = 3
    replication: int = 1
    # Records carry event time (published_at); with time-based retention the broker deletes
    # old news as soon as it is written (its timestamp is already past retention). Keep them.
    retention_ms: int = -1

    def roles(self) -> dict[str, str]:
        """Topic role → name, for every Avro topic (the keys of ``schemas.catalog.TOPIC_RECORDS``)."""
        return {"raw": self.raw, "classified": self.classified, "index": self.index, "alerts": self.alerts,
                "deadletter": self.deadletter}


# Baseline tension share per category (and "overall"), calibrated with
# `tension index seeds/corpus/*.jsonl --calibrate-from 2025-03-01 --calibrate-to 2025-10-01` as the mean S_c over
# the closed 24 h windows of 2025-03-01..2025-10-01 (see docs/index.md). A frozen constant keeps
# TI comparable over time: 100 means "as tense as the calibration period".
DEFAULT_BASELINES: dict[str, float] = {
    "trade_talks": 0.0722,
    "tariffs": 0.1316,
    "export_controls": 0.0742,
    "critical_minerals": 0.0363,
    "visas": 0.0426,
    "overall": 0.2719,
}


@dataclass(frozen=True)
class IndexConfig:
    """Everything the pure index reducer needs (streams.windows / streams.index)."""

    window_hours: int = 24
    window_step_hours: int = 1
    tumbling_days: int = 1
    grace_hours: float = 6.0
    expires_days: int = 60
    categories: tuple[str, ...] = CATEGORIES
    baselines: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BASELINES))
    top_k: int = 5
    alert_level: float = 200.0
    alert_k: float = 3.0
    alert_trailing: int = 14  # non-overlapping final 24 h values (days) behind a jump alert
    alert_min_trailing: int = 7
    alert_min_items: int = 3  # category items a window needs before it may alert
    alert_cooldown_hours: float = 24.0  # event time between two alerts of one category and rule
    interval_level: float = 0.95  # confidence level of the Wilson score intervals of share and index
    min_evidence: int = 10  # items (N(W)) below which a window's row is marked sparse
    source_partitions: int = 1  # partitions of news.raw.v1: the watermark waits for each of them


@dataclass(frozen=True)
class StreamConfig:
    bootstrap: str = "127.0.0.1:9092"
    app_id: str = "tension-stream"
    topics: TopicConfig = field(default_factory=TopicConfig)
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_enabled: bool = True
    web_builtin_views: bool = False  # Faust's /router and /table pages: expose live table state, 500 on bad names
    store: str = "rocksdb://"
    data_dir: Path = Path(".state/worker")
    standby_replicas: int = 0
    session_timeout_s: float = 60.0  # how long a SIGKILLed worker's partitions stay assigned to it
    index: IndexConfig = field(default_factory=IndexConfig)
    batch_max: int = 500  # raw records per classify batch; fact records (packs of a classify batch) per index batch
    # max wait to fill a batch: Faust's take_events waits this long after each batch unless the
    # batch fills, so it is the latency floor of each stage when the input is not saturated
    batch_within_s: float = 0.05  # index stage (rows cost per batch: fewer, bigger batches under load)
    classify_within_s: float = 0.02  # classify stage
    producer_batch_bytes: int = 512 * 1024  # per-partition producer batch; 16 KiB made sends wait on round trips
    classifier_engine: str = "rules"
    ready_max_lag: int = 1000  # /readyz: most records any assigned partition may be behind
    #: security of the worker's Kafka clients; None: PLAINTEXT to ``bootstrap``
    connection: KafkaConnection | None = None
    #: schema registry; None: Avro single-object encoding (no server), else Confluent framing on every output
    registry: RegistryConfig | None = None

    @property
    def serdes(self) -> TopicSerdes:
        """Serializers/deserializers of the worker's Avro topics, bound to ``topics`` and ``registry``."""
        return TopicSerdes(self.topics.roles(), self.registry)

    @property
    def kafka(self) -> KafkaConnection:
        """The connection the worker uses: ``connection`` with this config's bootstrap servers."""
        return (self.connection or KafkaConnection()).with_bootstrap(self.bootstrap)

    @property
    def facts_topic(self) -> str:
        """Internal single-partition topic feeding the index stage (packs of facts, ``streams.facts``)."""
        return f"{self.app_id}-index-facts"
