"""Plain configuration of the stream topology, built by the CLI from Settings.

``streams`` never reads the environment: the edge passes a :class:`StreamConfig`
so tests and tools can build an app with any values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TopicConfig:
    raw: str = "news.raw.v1"
    classified: str = "news.classified.v1"
    index: str = "tension.index.v1"
    alerts: str = "tension.alerts.v1"
    deadletter: str = "news.deadletter.v1"
    partitions: int = 3
    replication: int = 1


@dataclass(frozen=True)
class StreamConfig:
    bootstrap: str = "127.0.0.1:9092"
    app_id: str = "tension-stream"
    topics: TopicConfig = field(default_factory=TopicConfig)
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_enabled: bool = True
    store: str = "memory://"
    data_dir: Path = Path(".state/worker")
    window_hours: int = 24
    window_step_hours: int = 1
    tumbling_days: int = 1
    grace_hours: float = 6.0
    expires_days: int = 60
    classifier_engine: str = "rules"
