"""What the secured broker refuses, and how the product says so: one line on stderr, a documented exit code.

Each case is a real `tension` process against the SASL_SSL embedded broker
with one thing wrong: the credentials, the protocol, the trusted CA, or an ACL
the principal does not hold.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devenv.localkafka.secure import generate_tls
from tests.integration.secure_support import Principal, SecureSetup, run_cli

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def setup(secure_kafka: Any, tmp_path_factory: pytest.TempPathFactory) -> SecureSetup:
    return SecureSetup(secure_kafka, tmp_path_factory.mktemp("refusals"))


def _item_file(tmp: Path) -> Path:
    path = tmp / "one.jsonl"
    path.write_text(json.dumps({"title": "Tariff talks resume in Geneva", "body": "Negotiators met again.",
                                "published_at": "2025-05-01T00:00:00Z"}) + "\n")
    return path


def _other_ca(tmp: Path) -> str:
    return str(generate_tls(tmp / "other-ca", common_name="not the broker's CA").ca)


def _without(env: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != name}


Env = Callable[[SecureSetup, Path], dict[str, str]]

#: case → (environment of the process, the command, expected exit code, what the one line must say)
CASES: dict[str, tuple[Env, Callable[[SecureSetup, Path], list[str]], int, str]] = {
    "no credentials (TLS only)": (
        lambda s, _t: s.env(None, TENSION_KAFKA__SECURITY_PROTOCOL="SSL"),
        lambda _s, t: ["produce", str(_item_file(t))], 2, "cannot reach kafka"),
    "no credentials (SASL_SSL without user)": (
        lambda s, _t: s.env(None), lambda _s, t: ["produce", str(_item_file(t))], 1,
        "needs tension_kafka__username and tension_kafka__password"),
    "wrong password": (
        lambda s, _t: s.env(Principal(s.producer.name)), lambda _s, t: ["produce", str(_item_file(t))], 2,
        "authentication failed"),
    "plaintext client on the TLS port": (
        lambda s, _t: _without(s.env(None, TENSION_KAFKA__SECURITY_PROTOCOL="PLAINTEXT"), "TENSION_KAFKA__CA_FILE"),
        lambda _s, t: ["produce", str(_item_file(t))], 2, "check tension_kafka__security_protocol"),
    "client not trusting the CA": (
        lambda s, t: s.env(s.producer, TENSION_KAFKA__CA_FILE=_other_ca(t)),
        lambda _s, t: ["produce", str(_item_file(t))], 2, "certificate verify failed"),
    "producer reading news.classified.v1": (
        lambda s, _t: s.env(s.producer), lambda _s, t: ["sink", "sqlite", "--path", str(t / "p.sqlite")], 1,
        "authorization failed"),
    "producer running the worker (no ACL on its output topics)": (
        lambda s, _t: s.env(s.producer), lambda _s, _t: ["worker"], 1,
        "missing acl: allow describe, write and create on topic:"),
    "worker without Describe/Read on the raw topic": (
        lambda s, _t: s.env(s.sink, TENSION_STREAM__APP_ID=f"{s.group_prefix}-sqlite"),  # a group it may read
        lambda _s, _t: ["worker"], 1, "missing acl: allow describe and read on topic:"),
    "producer writing tension.index.v1": (
        lambda s, _t: s.env(s.producer), lambda s, t: ["produce", "--topic", s.topics.index, str(_item_file(t))], 1,
        "missing acl: allow write on topic"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusal_is_one_clear_line(case: str, setup: SecureSetup, tmp_path: Path) -> None:
    env_of, args_of, code, says = CASES[case]
    env = {**env_of(setup, tmp_path), "TENSION_KAFKA__CONNECT_TIMEOUT_S": "4"}  # refusals need no patience
    proc = run_cli(args_of(setup, tmp_path), env, timeout_s=60)
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith(("error:", "tension: error:")) or " ERROR " in line or "FAIL [" in line]
    assert proc.returncode == code, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert len(errors) == 1, proc.stderr[-3000:]
    assert says in errors[0].lower(), errors[0]
    assert "Traceback" not in proc.stderr
    for secret in setup.passwords:
        assert secret not in proc.stderr + proc.stdout
