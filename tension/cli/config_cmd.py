"""`tension config`: every setting as an environment variable with its effective value."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tension.config_doc import markdown, rows
from tension.settings import Settings, load_settings

app = typer.Typer()


@app.command()
def config(
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the defaults as a Markdown table"),
) -> None:
    """Show the effective configuration (secrets masked)."""
    if as_markdown:
        typer.echo(markdown(Settings(_env_file=None)), nl=False)  # type: ignore[call-arg]
        return
    table = Table("variable", "value", "meaning")
    for row in rows(load_settings()):
        table.add_row(row.env, row.value, row.description)
    Console().print(table)
