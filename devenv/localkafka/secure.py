"""The secured embedded broker: a local CA, a broker certificate, SCRAM users and the KRaft authorizer.

`tension kafka up --secure` runs the same broker as the open sandbox with one
client listener, ``SASL_SSL`` with SCRAM-SHA-512, so the product can be tried
(and tested) the way a managed or self-managed production cluster is reached.
What that takes, all generated locally on first start and kept in
``<run_dir>/tls``:

* a CA and a broker certificate for ``127.0.0.1``/``localhost`` signed by it
  (PEM, through the ``cryptography`` package; Kafka reads PEM key stores, so no
  keytool), clients trust ``ca.pem``;
* a super user ``admin`` whose SCRAM credential is written into the KRaft
  metadata when the storage is formatted (``--add-scram``) and whose password
  lives in ``admin.password`` (mode 0600) and ``admin.env``, never on a terminal;
* ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: every
  other principal gets exactly the ACLs granted with `tension kafka grant`.

The controller listener stays on loopback with SASL PLAIN for the same admin,
because KRaft controllers authenticate before the metadata holding SCRAM
credentials is readable.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from schemas.connection import KafkaConnection

ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
_VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    """Where one CA and the certificate it signed are stored (PEM)."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def keystore(self) -> Path:
        """The broker's private key followed by its certificate chain, Kafka's PEM key store layout."""
        return self.folder / "broker.pem"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def generate_tls(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                 common_name: str = "tension-stream local CA") -> TlsFiles:
    """Create a CA and a broker certificate for ``hosts`` under ``folder``; keep existing ones."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = TlsFiles(Path(folder))
    if files.ca.exists() and files.keystore.exists():
        return files
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    _write_private(files.ca_key, ca_key.private_bytes(pem, pkcs8, plain))
    _write_private(files.keystore, key.private_bytes(pem, pkcs8, plain) + cert.public_bytes(pem)
                   + ca_cert.public_bytes(pem))
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    return files


@dataclass(frozen=True)
class SecureBroker:
    """The secrets and files of one secured run folder, created once and reused by later starts."""

    folder: Path  # <run_dir>/tls

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.folder)

    @property
    def password_file(self) -> Path:
        return self.folder / "admin.password"

    @property
    def env_file(self) -> Path:
        return self.folder / "admin.env"

    def ensure(self, bootstrap: str) -> None:
        """Generate the CA, the broker certificate and the admin password unless present."""
        generate_tls(self.folder)
        if not self.password_file.exists():
            _write_private(self.password_file, secrets.token_urlsafe(24).encode())
        _write_private(self.env_file, "".join(f"{k}={v}\n" for k, v in self.admin_env(bootstrap).items()).encode())

    @property
    def admin_password(self) -> str:
        return self.password_file.read_text().strip()

    def admin_env(self, bootstrap: str) -> dict[str, str]:
        """The TENSION_ variables that make every `tension` command the super user of this broker."""
        return {**self.client_env(bootstrap), "TENSION_KAFKA__USERNAME": ADMIN,
                "TENSION_KAFKA__PASSWORD": self.admin_password}

    def client_env(self, bootstrap: str) -> dict[str, str]:
        """The TENSION_ variables every client of this broker needs, before its username and password."""
        return {"TENSION_KAFKA_BOOTSTRAP": bootstrap, "TENSION_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
                "TENSION_KAFKA__SASL_MECHANISM": MECHANISM, "TENSION_KAFKA__CA_FILE": str(self.tls.ca)}

    def connection(self, bootstrap: str, username: str = ADMIN, password: str | None = None) -> KafkaConnection:
        return KafkaConnection(bootstrap=bootstrap, security_protocol="SASL_SSL", sasl_mechanism=MECHANISM,
                               username=username, password=password if password is not None else self.admin_password,
                               ca_file=str(self.tls.ca))

    def format_args(self) -> list[str]:
        """``kafka-storage format`` arguments that write the admin's SCRAM credential into the metadata."""
        return ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={self.admin_password}]"]

    def properties(self, host: str, client_port: int, controller_port: int) -> dict[str, object]:
        """Broker properties replacing the open listeners of the sandbox."""
        pw = self.admin_password
        scram = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" password="{pw}";'
        plain = (f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{ADMIN}" '
                 f'password="{pw}" user_{ADMIN}="{pw}";')
        return {
            "listeners": f"SASL_SSL://{host}:{client_port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{host}:{client_port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": self.tls.keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": self.tls.ca,
            "ssl.client.auth": "none",
            "ssl.endpoint.identification.algorithm": "https",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN}",
            "allow.everyone.if.no.acl.found": "false",
            "auto.create.topics.enable": "false",
        }
