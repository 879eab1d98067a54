"""`tension config`: every setting as an environment variable with its effective value."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tension.config_doc import documented_defaults, markdown, rows
from tension.settings import load_settings

app = typer.Typer()


@app.command()
def config(
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the defaults as a Markdown table"),
) -> None:
    """Show the effective configuration (secrets masked, data paths absolute)."""
    if as_markdown:
        typer.echo(markdown(documented_defaults()), nl=False)
        return
    table = Table("variable", "value", "meaning")
    for row in rows(load_settings()):
        table.add_row(row.env, row.value, row.description)
    Console().print(table)
