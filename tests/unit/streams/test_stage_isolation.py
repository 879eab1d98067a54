"""No record stops a stage: every failure of one record is its dead letter, the rest go on.

The classify and index stages run here over fake events and a fake producer
(no broker): a batch mixes good records with a family of poison ones — bytes
that do not decode, trailing bytes, blank titles, a classifier that raises on
item k, outputs over the record limit, a producer that refuses a send at once,
a broker that fails the delivery future, facts with non-finite or
out-of-range event times, a fold that raises on one fact. Each poison record
yields exactly one dead letter with its reason and coordinates; every good
record is processed, in order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streams.agents.classify as classify_mod
import streams.agents.index as index_mod
from schemas.serde import AvroDeserializer, AvroSerializer
from streams.agents.classify import ClassifyStage
from streams.agents.index import IndexStage
from streams.config import IndexConfig, StreamConfig
from schemas.deadletters import MAX_ORIGINAL_BYTES, original_budget
from streams.facts import unpack
from streams.sending import Sender
from streams.tables import Tables
from streams.topics import Topics
from streams.state import TableState
from streams.windows import HOUR_MS

LIMIT = 128 * 1024  # a small record limit keeps "oversize" cheap to build (above the letter overhead, schemas.deadletters)
T0 = 1_740_000_000_000 - 1_740_000_000_000 % HOUR_MS
read_dead = AvroDeserializer("DeadLetter")
encode_item = AvroSerializer("NewsItem")


@dataclass(frozen=True)
class FakeTopic:
    name: str

    def get_topic_name(self) -> str:
        return self.name


@dataclass
class FakeProducer:
    """Records every send; refuses keys in ``refuse`` at once and fails the future of keys in ``fail``."""

    refuse: set[bytes] = field(default_factory=set)
    fail: set[bytes] = field(default_factory=set)
    sent: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    async def send(self, topic: str, key: bytes | None, value: bytes, *_: Any) -> asyncio.Future[Any]:
        if key in self.refuse and topic != "dead":
            raise RuntimeError("MessageSizeTooLargeError (fake)")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if key in self.fail and topic != "dead":
            fut.set_exception(RuntimeError("RecordTooLarge (fake broker)"))
        else:
            self.sent.append((topic, key, value))
            fut.set_result(None)
        return fut

    def on(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


def fake_app(producer: FakeProducer) -> Any:
    return SimpleNamespace(conf=SimpleNamespace(producer_max_request_size=LIMIT), producer=producer)


def topics() -> Topics:
    return Topics(**{r: FakeTopic(r if r != "deadletter" else "dead")
                     for r in ("raw", "classified", "facts", "index", "alerts", "deadletter")})


def event(value: bytes, key: bytes | None, offset: int, topic: str = "raw") -> Any:
    return SimpleNamespace(key=key, value=value, message=SimpleNamespace(topic=topic, partition=0, offset=offset))


def item(k: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"it-{k}", "source": "test", "url": None, "title": f"Tariffs on steel raised again {k}",
            "body": "New export controls announced.", "language": "en",
            "published_at": datetime.fromtimestamp((T0 + k * 60_000) / 1000, tz=timezone.utc),
            "ingested_at": datetime.now(timezone.utc), "attributes": {}, "source_ref": None, **extra}


# poison kind → (how to build the raw record for item k, expected reason)
POISON = {
    "garbage": (lambda k: encode_item(item(k))[:12], "decode"),
    "trailing": (lambda k: encode_item(item(k)) + b"\x00\x01", "decode"),
    "blank_title": (lambda k: encode_item(item(k, title=" \t ")), "validation"),
    "empty_id": (lambda k: encode_item(item(k, id="")), "validation"),
    "classifier": (lambda k: encode_item(item(k, title=f"BOOM {k}")), "classifier"),
    "oversize": (lambda k: encode_item(item(k, body="x" * LIMIT)), "oversize"),
    "huge_raw": (lambda k: encode_item(item(k, body="y" * (MAX_ORIGINAL_BYTES + 10))), "oversize"),
    "refused": (lambda k: encode_item(item(k)), "delivery"),
    "failed_future": (lambda k: encode_item(item(k)), "delivery"),
    "future_date": (lambda k: encode_item(item(k, published_at=datetime(9000, 1, 1, tzinfo=timezone.utc))), "date"),
}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def counted(stage: str) -> dict[tuple[str, ...], float]:
    """The stage's Prometheus counters (streams.metrics): (metric, label values...) → value."""
    from prometheus_client import REGISTRY

    return {(s.name, *s.labels.values()): s.value for f in REGISTRY.collect()
            if f.name.startswith("tension_stage_") and f.type == "counter"
            for s in f.samples if s.name.endswith("_total") and s.labels.get("stage") == stage}


