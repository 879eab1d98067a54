"""`tension dashboard`: serve the page and JSON API over a sink store (docs/dashboard.md)."""

from __future__ import annotations

import typer

app = typer.Typer()


@app.command()
def dashboard(
    store: str = typer.Option(None, "--store", help="sqlite:///rel.db, sqlite:////abs.db or postgresql://… "
                              "(default: TENSION_DASHBOARD__STORE, else the sink's SQLite file)"),
    api_url: str = typer.Option(None, "--api", help="the worker's live HTTP API, e.g. http://127.0.0.1:6066/"),
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1: this machine only)"),
    port: int = typer.Option(None, help="port (default 8765; 0 picks a free one)"),
) -> None:
    """Serve the tension dashboard: charts per category, current levels, alerts, items behind a point."""
    from tension.cli import configure_logging
    from dashboard.api import ApiConfig
    from dashboard.errors import DashboardError
    from dashboard.server import serve
    from dashboard.store import open_store
    from tension.settings import load_settings

    s = load_settings()
    configure_logging(s.log_level, s.log_format)
    d = s.dashboard
    url = store or d.store.get_secret_value() or f"sqlite:///{s.sink.sqlite_path.resolve()}"
    try:
        st = open_store(url)
        config = ApiConfig(refresh_s=d.refresh_s, max_points=d.max_points, live_api_url=api_url or d.api_url)
        serve(st, host or d.host, d.port if port is None else port, config,
              on_ready=lambda u: typer.echo(f"dashboard: {u}  (store {st.label}; Ctrl-C stops)", err=False))
    except DashboardError as exc:
        typer.echo(f"dashboard: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:  # e.g. port in use
        typer.echo(f"dashboard: cannot listen on {host or d.host}:{port if port is not None else d.port}: "
                   f"{exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
