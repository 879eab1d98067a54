"""Settings for every tension-stream process, read once at the edge.

All configuration comes from environment variables prefixed ``TENSION_`` (or a
``.env`` file); nested groups use ``__`` as delimiter, e.g.
``TENSION_KAFKA__BOOTSTRAP`` or the short alias ``TENSION_KAFKA_BOOTSTRAP``.
The CLI builds one :class:`Settings` and passes plain values down, so library
classes never read the environment themselves. Secrets are ``SecretStr`` and
never appear in logs or ``repr``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TopicNames(BaseModel):
    """Kafka topic names; versioned so a breaking change gets a new topic."""

    raw: str = "news.raw.v1"
    classified: str = "news.classified.v1"
    index: str = "tension.index.v1"
    alerts: str = "tension.alerts.v1"
    deadletter: str = "news.deadletter.v1"

    def all(self) -> list[str]:
        return [self.raw, self.classified, self.index, self.alerts, self.deadletter]


class LocalKafkaSettings(BaseModel):
    """How `tension kafka up` assembles and runs the embedded broker."""

    version: str = "4.1.1"
    scala: str = "2.13"
    log4j_version: str = "2.24.3"
    home: Path = Field(default=PROJECT_ROOT / ".kafka", description="run folders: data, logs, pid files")
    lib_root: Path = Field(default=PROJECT_ROOT / ".kafka" / "lib", description="cached classpaths, one per version")
    host: str = "127.0.0.1"
    port: int = Field(default=9092, ge=1, le=65535, description="client port of node 1")
    controller_port: int = Field(default=9093, ge=1, le=65535)
    heap: str = "512m"
    start_timeout_s: float = Field(default=90.0, gt=0)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        # The embedded broker has no authentication: never expose it.
        if not (value.startswith("127.") or value in {"localhost", "::1"}):
            raise ValueError("the embedded broker binds to loopback only (127.x, localhost, ::1)")
        return value


class KafkaSettings(BaseModel):
    bootstrap: str = "127.0.0.1:9092"
    partitions: int = Field(default=3, ge=1)
    replication: int = Field(default=1, ge=1)
    client_id: str = "tension-stream"


class StreamSettings(BaseModel):
    """Faust worker parameters."""

    app_id: str = "tension-stream"
    web_port: int = Field(default=6066, ge=1, le=65535)
    web_host: str = "127.0.0.1"
    window_hours: int = Field(default=24, ge=1, description="hopping window size")
    window_step_hours: int = Field(default=1, ge=1)
    tumbling_days: int = Field(default=1, ge=1)
    grace_hours: float = Field(default=6.0, ge=0)
    expires_days: int = Field(default=60, ge=1)
    store: str = Field(default="rocksdb://", description="rocksdb:// (rocksdict, durable) or memory://")
    data_dir: Path = PROJECT_ROOT / ".state" / "worker"
    standby_replicas: int = Field(default=0, ge=0, description="standby copies of each table partition")
    baselines: dict[str, float] | None = Field(
        default=None, description="baseline share per category and 'overall' (JSON); default: streams.config")
    top_k: int = Field(default=5, ge=1)
    alert_level: float = Field(default=200.0, gt=0, description="24h index level that raises an alert")
    alert_k: float = Field(default=3.0, gt=0, description="jump alert: std deviations from the trailing mean")
    alert_trailing: int = Field(default=24, ge=2, description="trailing final 24h values kept per category")
    batch_max: int = Field(default=500, ge=1, description="facts folded per index batch")
    batch_within_s: float = Field(default=0.2, gt=0)
    session_timeout_s: float = Field(default=60.0, gt=0, description="consumer group session timeout")


class SinkSettings(BaseModel):
    sqlite_path: Path = PROJECT_ROOT / "var" / "tension.sqlite"
    postgres_dsn: SecretStr = SecretStr("")
    files_dir: Path = Field(default=PROJECT_ROOT / "var" / "files", description="root of the JSONL files sink")
    batch_size: int = Field(default=500, ge=1)
    batch_seconds: float = Field(default=1.0, gt=0)
    group_prefix: str = "tension-sink"
    retry_max_s: float = Field(default=5.0, gt=0, description="backoff cap while the store is unavailable")
    session_timeout_ms: int = Field(default=10_000, ge=6_000, description="consumer group session timeout")
    instance_id: str | None = Field(default=None, description="static group membership: a restart takes over at once")


class LocalRegistrySettings(BaseModel):
    """How `tension registry up` fetches and runs Apicurio Registry (in-memory storage)."""

    version: str = "3.0.9"
    home: Path = Field(default=PROJECT_ROOT / ".registry", description="bundle cache, run folder, log, pid")
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    heap: str = "384m"
    start_timeout_s: float = Field(default=90.0, gt=0)


class ProducerSettings(BaseModel):
    max_body_bytes: int = Field(default=100_000, ge=1)
    strict: bool = False
    rate_per_s: float | None = Field(default=None, gt=0)


class DashboardSettings(BaseModel):
    """`tension dashboard`: where it listens and what it reads.

    ``store`` is a URL (``sqlite:///relative.db``, ``sqlite:////abs.db`` or
    ``postgresql://...``); empty means the sink's SQLite file. It is a secret
    because a PostgreSQL DSN may carry a password.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    store: SecretStr = SecretStr("")
    api_url: str | None = Field(default=None, description="the worker's live HTTP API, optional")
    refresh_s: float = Field(default=5.0, gt=0, le=3600, description="how often the page polls")
    max_points: int = Field(default=50_000, ge=100, description="cap on rows one series request returns")


class Settings(BaseSettings):
    """The whole configuration; see docs/configuration.md for every field."""

    model_config = SettingsConfigDict(
        env_prefix="TENSION_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    local_kafka: LocalKafkaSettings = LocalKafkaSettings()
    topics: TopicNames = TopicNames()
    stream: StreamSettings = StreamSettings()
    sink: SinkSettings = SinkSettings()
    producer: ProducerSettings = ProducerSettings()
    local_registry: LocalRegistrySettings = LocalRegistrySettings()
    dashboard: DashboardSettings = DashboardSettings()
    # Confluent-compatible Schema Registry (e.g. http://127.0.0.1:8081/apis/ccompat/v7); when set,
    # writers use Confluent framing (magic 0 + schema id), else Avro single-object encoding.
    registry_url: str | None = None
    # Short alias documented in the README: TENSION_KAFKA_BOOTSTRAP wins when set.
    kafka_bootstrap: str | None = Field(
        default=None, validation_alias=AliasChoices("TENSION_KAFKA_BOOTSTRAP", "kafka_bootstrap")
    )
    log_level: str = "INFO"

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or self.kafka.bootstrap


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; the CLI calls this and passes values down."""
    return Settings(**overrides)  # type: ignore[arg-type]
