"""The one page, its static files (package data, dashboard/static) and the chart library.

Nothing is fetched from elsewhere: the charts are drawn by uPlot, which
``make setup`` installs from npm (``npm ci`` against the committed
``package-lock.json``) into ``dashboard/node_modules`` and this server
serves under ``/vendor/`` — so the page works on an offline machine, and no
copy of the library is committed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(str(resources.files("dashboard") / "static"))
VENDOR_DIR = Path(str(resources.files("dashboard"))) / "node_modules" / "uplot" / "dist"
#: the only files of the library the page loads
VENDOR_FILES = ("uPlot.iife.min.js", "uPlot.min.css")


def vendor_missing() -> list[str]:
    """The library files that are not installed (the server logs them; the page says so)."""
    return [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]


async def vendor(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in VENDOR_FILES or not (VENDOR_DIR / name).is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(VENDOR_DIR / name)


async def index(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC_DIR / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/vendor/{name}", vendor)
    # add_static resolves paths inside STATIC_DIR only (no traversal) and never lists the folder.
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
