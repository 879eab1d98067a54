"""Integration fixtures beyond Kafka: a real PostgreSQL server for the sink tests.

The session fixture ``postgres`` starts a throwaway cluster with initdb/pg_ctl
on a free port (tests/pgfixture.py), or uses testcontainers when a Docker engine
answers, and stops it at session end. Tests get a fresh database each
(``pg_dsn``) so they never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

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
