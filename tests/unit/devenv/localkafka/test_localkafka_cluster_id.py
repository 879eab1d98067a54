"""Cluster ids never start with "-" (kafka-storage would read one as an option)."""

from __future__ import annotations

import base64
import uuid

import pytest

from devenv.localkafka import cluster


def test_id_starting_with_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    dash = uuid.UUID(bytes=base64.urlsafe_b64decode("-Z211HGNRXuh1EU9V9oQJQ=="))
    plain = uuid.UUID(int=0x1234)
    draws = iter([dash, plain])
    monkeypatch.setattr(cluster.uuid, "uuid4", lambda: next(draws))
    assert base64.urlsafe_b64encode(dash.bytes).decode().startswith("-")
    cid = cluster.new_cluster_id()
    assert cid == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=")


def test_ids_are_22_chars_and_never_dash_led() -> None:
    ids = [cluster.new_cluster_id() for _ in range(2000)]
    assert all(len(c) == 22 and not c.startswith("-") for c in ids)
