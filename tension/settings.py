"""Settings for every tension-stream process, read once at the edge.

All configuration comes from environment variables prefixed ``TENSION_`` (or a
``.env`` file); nested groups use ``__`` as delimiter, e.g.
``TENSION_KAFKA__BOOTSTRAP`` or the short alias ``TENSION_KAFKA_BOOTSTRAP``.
The CLI builds one :class:`Settings` and passes plain values down, so library
classes never read the environment themselves. Secrets are ``SecretStr`` and
never appear in logs or ``repr``.

Data paths (stores, worker state, the embedded broker's and registry's folders)
are relative by default and anchored once, when settings are read, to
``TENSION_HOME`` or else the working directory — never to the package
directory, which for an installed wheel is inside site-packages. So
``tension config`` and every component see the same absolute paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.connection import KafkaConnection
from schemas.registry import RegistryConfig

#: The checkout (or site-packages, for an installed wheel): where the code is, never where data goes.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: group → fields holding data paths: relative values are anchored to TENSION_HOME or the working directory
DATA_PATHS: dict[str, tuple[str, ...]] = {
    "local_kafka": ("home", "lib_root"),
    "stream": ("data_dir",),
    "sink": ("sqlite_path", "files_dir"),
    "local_registry": ("home",),
    "producer": ("follow_state",),
}


class TopicNames(BaseModel):
    """Kafka topic names; versioned so a breaking change gets a new topic."""

    raw: str = Field(default="news.raw.v1", description="news items as published by the sources (key: item id)")
    classified: str = Field(default="news.classified.v1", description="classified items (key: item id)")
    index: str = Field(default="tension.index.v1", description="tension-index rows (key: category)")
    alerts: str = Field(default="tension.alerts.v1", description="alerts (key: category)")
    deadletter: str = Field(default="news.deadletter.v1", description="bad input with the reason, from every stage")


class LocalKafkaSettings(BaseModel):
    """How `tension kafka up` assembles and runs the embedded broker."""

    version: str = Field(default="4.1.1", description="Apache Kafka version fetched from Maven Central")
    scala: str = Field(default="2.13", description="Scala suffix of the kafka artifact")
    log4j_version: str = Field(default="2.24.3", description="log4j2 version of the logging bridge the POM leaves out")
    home: Path = Field(default=Path(".kafka"), description="run folders: data, logs, pid files")
    lib_root: Path = Field(default=Path(".kafka/lib"), description="cached classpaths, one per version")
    host: str = Field(default="127.0.0.1", description="bind address (loopback only)")
    port: int = Field(default=9092, ge=1, le=65535, description="client port of node 1")
    controller_port: int = Field(default=9093, ge=1, le=65535, description="KRaft controller port of node 1")
    heap: str = Field(default="512m", description="JVM -Xmx per node")
    start_timeout_s: float = Field(default=90.0, gt=0, description="seconds to wait until the broker answers")

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        # The embedded broker has no authentication: never expose it.
        if not (value.startswith("127.") or value in {"localhost", "::1"}):
            raise ValueError("the embedded broker binds to loopback only (127.x, localhost, ::1)")
        return value


class KafkaSettings(BaseModel):
    bootstrap: str = Field(default="127.0.0.1:9092", description="bootstrap servers (TENSION_KAFKA_BOOTSTRAP overrides)")
    partitions: int = Field(default=3, ge=1, description="partitions of the product topics")
    replication: int = Field(default=1, ge=1, description="replication factor of the product topics")
    client_id: str = Field(default="tension-stream", description="Kafka client id prefix")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="commands fail (exit 2) when no bootstrap server accepts a connection within this")
    # Security: one group for every client (producer, worker, sinks, admin); see README "Deploy on an existing cluster".
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    username: str | None = Field(default=None, description="SASL username (the principal User:<username>)")
    password: SecretStr = Field(default=SecretStr(""), description="SASL password (secret)")
    ca_file: Path | None = Field(default=None, description="PEM file of the CA(s) the brokers' certificates chain to; unset: the system store")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM) for mTLS")
    key_file: Path | None = Field(default=None, description="private key (PEM) of the client certificate")
    key_password: SecretStr = Field(default=SecretStr(""), description="password of key_file, if encrypted (secret)")
    check_hostname: bool = Field(default=True, description="verify that a broker's certificate names the host dialled")
    extra: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="extra librdkafka properties (JSON object) for producer, sinks and admin; values are masked")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        # The same checks as KafkaConnection's, here so a contradiction names TENSION_KAFKA (exit 1).
        if self.security_protocol.startswith("SASL_") and not (self.username and self.password.get_secret_value()):
            raise ValueError(f"{self.security_protocol} needs TENSION_KAFKA__USERNAME and TENSION_KAFKA__PASSWORD")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("a client certificate needs both TENSION_KAFKA__CERT_FILE and TENSION_KAFKA__KEY_FILE")
        if (self.cert_file or self.ca_file) and self.security_protocol not in ("SSL", "SASL_SSL"):
            raise ValueError("TENSION_KAFKA__CA_FILE/CERT_FILE need security_protocol SSL or SASL_SSL")
        return self


class StreamSettings(BaseModel):
    """Faust worker parameters."""

    app_id: str = Field(default="tension-stream", description="Faust app id: consumer group and prefix of internal topics")
    web_port: int = Field(default=6066, ge=1, le=65535, description="HTTP port of the worker (API)")
    web_host: str = Field(default="127.0.0.1", description="HTTP bind address of the worker")
    web_builtin_views: bool = Field(
        default=False, description="serve Faust's /router and /table pages (they show live table state)")
    window_hours: int = Field(default=24, ge=1, description="hopping window size")
    window_step_hours: int = Field(default=1, ge=1, description="hop of the hopping window")
    tumbling_days: int = Field(default=1, ge=1, description="size of the tumbling window")
    grace_hours: float = Field(default=6.0, ge=0, description="how late an item may arrive and still count")
    expires_days: int = Field(default=60, ge=1, description="retention of window state and of item ids for dedup")
    store: str = Field(default="rocksdb://", description="rocksdb:// (rocksdict, durable) or memory://")
    data_dir: Path = Field(default=Path(".state/worker"),
                           description="root of table state (RocksDB); each worker uses <data_dir>/<app_id>/port-<web_port>")
    standby_replicas: int = Field(default=0, ge=0, description="standby copies of each table partition")
    baselines: dict[str, float] | None = Field(
        default=None, description="baseline share per category and 'overall' (JSON); default: streams.config")
    top_k: int = Field(default=5, ge=1, description="contributing item ids kept per index row")
    alert_level: float = Field(default=200.0, gt=0, description="24h index level that raises an alert")
    alert_k: float = Field(default=3.0, gt=0, description="jump alert: std deviations from the trailing mean")
    alert_trailing: int = Field(
        default=14, ge=2, description="jump alert: history of non-overlapping final 24h values (days) per category")
    alert_min_trailing: int = Field(default=7, ge=2, description="jump alert: history values needed before it may fire")
    alert_min_items: int = Field(default=3, ge=1, description="category items a 24h window needs before it may alert")
    alert_cooldown_hours: float = Field(
        default=24.0, ge=0, description="event time between two alerts of the same category and rule")
    interval_level: float = Field(
        default=0.95, gt=0.5, lt=1, description="confidence level of the share's and index's Wilson intervals")
    min_evidence: int = Field(
        default=10, ge=1, description="items in a window (N(W)) below which its row is marked sparse")
    batch_max: int = Field(default=500, ge=1, description="records per classify batch and fact records (packs) per index batch")
    batch_within_s: float = Field(default=0.05, gt=0, description="max wait to fill an index batch (latency when idle)")
    classify_within_s: float = Field(default=0.02, gt=0, description="max wait to fill a classify batch (latency when idle)")
    producer_batch_bytes: int = Field(
        default=512 * 1024, ge=16384, le=1_000_000, description="worker producer batch per partition (bytes)")
    session_timeout_s: float = Field(default=60.0, gt=0, description="consumer group session timeout")
    ready_max_lag: int = Field(default=1000, ge=0, description="/readyz answers 503 while an assigned partition is more records behind than this")


class SinkSettings(BaseModel):
    sqlite_path: Path = Field(default=Path("var/tension.sqlite"), description="SQLite store file")
    postgres_dsn: SecretStr = Field(default=SecretStr(""), description="PostgreSQL DSN (secret)")
    files_dir: Path = Field(default=Path("var/files"), description="root of the JSONL files sink")
    batch_size: int = Field(default=500, ge=1, description="rows per store transaction")
    batch_seconds: float = Field(default=1.0, gt=0, description="max wait to fill a batch")
    group_prefix: str = Field(default="tension-sink", description="consumer group prefix; the sink kind is appended")
    retry_max_s: float = Field(default=5.0, gt=0, description="backoff cap while the store is unavailable")
    session_timeout_ms: int = Field(default=10_000, ge=6_000, description="consumer group session timeout")
    instance_id: str | None = Field(default=None, description="static group membership: a restart takes over at once")
    connect_timeout_s: int = Field(default=5, ge=1, le=60, description="seconds to wait for the store (PostgreSQL) before failing with exit 2")
    progress_s: float = Field(default=30.0, gt=0, description="seconds between a sink's progress log lines (rows, rate, lag)")
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="port of the sink's /metrics, /healthz and /readyz; unset: not served")
    metrics_host: str = Field(default="127.0.0.1", description="bind address of the sink's metrics and health port")
    ready_max_lag: int = Field(default=1000, ge=0, description="/readyz answers 503 while an assigned partition is more records behind than this")


class LocalRegistrySettings(BaseModel):
    """How `tension registry up` fetches and runs Apicurio Registry (in-memory storage)."""

    version: str = Field(default="3.0.9", description="Apicurio Registry version fetched from Maven Central")
    home: Path = Field(default=Path(".registry"), description="bundle cache, run folder, log, pid")
    host: str = Field(default="127.0.0.1", description="bind address (loopback only)")
    port: int = Field(default=8081, ge=1, le=65535, description="HTTP port of the local registry")
    heap: str = Field(default="384m", description="JVM -Xmx")
    start_timeout_s: float = Field(default=90.0, gt=0, description="seconds to wait until the registry answers")


class ProducerSettings(BaseModel):
    max_body_bytes: int = Field(default=100_000, ge=1, description="bodies above this are dead-lettered (oversize)")
    strict: bool = Field(default=False, description="reject unknown fields instead of ignoring them")
    rate_per_s: float | None = Field(default=None, gt=0, description="publish at most this many items per second")
    follow_state: Path = Field(default=Path("var/follow-state.json"),
                               description="produce --follow: what was published per source (kept across restarts)")
    follow_max_backoff_s: float = Field(default=900.0, gt=0, description="produce --follow: longest wait after repeated failures of one source")
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="produce --follow: port of /metrics, /healthz, /readyz; unset: not served")
    metrics_host: str = Field(default="127.0.0.1", description="produce --follow: bind address of the metrics port")


class DashboardSettings(BaseModel):
    """`tension dashboard`: where it listens and what it reads.

    ``store`` is a URL (``sqlite:///relative.db``, ``sqlite:////abs.db`` or
    ``postgresql://...``); empty means the sink's SQLite file. It is a secret
    because a PostgreSQL DSN may carry a password.
    """

    host: str = Field(default="127.0.0.1", description="bind address of the dashboard")
    port: int = Field(default=8765, ge=0, le=65535, description="HTTP port of the dashboard")
    store: SecretStr = Field(default=SecretStr(""), description="store URL: sqlite:///... or postgresql://... (secret); empty: the sink SQLite file")
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
    # Producer, both worker stages, sinks and dead letters all switch on this one setting.
    registry_url: SecretStr | None = Field(default=None, description="Confluent-compatible Schema Registry URL (secret: it may carry user:password); set: every writer uses Confluent framing, schemas registered as <topic>-value; unset: Avro single-object encoding")
    registry_username: str | None = Field(default=None, description="Schema Registry basic-auth user (with TENSION_REGISTRY_PASSWORD)")
    registry_password: SecretStr = Field(default=SecretStr(""), description="Schema Registry basic-auth password (secret)")
    # Short alias documented in the README: TENSION_KAFKA_BOOTSTRAP wins when set.
    kafka_bootstrap: str | None = Field(
        default=None, validation_alias=AliasChoices("TENSION_KAFKA_BOOTSTRAP", "kafka_bootstrap"),
        description="short alias of TENSION_KAFKA__BOOTSTRAP; wins when set",
    )
    home: Path | None = Field(
        default=None, description="base of every relative data path (stores, worker state, embedded Kafka and registry folders); unset: the working directory")
    log_level: str = Field(default="INFO", description="log level of every process")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object per line from every process")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
            raise ValueError("choose one of CRITICAL, ERROR, WARNING, INFO, DEBUG")
        return value.upper()

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or self.kafka.bootstrap

    @model_validator(mode="after")
    def _anchor_data_paths(self) -> Settings:
        base = self.home_dir
        for group, names in DATA_PATHS.items():
            section = getattr(self, group)
            update = {n: base / getattr(section, n) for n in names if not getattr(section, n).is_absolute()}
            if update:
                setattr(self, group, section.model_copy(update=update))
        return self

    @property
    def home_dir(self) -> Path:
        """The absolute folder relative data paths are anchored to: TENSION_HOME, else the working directory."""
        home = (self.home or Path.cwd()).expanduser()
        return home if home.is_absolute() else Path.cwd() / home

    @model_validator(mode="after")
    def _registry_auth(self) -> Settings:
        if bool(self.registry_username) != bool(self.registry_password.get_secret_value()):
            raise ValueError("registry basic auth needs both TENSION_REGISTRY_USERNAME and TENSION_REGISTRY_PASSWORD")
        if self.registry_username and not self.registry():
            raise ValueError("TENSION_REGISTRY_USERNAME is set but TENSION_REGISTRY_URL is not")
        return self

    def registry(self) -> RegistryConfig | None:
        """The registry for library code (plain values, never logged); None: single-object encoding."""
        url = self.registry_url.get_secret_value() if self.registry_url is not None else ""
        if not url:
            return None
        return RegistryConfig(url, self.registry_username or None, self.registry_password.get_secret_value() or None)

    def connection(self) -> KafkaConnection:
        """The plain connection description every Kafka client below the edge is built from."""
        k = self.kafka

        def opt(path: Path | None) -> str | None:
            return str(path) if path else None

        return KafkaConnection(
            bootstrap=self.bootstrap, security_protocol=k.security_protocol, sasl_mechanism=k.sasl_mechanism,
            username=k.username, password=k.password.get_secret_value() or None, ca_file=opt(k.ca_file),
            cert_file=opt(k.cert_file), key_file=opt(k.key_file),
            key_password=k.key_password.get_secret_value() or None, check_hostname=k.check_hostname,
            extra={name: value.get_secret_value() for name, value in k.extra.items()},
        )


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the environment variable(s) whose value did not validate, never the value.

    Values are left out because a mistyped secret must not end up in a terminal log.
    """
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)]
        var = "TENSION_" + "__".join(part.upper() for part in loc) if loc else "TENSION_*"
        parts.append(f"{var}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or str(exc).splitlines()[0]


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; the CLI calls this and passes values down."""
    return Settings(**overrides)  # type: ignore[arg-type]
