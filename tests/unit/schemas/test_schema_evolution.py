"""Every schema version is backward- and forward-compatible with the one before, and the check bites."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import catalog, compat

DATA = Path(__file__).parents[1] / "data"


@pytest.mark.parametrize("name", catalog.record_names())
def test_every_consecutive_version_pair_is_fully_compatible(name: str) -> None:
    problems = compat.check_history(name)
    assert not problems, "\n".join(map(str, problems))


def test_newsitem_has_history() -> None:
    assert catalog.versions("NewsItem")[:2] == [1, 2]


def test_references_are_pinned_and_exist() -> None:
    for name in catalog.record_names():
        for version in catalog.versions(name):
            text = json.dumps(json.loads((catalog.AVRO_DIR / name / f"v{version}.avsc").read_text()))
            for other in catalog.record_names():
                if other != name and f'"{catalog.NAMESPACE}.{other}"' in text:
                    pins = catalog.references(name, version)
                    assert other in pins, f"{name} v{version} names {other} without pinning its version"
                    assert pins[other] in catalog.versions(other)


def test_pinned_reference_keeps_old_version_stable() -> None:
    v1_item = catalog.load("ClassifiedItem", 1)["fields"][0]["type"]
    v2_item = catalog.load("ClassifiedItem", 2)["fields"][0]["type"]
    assert v1_item == catalog.load("NewsItem", 1)
    assert v2_item == catalog.load("NewsItem", 2)


@pytest.mark.parametrize("bad_file,broken", [
    ("NewsItem.breaking-required-field.avsc", {"backward"}),
    ("NewsItem.breaking-type-change.avsc", {"backward", "forward"}),
    ("NewsItem.breaking-removed-field.avsc", {"forward"}),
])
def test_checker_rejects_breaking_change(bad_file: str, broken: set[str]) -> None:
    latest = catalog.load("NewsItem")
    bad = json.loads((DATA / bad_file).read_text())
    problems = compat.check_pair("NewsItem", latest, bad, catalog.latest_version("NewsItem"), 99)
    assert {p.direction for p in problems} == broken
    assert all(p.messages for p in problems)


@pytest.fixture()
def catalog_with_bad_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A copy of the real catalog plus the breaking schema as the next NewsItem version."""
    shutil.copytree(catalog.AVRO_DIR, tmp_path / "avro")
    nxt = catalog.latest_version("NewsItem") + 1
    shutil.copy(DATA / "NewsItem.breaking-required-field.avsc", tmp_path / "avro" / "NewsItem" / f"v{nxt}.avsc")
    monkeypatch.setattr(catalog, "AVRO_DIR", tmp_path / "avro")
    catalog._raw.cache_clear()
    yield nxt
    catalog._raw.cache_clear()


def test_history_check_fails_ci_on_breaking_version(catalog_with_bad_version: int) -> None:
    problems = compat.check_catalog()
    assert [(p.name, p.newer, p.direction) for p in problems] == [("NewsItem", catalog_with_bad_version,
                                                                    "backward")]
    assert "region" in str(problems[0])
