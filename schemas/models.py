"""Pydantic models mirroring the Avro schemas field by field.

The models are the validation seam: a source connector builds a ``NewsItem``
(which rejects an empty title, a naive timestamp or a field above its
size limit) and only
then encodes it with ``to_avro()``; consumers decode with ``from_avro()``. A
unit test checks every model against its ``.avsc`` so the two cannot drift.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

CATEGORIES: tuple[str, ...] = ("trade_talks", "tariffs", "export_controls", "critical_minerals", "visas")
DIRECTIONS: tuple[str, ...] = ("escalation", "deescalation", "neutral")


#: Upper bounds of the NewsItem fields, in UTF-8 bytes (the body's bound is the producer's
#: ``max_body_bytes``). They keep every field of an item far below what one Kafka record may
#: hold, so an absurd title or a flood of attributes is refused as data, not by the broker.
MAX_ID_BYTES = 256
MAX_TITLE_BYTES = 2_048
MAX_URL_BYTES = 8_192
MAX_SOURCE_BYTES = 1_024
MAX_LANGUAGE_BYTES = 35  # the longest well-formed BCP-47 tags in common use
MAX_ATTRIBUTES = 100  # entries in the map
MAX_ATTRIBUTES_BYTES = 16_384  # keys + values together
MAX_SOURCE_REF_BYTES = 8_192  # a path (PATH_MAX is 4096) plus ":line" or "#entryN"
FIELD_LIMITS: dict[str, int] = {
    "id": MAX_ID_BYTES, "title": MAX_TITLE_BYTES, "url": MAX_URL_BYTES, "source": MAX_SOURCE_BYTES,
    "language": MAX_LANGUAGE_BYTES, "source_ref": MAX_SOURCE_REF_BYTES,
}


def utf8_len(text: str) -> int:
    """UTF-8 length of ``text``; unencodable characters (lone surrogates) count as 3 bytes each."""
    return len(text.encode("utf-8", errors="surrogatepass"))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def item_id(source: str, url: str | None, title: str, body: str) -> str:
    """Stable id: the same item read twice gets the same id (and Kafka key)."""
    basis = f"url\x00{source}\x00{url}" if url else f"text\x00{title.strip()}\x00{body.strip()}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


class AvroModel(BaseModel):
    """Base: strict fields, ``to_avro``/``from_avro`` dict seams."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    avro_name: ClassVar[str]

    def to_avro(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    @classmethod
    def from_avro(cls, record: dict[str, Any]) -> "AvroModel":
        return cls.model_validate(record)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone (UTC expected)")
    return value.astimezone(timezone.utc)


class NewsItem(AvroModel):
    avro_name: ClassVar[str] = "NewsItem"

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    url: str | None = None
    title: str
    body: str = ""
    language: str = "en"
    published_at: datetime
    ingested_at: datetime = Field(default_factory=utcnow)
    attributes: dict[str, str] = Field(default_factory=dict)
    source_ref: str | None = None  # since NewsItem v2: path:line / feed#entry the item was read from

    @field_validator("title")
    @classmethod
    def _title_present(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title is empty")
        return value

    _ts = field_validator("published_at", "ingested_at")(_aware)

    @field_validator("id", "title", "url", "source", "language", "source_ref")
    @classmethod
    def _within_limit(cls, value: str | None, info: ValidationInfo) -> str | None:
        limit = FIELD_LIMITS[info.field_name or ""]
        if value is not None and utf8_len(value) > limit:
            raise ValueError(f"{info.field_name} is {utf8_len(value)} bytes, limit is {limit}")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes_within_limits(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"{len(value)} attributes, limit is {MAX_ATTRIBUTES}")
        size = sum(utf8_len(k) + utf8_len(v) for k, v in value.items())
        if size > MAX_ATTRIBUTES_BYTES:
            raise ValueError(f"attributes are {size} bytes, limit is {MAX_ATTRIBUTES_BYTES}")
        return value


class Cue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str
    category: str | None = None
    direction: str
    weight: float


class ClassifiedItem(AvroModel):
    avro_name: ClassVar[str] = "ClassifiedItem"

    item: NewsItem
    categories: list[str]
    scores: dict[str, float]
    tension: float = Field(ge=-1.0, le=1.0)
    direction: str
    cues: list[Cue]
    actors: list[str] = Field(default_factory=list)
    classifier_version: str
    classified_at: datetime = Field(default_factory=utcnow)

    _ts = field_validator("classified_at")(_aware)


class TensionIndexUpdate(AvroModel):
    avro_name: ClassVar[str] = "TensionIndexUpdate"

    category: str
    window_kind: str
    window_size_s: int
    window_start: datetime
    window_end: datetime
    n_total: int
    n_category: int
    n_escalating: int
    n_deescalating: int
    share: float | None = None
    index: float | None = None
    signed_mean: float | None = None
    balance: float | None = None
    final: bool = False
    top_items: list[str] = Field(default_factory=list)
    emitted_at: datetime = Field(default_factory=utcnow)
    # v2: the uncertainty of the share and the index (docs/index.md, "Uncertainty")
    evidence: int | None = None
    sparse: bool = False
    interval_level: float | None = None
    share_low: float | None = None
    share_high: float | None = None
    index_low: float | None = None
    index_high: float | None = None


class Alert(AvroModel):
    avro_name: ClassVar[str] = "Alert"

    id: str
    category: str
    rule: str
    window_start: datetime
    window_end: datetime
    value: float
    threshold: float
    message: str
    items: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)


class DeadLetter(AvroModel):
    avro_name: ClassVar[str] = "DeadLetter"

    original: bytes
    original_size: int | None = None  # v2: set when ``original`` was cut to fit a Kafka record
    original_key: bytes | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    source_ref: str | None = None
    error_class: str
    error_message: str
    reason: str
    stage: str
    attempt: int = 1
    failed_at: datetime = Field(default_factory=utcnow)
