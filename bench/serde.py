"""Encode+decode throughput of NewsItem on one core: our fastavro serde vs the plain ``avro`` package.

Each round encodes N NewsItem dicts and decodes them back, timing the pair.
Same records, same schema, same process, pinned to one CPU. Also measured,
for reference: confluent-kafka's own Avro serde (Confluent framing, ``mock://``
registry, so no network). Prints items/s and the fastavro/avro ratio.

    python bench/serde.py -n 20000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import avro.io
import avro.schema

from schemas import catalog
from schemas.models import NewsItem, item_id
from schemas.serde import AvroDeserializer, AvroSerializer


def make_records(n: int) -> list[dict[str, Any]]:
    start = datetime(2025, 5, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        title = f"US and Chinese negotiators meet in London, round {i}"
        body = ("Officials discussed tariff relief, rare-earth export permits and student visas; "
                "both sides described the talks as candid and constructive. ") * 4
        item = NewsItem(id=item_id("bench", f"https://news.example/{i}", title, body), source="bench",
                        url=f"https://news.example/{i}", title=title, body=body,
                        published_at=start + timedelta(minutes=i), ingested_at=start,
                        attributes={"author": "desk", "tags": "tariffs,visas"}, source_ref=f"bench.jsonl:{i}")
        out.append(item.to_avro())
    return out


def ours() -> tuple[Callable[[dict[str, Any]], bytes], Callable[[bytes], dict[str, Any]]]:
    return AvroSerializer("NewsItem"), AvroDeserializer("NewsItem")


def plain_avro() -> tuple[Callable[[dict[str, Any]], bytes], Callable[[bytes], dict[str, Any]]]:
    schema = avro.schema.parse(catalog.load_json("NewsItem"))
    writer, reader = avro.io.DatumWriter(schema), avro.io.DatumReader(schema, schema)

    def encode(record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        writer.write(record, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    def decode(data: bytes) -> dict[str, Any]:
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(data)))  # type: ignore[no-any-return]

    return encode, decode


def confluent() -> tuple[Callable[[dict[str, Any]], bytes], Callable[[bytes], dict[str, Any]]]:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer as CDes
    from confluent_kafka.schema_registry.avro import AvroSerializer as CSer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient.new_client({"url": "mock://bench"})  # in-process mock, no network
    ser = CSer(client, catalog.load_json("NewsItem"), conf={"auto.register.schemas": True})
    des = CDes(client)
    ctx = SerializationContext("bench.raw", MessageField.VALUE)
    return (lambda r: ser(r, ctx)), (lambda b: des(b, ctx))


def measure(codec: tuple[Callable[[dict[str, Any]], bytes], Callable[[bytes], dict[str, Any]]],
            records: list[dict[str, Any]], rounds: int) -> tuple[float, int]:
    encode, decode = codec
    assert decode(encode(records[0]))["id"] == records[0]["id"]
    best = float("inf")
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        for record in records:
            data = encode(record)
            decode(data)
        best = min(best, time.perf_counter() - started)
        size = len(data)
    return len(records) / best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    records = make_records(args.n)
    print(f"NewsItem v{catalog.latest_version('NewsItem')}, {args.n} records, best of {args.rounds} "
          f"rounds, one core (cpu {args.cpu}); encode+decode per item")
    results = {}
    for label, factory in (("fastavro (schemas.serde)", ours), ("avro (Apache, pure Python)", plain_avro),
                           ("confluent-kafka serde", confluent)):
        try:
            rate, size = measure(factory(), records, args.rounds)
        except ImportError as exc:
            print(f"{label:28s} skipped: {exc}")
            continue
        results[label] = rate
        print(f"{label:28s} {rate:10.0f} items/s   ({size} bytes/record)")
    fast, slow = results["fastavro (schemas.serde)"], results["avro (Apache, pure Python)"]
    print(json.dumps({"fastavro_items_per_s": round(fast), "avro_items_per_s": round(slow),
                      "ratio_fastavro_over_avro": round(fast / slow, 1)}))


if __name__ == "__main__":
    main()
