"""The JSON API under ``/api``: thin handlers that validate, query the store off the loop, answer.

Every error leaves as ``{"error": {"code", "message", ...}}`` with a 4xx/5xx
status (see :mod:`dashboard.errors`); anything unexpected is logged
with its traceback server-side and answered with a generic 500, so a browser
never sees a stack trace. Store calls are blocking (sqlite3, psycopg) and run
in worker threads so one slow query does not stall the page's other requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from dashboard import params as p
from dashboard.errors import DashboardError
from dashboard.store import Store

log = logging.getLogger(__name__)

DEFAULT_SIZE_S = 86_400  # the 24 h hopping window and the 1-day tumbling window
JSONHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ApiConfig:
    """What the handlers need besides the store; built by the server from settings."""

    refresh_s: float = 5.0
    max_points: int = 50_000
    live_api_url: str | None = None


STORE = web.AppKey("store", Store)
CONFIG = web.AppKey("config", ApiConfig)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: JSONHandler) -> web.StreamResponse:
    """Typed errors → their status; HTTP errors → JSON; anything else → logged, generic 500."""
    try:
        return await handler(request)
    except DashboardError as exc:
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.path, exc.message)
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, f"http_{exc.status}")
        return error_response(exc.status, code, exc.reason)
    except asyncio.CancelledError:
        raise
    except (OSError, ValueError) as exc:
        if request.path.startswith("/static/"):  # a name the file system refuses (too long, NUL): no such file
            return error_response(404, "not_found", "Not Found")
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; the dashboard's log has the details")
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; the dashboard's log has the details")


@web.middleware
async def safety_headers(request: web.Request, handler: JSONHandler) -> web.StreamResponse:
    """Only our own scripts and styles may run; API answers are never cached."""
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _json(data: Any) -> web.Response:
    # No compression on purpose: on loopback gzip costs more time than the bytes it saves.
    return web.json_response(data)


async def health(request: web.Request) -> web.Response:
    """Store counts and a version token the page polls to know when to reload."""
    p.check_known(request.query, set())
    store, cfg = request.app[STORE], request.app[CONFIG]
    info = await asyncio.to_thread(store.health)
    info["refresh_s"] = cfg.refresh_s
    info["live_api"] = cfg.live_api_url is not None
    return _json(info)


async def overview(request: web.Request) -> web.Response:
    """Current level of each category (latest 24 h and daily window) and its change since the day before."""
    q = request.query
    p.check_known(q, {"size"})
    size = p.integer(q.get("size"), "size", default=DEFAULT_SIZE_S, lo=60, hi=366 * 86_400)
    rows = await asyncio.to_thread(request.app[STORE].overview, size)
    return _json({"window_size_s": size, "categories": rows})


async def series(request: web.Request) -> web.Response:
    """Index rows per category and window kind over a time range (oldest first)."""
    q = request.query
    p.check_known(q, {"category", "kind", "size", "since", "until", "limit"})
    cfg = request.app[CONFIG]
    cats = p.categories(q.get("category"))
    kinds = p.kinds(q.get("kind"))
    size = p.integer(q.get("size"), "size", default=DEFAULT_SIZE_S, lo=60, hi=366 * 86_400)
    since, until = p.timestamp(q.get("since"), "since"), p.timestamp(q.get("until"), "until")
    p.time_range(since, until)
    limit = p.integer(q.get("limit"), "limit", default=cfg.max_points, lo=1, hi=cfg.max_points)
    data = await asyncio.to_thread(request.app[STORE].series, cats, kinds, size, since, until, limit)
    return _json(data)


async def point(request: web.Request) -> web.Response:
    """One window and its contributing items: title, categories, tension, cues."""
    q = request.query
    p.check_known(q, {"category", "kind", "size", "window_start"})
    category = p.category(q.get("category"), required=True)
    kind = p.kind(q.get("kind"))
    size = p.integer(q.get("size"), "size", default=DEFAULT_SIZE_S, lo=60, hi=366 * 86_400)
    start = p.timestamp(q.get("window_start"), "window_start", required=True)
    assert category is not None and start is not None
    data = await asyncio.to_thread(request.app[STORE].point, category, kind, size, start)
    return _json(data)


async def alerts(request: web.Request) -> web.Response:
    """Newest alerts first; ``since`` (the newest ``created_at`` the page has) returns those at or after it."""
    q = request.query
    p.check_known(q, {"category", "since", "limit"})
    cats = p.categories(q.get("category"))
    since = p.timestamp(q.get("since"), "since")
    limit = p.integer(q.get("limit"), "limit", default=50, lo=1, hi=1000)
    rows = await asyncio.to_thread(request.app[STORE].alerts, cats, since, limit)
    return _json({"alerts": rows})


WORKER_FIELDS = ("watermark_ms", "max_event_ms", "counted", "late", "duplicates")


async def live(request: web.Request) -> web.Response:
    """Whether the worker's live API (``--api``) answers, with its progress from ``/api/categories``."""
    p.check_known(request.query, set())
    url = request.app[CONFIG].live_api_url
    if url is None:
        return _json({"configured": False})
    try:
        async with ClientSession(timeout=ClientTimeout(total=2)) as session:
            async with session.get(url.rstrip("/") + "/api/categories") as response:
                info: dict[str, Any] = {"configured": True, "reachable": response.status < 500,
                                        "status": response.status}
                if response.status == 200:
                    try:
                        data = await response.json(content_type=None)
                    except ValueError:
                        data = None
                    if isinstance(data, dict):
                        info["worker"] = {k: data.get(k) for k in WORKER_FIELDS}
                return _json(info)
    except (ClientError, asyncio.TimeoutError, OSError) as exc:
        return _json({"configured": True, "reachable": False, "reason": type(exc).__name__})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/api/series", series)
    app.router.add_get("/api/point", point)
    app.router.add_get("/api/alerts", alerts)
    app.router.add_get("/api/live", live)
