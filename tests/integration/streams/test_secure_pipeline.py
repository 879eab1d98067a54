"""The whole pipeline through SASL_SSL, three principals holding only their ACLs (issue 14).

`tension produce` (zstd) → `tension worker` → `tension sink sqlite` against the
secured embedded broker, each as its own SCRAM user; the raw topic is stored
zstd-compressed and the index topic snappy-compressed, so the worker (aiokafka)
and the sink (librdkafka) must read both codecs. The SQLite rows must equal the
offline reference, and no password may appear in any log line or API answer
of the run.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.sources.inputs import read_inputs
from connectors.sources.normalize import ReadOptions
from schemas.models import NewsItem
from streams.processing import classify_news
from devenv.procs import free_port_block
from tests.helpers import wait_for
from tests.integration.secure_support import SecureSetup, run_cli, start_cli, stop
from tests.integration.streams.stream_support import ROW_FIELDS, flush_items, reference_finals, seed_items

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_ITEMS = 120


def _sqlite_finals(path: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    if not path.exists():
        return {}
    with sqlite3.connect(path, timeout=10) as db:
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute("SELECT * FROM index_rows WHERE final = 1").fetchall()
        except sqlite3.OperationalError:
            return {}
    out = {}
    for row in rows:
        start = int(datetime.fromisoformat(row["window_start"].replace("Z", "+00:00")).timestamp() * 1000)
        values = {k: row[k] for k in ROW_FIELDS}
        values["top_items"] = json.loads(values["top_items"])
        out[(row["category"], row["window_kind"], start)] = values
    return out


def _items_file(tmp: Path) -> tuple[Path, list[NewsItem]]:
    """A JSONL input and the items `tension produce` reads from it (what the reference folds)."""
    chosen = sorted(seed_items(), key=lambda i: i.published_at)[:N_ITEMS]
    chosen += flush_items(chosen[-1], 1)
    path = tmp / "items.jsonl"
    path.write_text("".join(json.dumps(i.model_dump(mode="json")) + "\n" for i in chosen))
    read = [p for p in read_inputs([str(path)], ReadOptions()) if isinstance(p, NewsItem)]
    assert len(read) == len(chosen)
    return path, read


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.read().decode()


def test_pipeline_through_sasl_ssl_with_three_least_privilege_principals(secure_kafka: Any, tmp_path: Path) -> None:
    s = SecureSetup(secure_kafka, tmp_path, topic_configs={"raw": {"compression.type": "zstd"},
                                                           "index": {"compression.type": "snappy"}})
    path, items = _items_file(tmp_path)
    db = tmp_path / "store.sqlite"
    port = free_port_block(span=2)
    worker_env = s.env(s.worker, TENSION_STREAM__WEB_PORT=str(port), TENSION_STREAM__STORE="memory://",
                       TENSION_STREAM__DATA_DIR=str(tmp_path / "state"))
    worker = start_cli(["worker"], worker_env, tmp_path / "worker.log")
    sink = start_cli(["sink", "sqlite", "--path", str(db)], s.env(s.sink), tmp_path / "sink.log")
    api: list[str] = []
    try:
        produced = run_cli(["produce", str(path)],
                           s.env(s.producer, TENSION_KAFKA__EXTRA='{"compression.type": "zstd"}'))
        assert produced.returncode == 0, produced.stderr
        offline = [classify_news(i.to_avro()) for i in items]
        expected = reference_finals(offline, s.cfg.index)
        assert len(expected) > 100

        def finals() -> Any:
            for name, proc in (("worker", worker), ("sink", sink)):
                assert proc.poll() is None, f"{name} exited:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
            got = _sqlite_finals(db)
            return got if expected.keys() <= got.keys() else None

        live = wait_for(finals, 75, "every final index row in SQLite", interval_s=1.0)
        for route in ("/api/categories", "/api/index/trade_talks", "/api/items", "/healthz"):
            try:
                api.append(_get(port, route))
            except OSError as exc:  # a route another helper adds later: its error page is checked too
                api.append(str(exc))
        config = run_cli(["config"], s.env(s.worker))
        assert config.returncode == 0, config.stderr
    finally:
        stop(worker)
        stop(sink)
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT item_id FROM items")}
    assert stored == {i.id for i in items}
    assert {k: live[k] for k in expected} == expected
    # no secret anywhere: logs of every process, the broker's log, API answers, `tension config`
    texts = [produced.stdout, produced.stderr, config.stdout, config.stderr, *api,
             (tmp_path / "worker.log").read_text(errors="replace"), (tmp_path / "sink.log").read_text(errors="replace"),
             secure_kafka.log_file(1).read_text(errors="replace")]
    assert "TENSION_KAFKA__PASSWORD" in config.stdout  # the row is there, masked
    for secret in s.passwords:
        assert len(secret) >= 16
        leaks = [n for n, text in enumerate(texts) if secret in text]
        assert not leaks, f"a password appears in output #{leaks}"