def moved(before: dict[tuple[str, ...], float], after: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def letters(producer: FakeProducer) -> list[dict[str, Any]]:
    return [read_dead(v) for _k, v in producer.on("dead")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.sampled_from([None, *POISON]), min_size=1, max_size=14))
def test_classify_batch_dead_letters_each_poison_and_processes_the_rest(plan: list[str | None],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = classify_mod.classify_news

    def classify(record: dict[str, Any], **kw: Any) -> dict[str, Any]:
        if record["title"].startswith("BOOM"):
            raise ZeroDivisionError("classifier bug on this item")
        return real(record, **kw)

    monkeypatch.setattr(classify_mod, "classify_news", classify)
    producer = FakeProducer()
    events = []
    for k, kind in enumerate(plan):
        key = f"it-{k}".encode()
        if kind == "refused":
            producer.refuse.add(key)
        if kind == "failed_future":
            producer.fail.add(key)
        value = encode_item(item(k)) if kind is None else POISON[kind][0](k)
        events.append(event(value, key, offset=100 + k))
    stage = ClassifyStage(topics(), StreamConfig(), Sender(fake_app(producer)))  # type: ignore[arg-type]
    before = counted("classify")
    dead_count = run(stage.process(events))

    good = [f"it-{k}".encode() for k, kind in enumerate(plan) if kind is None]
    assert [k for k, _ in producer.on("classified")] == good
    # facts travel packed (streams.facts): exactly the good items' facts, in item order
    assert [f["id"].encode() for _k, v in producer.on("facts") for f in unpack(v)] == good
    dead = letters(producer)
    want = {100 + k: POISON[kind][1] for k, kind in enumerate(plan) if kind is not None}
    assert {d["source_offset"]: d["reason"] for d in dead} == want
    assert len(dead) == len(want) == dead_count
    # the metrics move by exactly the batch: records in, outputs acked per topic, dead letters per reason
    expected = {("tension_stage_records_in_total", "classify", "raw"): len(plan)}
    if good:
        expected |= {("tension_stage_records_out_total", "classify", t): len(good) for t in ("classified", "facts")}
    for reason in set(want.values()):
        expected[("tension_stage_dead_letters_total", "classify", reason)] = list(want.values()).count(reason)
    assert moved(before, counted("classify")) == expected
    for d in dead:
        assert d["stage"] == "classify" and d["source_topic"] == "raw" and d["source_partition"] == 0
        original, cut = events[d["source_offset"] - 100].value, original_budget(LIMIT)
        assert d["original"] == original[:cut]
        assert d["original_size"] == (len(original) if len(original) > cut else None)
    assert all(len(v) + 256 <= LIMIT or t == "dead" for t, _k, v in producer.sent)


def fact(k: int, ts: Any = None) -> bytes:
    f = {"id": f"f-{k}", "ts": T0 + k * 60_000 if ts is None else ts, "cats": ["tariffs"], "t": 0.5,
         "dir": "escalation", "title": "t", "part": 0}
    return json.dumps(f).encode()  # allow_nan: a foreign writer may send Infinity / NaN


FACT_POISON = {
    "inf": (lambda k: fact(k, float("inf")), "date"),
    "-inf": (lambda k: fact(k, float("-inf")), "date"),
    "nan": (lambda k: fact(k, float("nan")), "date"),
    "1e300": (lambda k: fact(k, 1e300), "date"),
    "-1e300": (lambda k: fact(k, -1e300), "date"),
    "year9000": (lambda k: fact(k, 221_845_392_000_000), "date"),
    "string_ts": (lambda k: fact(k, "soon"), "date"),
    "not_json": (lambda k: b"{not json", "decode"),
    "no_ts": (lambda k: b'{"id": "x"}', "decode"),
    "nan_tension": (lambda k: fact(k).replace(b'"t": 0.5', b'"t": NaN'), "decode"),
    "fold_bug": (lambda k: fact(k).replace(b'"f-', b'"BOOM-'), "index"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.sampled_from([None, *FACT_POISON]), min_size=1, max_size=14))
def test_index_batch_dead_letters_each_poison_and_folds_the_rest(plan: list[str | None],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = index_mod.index_batch

    def fold(state: Any, facts: list[Any], *a: Any) -> Any:
        if any(f.id.startswith("BOOM") for f in facts):
            raise OverflowError("fold bug on this fact")
        return real(state, facts, *a)

    monkeypatch.setattr(index_mod, "index_batch", fold)
    producer = FakeProducer()
    table: dict[str, Any] = {}
    events = [event(fact(k) if kind is None else FACT_POISON[kind][0](k), f"f-{k}".encode(), 10 + k, "facts")
              for k, kind in enumerate(plan)]
    stage = IndexStage(topics(), Tables(index_state=table), StreamConfig(index=IndexConfig()),  # type: ignore[arg-type]
                       Sender(fake_app(producer)))  # type: ignore[arg-type]
    dead_count = run(stage.process(events))

    good = {f"f-{k}" for k, kind in enumerate(plan) if kind is None}
    assert {k.removeprefix("s:") for k in table if k.startswith("s:")} == good
    assert TableState(table).meta()["counted"] == len(good)
    dead = letters(producer)
    want = {10 + k: FACT_POISON[kind][1] for k, kind in enumerate(plan) if kind is not None}
    assert {d["source_offset"]: d["reason"] for d in dead} == want
    assert len(dead) == len(want) == dead_count
    assert all(d["stage"] == "index" and d["source_topic"] == "facts" for d in dead)
    if good:
        assert producer.on("index"), "the good facts produced index rows"


@settings(max_examples=30, deadline=None)
@given(plan=st.lists(st.sampled_from([None, *FACT_POISON]), min_size=1, max_size=14), cut=st.integers(0, 14))
def test_packed_facts_dead_letter_each_poison_fact_and_fold_the_rest(plan: list[str | None], cut: int) -> None:
    """The classify stage packs facts (streams.facts): a poison fact in a pack is dead-lettered alone,
    with the pack's coordinates and its own JSON, and the pack's other facts are folded."""
    objs = [json.loads(fact(k) if kind is None else FACT_POISON[kind][0](k)) if kind not in ("not_json", "fold_bug")
            else None for k, kind in enumerate(plan)]
    usable = [(k, kind, o) for k, (kind, o) in enumerate(zip(plan, objs)) if o is not None]  # JSON objects only
    packs = [usable[:cut], usable[cut:]]
    producer = FakeProducer()
    table: dict[str, Any] = {}
    events = [event(json.dumps([o for _k, _kind, o in p]).encode(), None, 40 + j, "facts")
              for j, p in enumerate(packs) if p]
    stage = IndexStage(topics(), Tables(index_state=table), StreamConfig(index=IndexConfig()),  # type: ignore[arg-type]
                       Sender(fake_app(producer)))  # type: ignore[arg-type]
    dead_count = run(stage.process(events))

    good = {f"f-{k}" for k, kind, _o in usable if kind is None}
    assert {k.removeprefix("s:") for k in table if k.startswith("s:")} == good
    dead = letters(producer)
    want = sorted((40 + j, FACT_POISON[kind][1]) for j, p in enumerate(packs) for _k, kind, _o in p
                  if kind is not None)
    assert sorted((d["source_offset"], d["reason"]) for d in dead) == want
    assert len(dead) == dead_count
    for d in dead:  # the letter holds the one fact, not the pack
        assert d["stage"] == "index" and d["source_topic"] == "facts"
        assert isinstance(json.loads(d["original"]), dict)


def test_fact_packer_cuts_packs_that_fit_and_keeps_order() -> None:
    from streams.facts import FactPacker
    from streams.windows import Fact

    packer = FactPacker(4096)
    facts = [Fact(f"id-{k}", T0 + k, ["tariffs"], 0.25, "escalation", "x" * (k % 300)) for k in range(200)]
    for f in facts:
        packer.add(f.id, packer.encode(f))
    packs = list(packer.packs(skip={id(facts[3].id)}))
    assert len(packs) > 1 and all(len(v) + 256 <= 4096 for _o, v in packs)
    ids = [o["id"] for _owners, v in packs for o in unpack(v)]
    assert ids == [f.id for f in facts if f.id != "id-3"] == [o for owners, _v in packs for o in owners]
