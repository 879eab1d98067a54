"""Integration fixtures beyond Kafka: a real PostgreSQL server, a real Schema Registry.

The session fixture ``postgres`` starts a throwaway cluster with initdb/pg_ctl
on a free port (tests/pgfixture.py), or uses testcontainers when a Docker engine
answers, and stops it at session end. Tests get a fresh database each
(``pg_dsn``) so they never see each other's rows.

The session fixture ``registry`` runs Apicurio Registry (in-memory storage,
its Confluent-compatible API) on a free loopback port, started once for every
registry test; tests keep apart by their uuid-named topics, hence subjects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devenv.registry import LocalRegistry, assemble, free_port
from tension.settings import PROJECT_ROOT, LocalRegistrySettings
from tests.pgfixture import ThrowawayPostgres, pg_bin


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries missing: apt-get install postgresql (.ci/run does)")
    with ThrowawayPostgres() as pg:
        yield pg


@pytest.fixture
def pg_dsn(postgres: ThrowawayPostgres) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres.create_database(name)
    return postgres.dsn_for(name)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    cfg = LocalRegistrySettings()
    server = LocalRegistry(assemble(PROJECT_ROOT / cfg.home, cfg.version), tmp_path_factory.mktemp("registry"),
                           port=free_port())
    server.start(timeout_s=120)
    try:
        yield server
    finally:
        server.stop()
