"""The one page and its static files, served from package data (tension/dashboard/static).

Nothing is fetched from elsewhere: the charts are SVG drawn by our own
``dashboard.js``, so the page works on an offline machine.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(str(resources.files("tension.dashboard") / "static"))


async def index(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC_DIR / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    # add_static resolves paths inside STATIC_DIR only (no traversal) and never lists the folder.
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
