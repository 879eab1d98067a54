"""`tension classify` offline and the live Faust agent give identical results for the same items."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from connectors.sources import publish_paths
from schemas.serde import AvroDeserializer
from devenv.procs import free_port_block
from tension.settings import PROJECT_ROOT
from tests.conftest import KafkaEndpoint
from tests.helpers import unique, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CORPUS = PROJECT_ROOT / "seeds" / "corpus" / "dev.jsonl"


def offline(path: Path) -> dict[str, dict]:
    proc = subprocess.run([sys.executable, "-m", "tension", "classify", str(path)], capture_output=True,
                          text=True, timeout=120, check=True, cwd=PROJECT_ROOT)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def test_live_agent_equals_offline_classify(kafka: KafkaEndpoint, topic_factory, tmp_path: Path) -> None:
    raw, classified, dead = (topic_factory(n, partitions=2) for n in ("raw", "classified", "dead"))
    index, alerts = topic_factory("index"), topic_factory("alerts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env.update({
        "TENSION_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TENSION_KAFKA__PARTITIONS": "2",
        "TENSION_TOPICS__RAW": raw, "TENSION_TOPICS__CLASSIFIED": classified,
        "TENSION_TOPICS__INDEX": index, "TENSION_TOPICS__ALERTS": alerts, "TENSION_TOPICS__DEADLETTER": dead,
        "TENSION_STREAM__APP_ID": unique("classify-live"),
        "TENSION_STREAM__WEB_PORT": str(free_port_block(span=2)),
        "TENSION_STREAM__DATA_DIR": str(tmp_path / "state"),
    })
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log_file:
        worker = subprocess.Popen([sys.executable, "-m", "tension", "worker"], env=env, stdout=log_file,
                                  stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        report = publish_paths([str(CORPUS)], bootstrap=kafka.bootstrap, topic=raw, deadletter_topic=dead)
        assert report.sent > 300 and report.dead_lettered == 0

        decode = AvroDeserializer("ClassifiedItem")
        consumer = KafkaConsumer(classified, bootstrap_servers=kafka.bootstrap, group_id=unique("g.cl"),
                                 auto_offset_reset="earliest", consumer_timeout_ms=500)
        live: dict[str, dict] = {}

        def all_arrived() -> bool:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            for msg in consumer:
                record = decode(msg.value)
                live[record["item"]["id"]] = record
            return len(live) >= report.sent

        wait_for(all_arrived, 180, f"{report.sent} classified items")
        consumer.close()
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    expected = offline(CORPUS)
    assert set(live) == set(expected)
    for item_id, want in expected.items():
        got = live[item_id]
        assert got["categories"] == want["categories"], item_id
        assert got["tension"] == want["tension"], item_id
        assert got["direction"] == want["direction"], item_id
        assert got["scores"] == want["scores"], item_id
        assert got["cues"] == want["cues"], item_id
        assert got["classifier_version"] == want["classifier_version"], item_id
