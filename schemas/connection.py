"""How every Kafka client of the product connects: one frozen description, one translation per library.

The product talks to Kafka through four libraries (librdkafka via confluent-kafka
for the producer, the sink and the admin client; aiokafka under Faust; and
kafka-python where a small tool still uses it). Each spells security settings
differently, so a cluster that needs SASL_SSL used to be reachable by none of
them. :class:`KafkaConnection` holds the settings once — the edge
(``tension.settings``) builds it from ``TENSION_KAFKA__*`` — and its methods
render the keyword arguments each library wants. It lives in ``schemas/``
because both ``streams/`` and ``connectors/`` need it and may import only
``schemas/``.

The password never leaves this object except into a client's configuration:
it is excluded from ``repr`` and :meth:`describe`, and :meth:`redact` scrubs it
from any text (error messages) before it is logged.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MASK = "**********"


class ConnectionConfigError(ValueError):
    """The security settings contradict each other (e.g. SASL without a username)."""


@dataclass(frozen=True)
class KafkaConnection:
    """Bootstrap servers plus everything needed to authenticate and encrypt.

    ``extra`` is passed verbatim to the librdkafka clients (producer, sink,
    admin) as properties, after the typed fields, so it can override them;
    aiokafka and kafka-python take only the typed fields.
    """

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise ConnectionConfigError(f"security_protocol must be one of {PROTOCOLS}, not {self.security_protocol!r}")
        if self.sasl and self.sasl_mechanism not in MECHANISMS:
            raise ConnectionConfigError(f"sasl_mechanism must be one of {MECHANISMS}, not {self.sasl_mechanism!r}")
        if self.sasl and not (self.username and self.password):
            raise ConnectionConfigError(f"{self.security_protocol} needs a username and a password")
        if bool(self.cert_file) != bool(self.key_file):
            raise ConnectionConfigError("a client certificate (mTLS) needs both cert_file and key_file")
        if (self.cert_file or self.ca_file) and not self.tls:
            raise ConnectionConfigError(f"CA/client certificate files need SSL or SASL_SSL, not {self.security_protocol}")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def with_bootstrap(self, bootstrap: str) -> KafkaConnection:
        from dataclasses import replace

        return replace(self, bootstrap=bootstrap)

    # -- what may be shown ----------------------------------------------------------------------

    def describe(self) -> str:
        """One line for logs: where and how, never the password."""
        who = f" as {self.username} ({self.sasl_mechanism})" if self.sasl else ""
        return f"{self.bootstrap} over {self.security_protocol}{who}"

    def redact(self, text: str) -> str:
        """``text`` with every secret this connection holds replaced by a mask."""
        for secret in (self.password, self.key_password, *self.extra.values()):
            if secret and len(secret) >= 4:  # masking "a" would shred the message, and such a secret is no secret
                text = text.replace(secret, MASK)
        return text

    # -- one rendering per library --------------------------------------------------------------

    def librdkafka(self, **properties: Any) -> dict[str, Any]:
        """Properties for confluent-kafka's Producer, Consumer and AdminClient.

        ``properties`` are the caller's own (group id, acks, ...); security and
        then ``extra`` are laid over them.
        """
        conf: dict[str, Any] = {**properties, "bootstrap.servers": self.bootstrap,
                                "security.protocol": self.security_protocol.lower()}
        if self.sasl:
            conf.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.username,
                         "sasl.password": self.password})
        if self.tls:
            conf["ssl.endpoint.identification.algorithm"] = "https" if self.check_hostname else "none"
            if self.ca_file:
                conf["ssl.ca.location"] = self.ca_file
            if self.cert_file:
                conf["ssl.certificate.location"] = self.cert_file
                conf["ssl.key.location"] = self.key_file
                if self.key_password:
                    conf["ssl.key.password"] = self.key_password
        conf.update(self.extra)
        return conf

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context aiokafka and kafka-python use; None without TLS."""
        if not self.tls:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        ctx.check_hostname = self.check_hostname
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file, password=self.key_password)
        return ctx

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments of aiokafka's clients (AIOKafkaProducer/Consumer/AdminClient)."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.sasl:
            kwargs.update({"sasl_mechanism": self.sasl_mechanism, "sasl_plain_username": self.username,
                           "sasl_plain_password": self.password})
        return kwargs

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments of kafka-python's KafkaProducer/KafkaConsumer/KafkaAdminClient."""
        kwargs = self.aiokafka()
        kwargs["bootstrap_servers"] = self.bootstrap.split(",")
        return kwargs


def as_connection(value: KafkaConnection | str) -> KafkaConnection:
    """Accept either a connection or a bare bootstrap string (PLAINTEXT), for callers and tests."""
    return value if isinstance(value, KafkaConnection) else KafkaConnection(bootstrap=value)


#: libpq connection parameters that hold a secret
DSN_SECRETS = ("password", "sslpassword")


def redact_dsn(dsn: str) -> str:
    """A PostgreSQL DSN (URL or ``key=value`` form) for logs, errors and labels: secrets become ``***``.

    The one redaction of both the PostgreSQL sink and the dashboard's store. The
    DSN is parsed by libpq's own rules (psycopg's ``conninfo``), so a password in
    the URL's user info, in its query string or as a keyword is found alike; the
    other parameters (host, port, user, database, sslmode) stay, to say where the
    store is. A DSN that does not parse is not shown at all.
    """
    try:
        from psycopg import conninfo
    except ImportError:  # pragma: no cover - only callers that use PostgreSQL get here
        return "<DSN not shown: psycopg is not installed>"
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - any parse failure: show nothing of it
        return "<unparseable DSN>"
    for name in DSN_SECRETS:
        if parts.get(name):
            parts[name] = "***"
    return conninfo.make_conninfo(**{k: str(v) for k, v in parts.items()})
