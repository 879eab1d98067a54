"""The peer contenders of ``bench/peers.py``, each run as its own process on the same broker.

Run: python bench/peer_apps.py quix|plain --bootstrap B --src RAW --out OUT [--index IDX]
                                         --group G [--state DIR]

Both do the classify stage's per-item work with our own code (Avro decode of a
NewsItem, ``streams.processing.classify_news``, Avro encode of the ClassifiedItem,
produce keyed by item id), so what differs from the topology is the runtime:

* ``quix``: a Quix Streams application (bench-only dependency, ``make bench-peers``
  installs it into ``.bench-deps``) doing that plus a 1 h tumbling count/sum of the
  tension per category and ``overall`` (``group_by`` category, ``.current()`` rows to
  IDX as JSON, key = the JSON category, value ``{start, end, count, sum}``), at-least-once;
* ``plain``: a confluent-kafka poll → decode → classify → encode → produce loop, no
  windows, offsets auto-committed (the floor a Python process can reach with our code).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.serde import AvroDeserializer, AvroSerializer  # noqa: E402
from streams.processing import classify_news  # noqa: E402

log = logging.getLogger("bench.peers")


class Classify:
    """Decode → classify → encode of one raw value (what both peers do per record)."""

    def __init__(self) -> None:
        self.decode = AvroDeserializer("NewsItem")
        self.encode = AvroSerializer("ClassifiedItem")

    def __call__(self, raw: bytes) -> dict[str, Any]:
        record = classify_news(self.decode(raw))
        return {"value": self.encode(record), "cats": list(record["categories"]), "t": float(record["tension"])}


def run_quix(a: argparse.Namespace) -> None:
    from quixstreams import Application
    from quixstreams.dataframe.windows import Count, Sum

    app = Application(broker_address=a.bootstrap, consumer_group=a.group, auto_offset_reset="earliest",
                      state_dir=a.state, loglevel="WARNING", producer_extra_config={"linger.ms": 5})
    raw = app.topic(a.src, key_deserializer="bytes", value_deserializer="bytes")
    out = app.topic(a.out, key_serializer="bytes", value_serializer="bytes")
    idx = app.topic(a.index, key_serializer="json", value_serializer="json")
    classify = Classify()
    sdf = app.dataframe(raw).apply(classify)
    sdf.apply(lambda r: r["value"]).to_topic(out)
    per_cat = sdf.apply(lambda r: [{"cat": c, "t": r["t"]} for c in (*r["cats"], "overall")], expand=True)
    per_cat = per_cat.group_by(lambda v: v["cat"], name="bycat")
    (per_cat.tumbling_window(timedelta(hours=1)).agg(count=Count(), sum=Sum("t")).current()
     .to_topic(idx))
    app.run()


def run_plain(a: argparse.Namespace) -> None:
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 5, "acks": "all",
                         "enable.idempotence": True})
    classify = Classify()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    consumer.subscribe([a.src])
    try:
        while not stop:
            first = consumer.poll(0.2)  # wait for one record, then take what is already there
            if first is None:
                continue
            for m in [first, *consumer.consume(499, timeout=0)]:
                if m.error():
                    continue
                try:
                    value = classify(m.value())["value"]
                except Exception:  # a bench peer: count and go on (the topology dead-letters)
                    log.exception("record %s[%d]@%d failed", m.topic(), m.partition(), m.offset())
                    continue
                while True:
                    try:
                        producer.produce(a.out, key=m.key(), value=value)
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.poll(0)
    finally:
        producer.flush(30)
        consumer.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["quix", "plain"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--index")
    ap.add_argument("--group", required=True)
    ap.add_argument("--state")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    (run_quix if a.kind == "quix" else run_plain)(a)


if __name__ == "__main__":
    main()
