"""Prometheus metrics of the dashboard, served on its own port at ``/metrics`` (with ``/healthz``, ``/readyz``).

Requests are counted by route (the route's pattern, never the raw path, so a
scanner cannot grow the label set) and status; store reads are timed per API
route (every ``/api/*`` handler is one store query run in a thread).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

REQUESTS = Counter("tension_dashboard_requests", "dashboard HTTP requests, by route and status", ["route", "status"])
SECONDS = Histogram("tension_dashboard_request_seconds", "dashboard request latency (API routes: the store read)",
                    ["route"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route(request: web.Request) -> str:
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None and info.http_exception is None else "unmatched"


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request; outermost, so it sees the status the error middleware chose."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = _route(request)
        REQUESTS.labels(route, str(status)).inc()
        SECONDS.labels(route).observe(time.perf_counter() - started)


async def metrics(_request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def alive(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", alive)
    app.router.add_get("/readyz", alive)  # the store is opened before the server listens: up means ready
