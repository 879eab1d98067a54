"""Assembles the aiohttp application and runs it; the CLI and the tests both start it from here."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from dashboard import api, page
from dashboard import metrics as dash_metrics
from dashboard.store import Store

log = logging.getLogger(__name__)


def create_app(store: Store, config: api.ApiConfig | None = None) -> web.Application:
    """The whole dashboard over one store: page, static files, JSON API."""
    app = web.Application(middlewares=[dash_metrics.count_requests, api.safety_headers, api.json_errors])
    app[api.STORE] = store
    app[api.CONFIG] = config or api.ApiConfig()
    api.add_routes(app)
    page.add_routes(app)
    dash_metrics.add_routes(app)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


async def serve_async(store: Store, host: str, port: int, config: api.ApiConfig | None = None,
                      on_ready: Callable[[str], None] | None = None,
                      stop: asyncio.Event | None = None) -> None:
    """Listen until ``stop`` is set (or SIGINT/SIGTERM); ``on_ready`` gets the page's URL.

    Port 0 picks a free port; the URL passed to ``on_ready`` has the real one.
    """
    missing = page.vendor_missing()
    if missing:
        log.error("the chart library is not installed (%s missing in %s): run `make setup`; the page will say so",
                  ", ".join(missing), page.VENDOR_DIR)
    if not is_loopback(host):
        log.warning("the dashboard has no authentication and listens on %s, beyond this machine", host)
    runner = web.AppRunner(create_app(store, config), access_log=None, handle_signals=False)
    await runner.setup()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = url_for(bound_host, bound_port)
        log.info("dashboard over %s at %s", store.label, url)
        if on_ready:
            on_ready(url)
        await stop.wait()
    finally:
        await runner.cleanup()
        log.info("dashboard stopped")


def serve(store: Store, host: str, port: int, config: api.ApiConfig | None = None,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Blocking :func:`serve_async` for the CLI."""
    asyncio.run(serve_async(store, host, port, config, on_ready))
