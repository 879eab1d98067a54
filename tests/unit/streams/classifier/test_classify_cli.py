"""The `classify`/`evaluate` command contract, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streams.classifier import CATEGORIES, CLASSIFIER_VERSION
from tension.cli.classify_cmd import app

runner = CliRunner()

GOOD_1 = {"id": "n1", "title": "US imposes new tariffs on Chinese steel", "body": "Beijing vowed to retaliate.",
          "published_at": "2025-05-01T00:00:00Z", "source": "wire", "url": None}
GOOD_2 = {"id": 7, "title": "Visa card payments rise", "body": ""}


def _run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_classify_stdin_contract() -> None:
    text = json.dumps(GOOD_1) + "\n\n" + json.dumps(GOOD_2) + "\n"
    result = _run("classify", "-", stdin=text)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["n1", 7]
    first = lines[0]
    assert first["categories"] == ["tariffs"]
    assert -1 <= first["tension"] <= 1 and first["direction"] == "escalation"
    assert set(first["scores"]) == set(CATEGORIES)
    assert all(set(c) == {"phrase", "category", "direction", "weight"} for c in first["cues"])
    assert first["actors"][:2] == ["US", "China"]
    assert first["classifier_version"] == CLASSIFIER_VERSION
    assert first["source"] == "wire"
    assert lines[1]["categories"] == [] and lines[1]["tension"] == 0.0


def test_classify_bad_lines_reported_and_rest_processed(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps(GOOD_1) + "\n{not json\n" + json.dumps({"id": "x"}) + "\n" + json.dumps(GOOD_2) + "\n",
        encoding="utf-8",
    )
    result = _run("classify", str(path))
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["n1", 7]
    assert "line 2" in result.stderr and "invalid JSON" in result.stderr
    assert "line 3" in result.stderr and "title" in result.stderr


def test_classify_missing_file_and_unknown_engine(tmp_path: Path) -> None:
    assert _run("classify", str(tmp_path / "nope.jsonl")).exit_code == 2
    assert _run("classify", "-", "--engine", "nope", stdin="").exit_code == 2


def test_evaluate_prints_metrics(tmp_path: Path) -> None:
    labelled = [
        {**GOOD_1, "labels": {"categories": ["tariffs"], "direction": "escalation"}},
        {**GOOD_2, "labels": {"categories": [], "direction": "neutral"}},
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in labelled), encoding="utf-8")
    result = _run("evaluate", str(path), "--show-errors", "5")
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "direction accuracy" in result.stdout
    as_json = json.loads(_run("evaluate", str(path), "--json").stdout)
    assert as_json["rules"]["macro_f1"] == 1.0
    assert as_json["rules"]["direction_accuracy"] == 1.0


def test_classify_failures_are_one_prefixed_line(tmp_path: Path) -> None:
    for args in (("classify", "-", "--engine", "nope"), ("classify", str(tmp_path / "missing.jsonl"))):
        result = _run(*args, stdin="")
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tension: error: "), (args, result.stderr)
