"""Read news items (optionally labelled) from JSONL.

Shared by the CLI, the bench scripts, training and the tests, so every tool
agrees on what a valid line is.  Parsing is pure: it works on lines, and
reports problems as :class:`CorpusError` with the line number.  Research and
tooling code: the runtime classifier (``streams.classifier``) never reads a
corpus, and ``CORPUS_DIR`` only exists in a source checkout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.classifier.errors import ClassifierError
from streams.classifier.model import CATEGORIES, DIRECTIONS, NEUTRAL

#: Where the labelled corpus lives in a source checkout.
CORPUS_DIR = Path(__file__).resolve().parents[1] / "seeds" / "corpus"
DEV_PATH = CORPUS_DIR / "dev.jsonl"
#: Every held-out part: ``test.jsonl``, and ``test2.jsonl`` … ``test4.jsonl``, written later, blind, and
#: ``test5.jsonl``, ``test6.jsonl`` (issue 17: other headline styles, a ``kind`` per item, frozen by checksums)
#: (docs/corpus.md).  Training refuses all of them.
HELD_OUT_PATHS: tuple[Path, ...] = tuple(CORPUS_DIR / f"test{n}.jsonl" for n in ("", "2", "3", "4", "5", "6"))


class CorpusError(ClassifierError):
    """A JSONL corpus line is not a valid item; carries the 1-based line number."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no
        self.message = message


@dataclass(frozen=True, slots=True)
class Item:
    """One news item; ``categories``/``direction`` are None when unlabelled."""

    id: str
    title: str
    body: str
    raw: dict[str, Any]
    categories: frozenset[str] | None = None
    direction: str | None = None

    @property
    def labelled(self) -> bool:
        return self.categories is not None


def parse_item(line: str, line_no: int) -> Item:
    """Parse one JSONL line; raises CorpusError naming what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(line_no, f"invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise CorpusError(line_no, "expected a JSON object")
    item_id = data.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
        raise CorpusError(line_no, "missing or invalid 'id'")
    title = data.get("title")
    if not isinstance(title, str):
        raise CorpusError(line_no, "missing or non-string 'title'")
    body = data.get("body", "")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise CorpusError(line_no, "'body' must be a string")
    categories, direction = _parse_labels(data.get("labels"), line_no)
    return Item(str(item_id), title, body, data, categories, direction)


def _parse_labels(labels: Any, line_no: int) -> tuple[frozenset[str] | None, str | None]:
    if labels is None:
        return None, None
    if not isinstance(labels, dict):
        raise CorpusError(line_no, "'labels' must be an object")
    cats = labels.get("categories", [])
    if not isinstance(cats, list) or not set(cats) <= set(CATEGORIES):
        raise CorpusError(line_no, f"'labels.categories' must list names from {CATEGORIES}")
    direction = labels.get("direction", NEUTRAL)
    if direction not in DIRECTIONS:
        raise CorpusError(line_no, f"'labels.direction' must be one of {DIRECTIONS}")
    return frozenset(cats), direction


def iter_items(lines: Iterable[str]) -> Iterator[Item | CorpusError]:
    """Yield an Item or a CorpusError per non-blank line, in order."""
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_item(line, line_no)
        except CorpusError as exc:
            yield exc


def load_items(path: Path) -> list[Item]:
    """Load a whole file, failing on the first bad line (for labelled corpora)."""
    with path.open(encoding="utf-8") as handle:
        items: list[Item] = []
        for result in iter_items(handle):
            if isinstance(result, CorpusError):
                raise result
            items.append(result)
    return items
