"""`tension classify` and `tension evaluate`: the offline face of the classifier.

Both go through ``streams.classifier`` exactly as the Faust agent does, so a
file classified here scores like the live stream.  ``classify`` streams JSONL
to JSONL (one output line per valid input line, in input order); bad lines are
reported on stderr with their line number and make the exit code non-zero
only after every other line has been processed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from streams.classifier import CATEGORIES, DIRECTIONS, ClassifierError
from streams.classifier import ENGINE_NAMES as RUNTIME_ENGINES

if TYPE_CHECKING:
    from classifier_lab.corpus import Item
    from classifier_lab.evaluate import Report

# The research package (corpus reader, scikit-learn engines, the evaluator) is imported inside the
# commands: every `tension` process registers these commands, and a worker or a sink must not load it.
_ENGINE_HELP = f"{', '.join(RUNTIME_ENGINES)}, or a research engine of classifier_lab (see --all-engines)."

app = typer.Typer(add_completion=False, help="Classify news items and evaluate the classifier.")

_PASS_THROUGH = ("published_at", "source", "url")


def _output_record(item: Item, engine_name: str) -> dict[str, Any]:
    from classifier_lab.engines import get_engine

    result = get_engine(engine_name).classify(item.title, item.body)
    record: dict[str, Any] = {"id": item.raw["id"]}
    record.update(result.to_dict())
    for key in _PASS_THROUGH:
        if key in item.raw:
            record[key] = item.raw[key]
    return record


def _check_engine(engine: str) -> None:
    from classifier_lab.engines import ENGINE_NAMES

    if engine not in ENGINE_NAMES:
        typer.echo(f"tension: error: unknown engine {engine!r}; choose from {', '.join(ENGINE_NAMES)}", err=True)
        raise typer.Exit(2)


@app.command("classify")
def classify_cmd(
    path: str = typer.Argument("-", help="JSONL file of items (id, title, body, ...); '-' for stdin."),
    engine: str = typer.Option("rules", "--engine", "-e", help=_ENGINE_HELP),
) -> None:
    """Write one JSON line per input item: categories, tension, scores, cues, actors."""
    from classifier_lab.corpus import CorpusError, iter_items

    _check_engine(engine)
    errors = 0
    stream: IO[str]
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        typer.echo(f"tension: error: cannot open {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    out = sys.stdout
    try:
        for result in iter_items(stream):
            if isinstance(result, CorpusError):
                errors += 1
                typer.echo(f"tension: error: {path}: {result}", err=True)
                continue
            try:
                record = _output_record(result, engine)
            except ClassifierError as exc:
                typer.echo(f"tension: error: {exc}", err=True)
                raise typer.Exit(2) from None
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if stream is not sys.stdin:
            stream.close()
    out.flush()
    if errors:
        typer.echo(f"{errors} invalid line(s) skipped", err=True)
        raise typer.Exit(1)


@app.command("evaluate")
def evaluate_cmd(
    path: Path = typer.Argument(..., help="Labelled JSONL corpus (see docs/corpus.md)."),
    engine: str = typer.Option("rules", "--engine", "-e", help=_ENGINE_HELP),
    all_engines: bool = typer.Option(False, "--all-engines", help="Evaluate every engine side by side."),
    show_errors: int = typer.Option(20, "--show-errors", help="How many misclassified items to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the report(s) as JSON instead of tables."),
) -> None:
    """Per-category precision/recall/F1, macro-F1, direction accuracy and confusion."""
    from classifier_lab.corpus import DEV_PATH, CorpusError, load_items
    from classifier_lab.engines import ENGINE_NAMES, get_engine
    from classifier_lab.evaluate import evaluate

    try:
        items = load_items(path)
    except (OSError, CorpusError) as exc:
        typer.echo(f"tension: error: cannot load {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    names = list(ENGINE_NAMES) if all_engines else [engine]
    for name in names:
        _check_engine(name)
    reports: dict[str, Report] = {}
    for name in names:
        eng = get_engine(name)
        try:
            reports[name] = evaluate(items, [eng.classify(it.title, it.body) for it in items])
        except ClassifierError as exc:
            typer.echo(f"tension: error: engine {name}: {exc}", err=True)
            raise typer.Exit(2) from None
    if as_json:
        payload = {n: r.to_dict() for n, r in reports.items()}
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    console.print(_summary_table(path, reports))
    if path.resolve() == DEV_PATH.resolve() and {"ml", "hybrid"} & set(reports):
        console.print("note: ml/hybrid are trained on this file, so their figures here are not a test.")
    for name, report in reports.items():
        console.print(_confusion_table(name, report))
        if show_errors > 0 and report.misclassified:
            console.print(_errors_table(name, report, show_errors))


def _summary_table(path: Path, reports: dict[str, Report]) -> Table:
    n = next(iter(reports.values())).n_items
    table = Table(title=f"{path} — {n} items")
    table.add_column("metric")
    for name in reports:
        table.add_column(name, justify="right")
    for cat in CATEGORIES:
        support = next(iter(reports.values())).per_category[cat].support
        for label, attr in (("P", "precision"), ("R", "recall"), ("F1", "f1")):
            row = [f"{getattr(r.per_category[cat], attr):.3f}" for r in reports.values()]
            table.add_row(f"{cat} {label}" + (f" (n={support})" if label == "P" else ""), *row)
    table.add_row("macro-F1", *[f"[bold]{r.macro_f1:.3f}" for r in reports.values()])
    table.add_row("direction accuracy", *[f"[bold]{r.direction_accuracy:.3f}" for r in reports.values()])
    table.add_row(
        "irrelevant FP rate",
        *[f"{r.irrelevant_fp_rate:.3f} (of {r.irrelevant_items})" for r in reports.values()],
    )
    table.add_row("misclassified", *[str(len(r.misclassified)) for r in reports.values()])
    return table


def _confusion_table(name: str, report: Report) -> Table:
    table = Table(title=f"{name}: direction confusion (rows gold, columns predicted)")
    table.add_column("gold \\ pred")
    for d in DIRECTIONS:
        table.add_column(d, justify="right")
    for gold in DIRECTIONS:
        table.add_row(gold, *[str(report.confusion[gold][p]) for p in DIRECTIONS])
    return table


def _errors_table(name: str, report: Report, limit: int) -> Table:
    table = Table(title=f"{name}: misclassified items (first {limit} of {len(report.misclassified)})")
    for col in ("id", "title", "gold", "predicted", "tension"):
        table.add_column(col)
    for m in report.misclassified[:limit]:
        table.add_row(
            m.id,
            m.title,
            f"{','.join(m.gold_categories) or '-'} / {m.gold_direction}",
            f"{','.join(m.predicted_categories) or '-'} / {m.predicted_direction}",
            f"{m.tension:+.2f}",
        )
    return table
