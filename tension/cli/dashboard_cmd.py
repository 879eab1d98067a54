"""`tension dashboard`: serve the page and JSON API over a sink store (docs/dashboard.md)."""

from __future__ import annotations

import typer

from tension.exits import EXIT_INVALID, EXIT_UNREACHABLE, fail

app = typer.Typer()


@app.command()
def dashboard(
    store: str = typer.Option(None, "--store", help="sqlite:///rel.db, sqlite:////abs.db or postgresql://… "
                              "(default: TENSION_DASHBOARD__STORE, else the sink's SQLite file)"),
    api_url: str = typer.Option(None, "--api", help="the worker's live HTTP API, e.g. http://127.0.0.1:6066/"),
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1: this machine only)"),
    port: int = typer.Option(None, help="port (default 8765; 0 picks a free one)"),
) -> None:
    """Serve the tension dashboard: charts per category, current levels, alerts, items behind a point.

    A store that cannot be read at the start (PostgreSQL down, a SQLite file that
    does not exist) is one line and exit 2 within seconds; once serving, an outage
    is shown on the page instead and the server keeps running.
    """
    from dashboard.errors import DashboardError
    from dashboard.server import serve
    from dashboard.store import open_store
    from tension.cli import configure_logging
    from tension.settings import load_settings
    from tension.wiring import api_config, dashboard_store_url

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    d = s.dashboard
    try:
        st = open_store(dashboard_store_url(s, store))
        st.health()  # fail fast (PostgreSQL: within its 3 s connect timeout)
    except DashboardError as exc:  # a bad --store is a usage error, an unreadable store unreachable: both 2
        fail(exc.message, EXIT_UNREACHABLE)
    try:
        serve(st, host or d.host, d.port if port is None else port, api_config(s, api_url),
              on_ready=lambda u: typer.echo(f"dashboard: {u}  (store {st.label}; Ctrl-C stops)", err=False))
    except OSError as exc:  # e.g. port in use
        fail(f"dashboard: cannot listen on {host or d.host}:{port if port is not None else d.port}: "
             f"{exc.strerror or exc}", EXIT_INVALID)
