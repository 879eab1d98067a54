"""Queryable state: the worker's HTTP API over the live ``index_state`` table.

Every view is wrapped in ``app.table_route(exact_key=...)``: the index state
has one partition, so the worker that owns it answers and any other worker
forwards the request there (Faust's router, using each worker's advertised
``canonical_url``). Rows are merged from the table's pane totals by the same
pure functions as the published ones (a read-only :class:`streams.state.TableState`
per request).

Every answer is JSON, never a traceback: a parameter that does not validate
(unknown or repeated names, a number that is not ASCII digits or out of range,
a time that does not parse) is a 400; a worker that is still starting or
rebalancing, or whose index owner cannot be reached, answers 503 with
``Retry-After``. Faust's built-in ``/router`` and ``/table`` pages (live table
contents, 500s for unknown names) are off unless ``web_builtin_views`` is set
(``streams.app``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any

import aiohttp
import aiohttp.web
import faust
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable

from streams import metrics
from streams.config import StreamConfig
from streams.index import OVERALL
from streams.processing import WindowAggregator, event_time_ms
from streams.state import META, TableState
from streams.tables import Tables
from streams.windows import Windows, cut_of, windows_between

log = logging.getLogger(__name__)

MAX_ROWS = 2000
RETRY_AFTER_S = 2
# Times the API takes: 0001-01-01 .. 9999-12-31 in epoch ms (what a datetime can hold).
MIN_TIME_MS = -62_135_596_800_000
MAX_TIME_MS = 253_402_300_799_999
_EPOCH_MS = re.compile(r"-?[0-9]{1,16}")  # ASCII digits only: str.isdigit() also takes '²' and '٣'
_INT = re.compile(r"[0-9]{1,9}")
MAX_PARAM_CHARS = 64
PARAMS = {"index": {"window", "from", "to"}, "items": {"category", "limit"}, "categories": set(), "openapi": set()}

Handler = Callable[..., Awaitable[Response]]
# What forwarding to the index owner raises while it moves or restarts.
_UNREACHABLE = (ServiceUnavailable, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class BadRequest(ValueError):
    """A query parameter that does not validate; becomes a 400 with this message."""


def ready(app: faust.App) -> bool:
    """Whether this worker can answer from (or forward to) the index state: started, recovered, not rebalancing."""
    try:
        return bool(app.tables.recovery.completed.is_set()) and not app.rebalancing  # type: ignore[attr-defined]
    except Exception:  # pieces of the app that do not exist yet: starting
        return False


def unavailable(view: View, detail: str) -> Response:
    response = view.json({"error": "unavailable", "detail": detail}, status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def checked_query(q: Mapping[str, str], allowed: set[str]) -> dict[str, str]:
    """The query as a plain dict, or BadRequest for unknown, repeated or overlong parameters."""
    keys = list(q.keys())
    unknown = sorted(set(keys) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s) {unknown[:5]!r}; this path takes {sorted(allowed)}")
    if len(keys) != len(set(keys)):
        raise BadRequest("a parameter is given more than once")
    out = {k: q[k] for k in keys}
    for k, v in out.items():
        if len(v) > MAX_PARAM_CHARS:
            raise BadRequest(f"'{k}' is longer than {MAX_PARAM_CHARS} characters")
    return out


def guarded(app: faust.App, fun: Handler, *, route: Any = None) -> Handler:
    """A view that answers JSON whatever happens: 400 for bad input, 503 while starting, never a traceback."""
    inner = route(fun) if route is not None else fun

    @wraps(fun)
    async def view_fn(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
        if route is not None and not ready(app):
            return unavailable(view, "the worker is starting or rebalancing")
        try:
            return await inner(view, request, *args, **kwargs)
        except BadRequest as exc:
            return view.json({"error": "bad_request", "detail": str(exc)}, status=400)
        except Exception as exc:  # the owner unreachable, a rebalance under way, or a bug: logged, not shown
            if not ready(app) or isinstance(exc, _UNREACHABLE):
                return unavailable(view, f"the index state is not reachable right now ({type(exc).__name__})")
            log.exception("worker API %s failed", request.url)
            return view.json({"error": "internal", "detail": type(exc).__name__}, status=500)

    return view_fn


@aiohttp.web.middleware
async def json_http_errors(request: aiohttp.web.Request, handler: Any) -> aiohttp.web.StreamResponse:
    """aiohttp's own answers (404 for an unknown path, 405, 400 for a bad request line) as JSON bodies.

    Installed on Faust's aiohttp application through ``web_application_options`` (``streams.app``).
    """
    try:
        return await handler(request)
    except aiohttp.web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, f"http_{exc.status}")
        return aiohttp.web.json_response({"error": code, "detail": exc.reason}, status=exc.status, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # never a traceback in a body
        log.exception("worker HTTP %s %s failed", request.method, request.path)
        return aiohttp.web.json_response({"error": "internal", "detail": type(exc).__name__}, status=500)


def register(app: faust.App, tables: Tables, cfg: StreamConfig) -> None:
    w = Windows.from_config(cfg.index)
    table = tables.index_state
    names = [*cfg.index.categories, OVERALL]
    route = app.table_route(table=table, exact_key=META)

    def meta() -> dict[str, Any]:
        return TableState(table, cfg.index).meta()

    async def categories(view: View, request: Request) -> Response:
        checked_query(request.query, PARAMS["categories"])
        m = meta()
        return view.json({"categories": names, "windows": [s.name for s in w.specs],
                          "watermark_ms": cut_of(m, w), "max_event_ms": m["max_ts"],
                          "counted": m["counted"], "late": m["late"], "duplicates": m["duplicates"]})

    async def index_rows(view: View, request: Request, category: str) -> Response:
        if category not in names:
            return view.json({"error": "unknown_category", "detail": f"choose one of {names}"}, status=404)
        return view.json(_index(checked_query(request.query, PARAMS["index"]), category))

    def _index(q: Mapping[str, str], category: str) -> dict[str, Any]:
        name = q.get("window", w.specs[0].name)
        try:
            spec = w.spec(name)
        except KeyError:
            raise BadRequest(f"window must be one of {[s.name for s in w.specs]}") from None
        state = TableState(table, cfg.index)  # read-only here: decodes what it reads
        m = state.meta()
        cut = cut_of(m, w)
        hi = _time(q, "to", min((m["max_ts"] or 0) + 1, MAX_TIME_MS))
        lo = _time(q, "from", max(hi - 7 * 86_400_000, MIN_TIME_MS))
        if lo >= hi:
            raise BadRequest("'from' must be before 'to'")
        starts = windows_between(m, w, spec, lo, hi)[-MAX_ROWS:]
        rows = []
        agg = WindowAggregator(state, w, cfg.index)
        for start in starts:
            final = cut is not None and start + spec.size_ms <= cut
            for row in agg.rows(name, start, final=final):
                if row["category"] == category:
                    rows.append(row)
        return {"category": category, "window": name, "from_ms": lo, "to_ms": hi, "rows": rows}

    async def items(view: View, request: Request) -> Response:
        return view.json(_items(checked_query(request.query, PARAMS["items"])))

    def _items(q: Mapping[str, str]) -> dict[str, Any]:
        category = q.get("category") or None
        if category is not None and category not in names:
            raise BadRequest(f"category must be one of {names}")
        limit = _int(q, "limit", 20, 1, 1000)
        found: list[dict[str, Any]] = []
        state = TableState(table, cfg.index)
        for pane in reversed(state.meta()["panes"]):
            content = state.items(pane)
            for item_id, (ts, cats, tension, direction, title) in sorted(content, key=lambda kv: -kv[1][0]):
                if category is None or (category == OVERALL and cats) or category in cats:
                    found.append({"id": item_id, "published_ms": ts, "categories": cats, "tension": tension,
                                  "direction": direction, "title": title})
            if len(found) >= limit:
                break
        return {"category": category, "items": found[:limit]}

    async def openapi(view: View, request: Request) -> Response:
        checked_query(request.query, PARAMS["openapi"])
        return view.json(openapi_doc(names, [s.name for s in w.specs]))

    app.page("/api/categories")(guarded(app, categories, route=route))
    app.page("/api/index/{category}")(guarded(app, index_rows, route=route))
    app.page("/api/items")(guarded(app, items, route=route))
    app.page("/api/openapi.json")(guarded(app, openapi))
    metrics.register(app, cfg, table)  # /metrics, /healthz, /readyz


def _time(q: Mapping[str, str], key: str, default: int) -> int:
    raw = q.get(key)
    if raw is None or raw == "":
        return default
    bad = BadRequest(f"'{key}' must be an ISO-8601 time or epoch milliseconds in years 1..9999, got {raw!r}")
    try:
        ms = int(raw) if _EPOCH_MS.fullmatch(raw) else event_time_ms({"published_at": raw})
    except (ValueError, TypeError, OverflowError):
        raise bad from None
    if not MIN_TIME_MS <= ms <= MAX_TIME_MS:
        raise bad
    return ms


def _int(q: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(key)
    if raw is None or raw == "":
        return default
    if not _INT.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise BadRequest(f"'{key}' must be an integer in [{lo}, {hi}], got {raw!r}")
    return int(raw)


def openapi_doc(categories: list[str], windows: list[str]) -> dict[str, Any]:
    """OpenAPI 3.1 description of the API (served at /api/openapi.json)."""
    err = {"description": "invalid input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok = lambda ref: {"description": "ok", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}  # noqa: E731
    time_param = lambda n, d: {"name": n, "in": "query", "required": False, "description": d,  # noqa: E731
                               "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "tension-stream worker API", "version": "1",
                 "description": "Live event-time tension-index tables; any worker answers (requests are "
                                "forwarded to the worker owning the index state)."},
        "paths": {
            "/api/categories": {"get": {"summary": "Categories, windows, watermark and counters",
                                        "responses": {"200": ok("Categories")}}},
            "/api/index/{category}": {"get": {
                "summary": "Index rows of one category for windows overlapping [from, to)",
                "parameters": [
                    {"name": "category", "in": "path", "required": True, "schema": {"type": "string", "enum": categories}},
                    {"name": "window", "in": "query", "required": False, "schema": {"type": "string", "enum": windows,
                                                                                     "default": windows[0]}},
                    time_param("from", "ISO-8601 time or epoch ms (default: to − 7 days)"),
                    time_param("to", "ISO-8601 time or epoch ms, exclusive (default: latest event)")],
                "responses": {"200": ok("IndexRows"), "400": err, "404": err}}},
            "/api/items": {"get": {
                "summary": "Most recent items (by event time), optionally of one category",
                "parameters": [
                    {"name": "category", "in": "query", "required": False, "schema": {"type": "string", "enum": categories}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}}],
                "responses": {"200": ok("Items"), "400": err}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "detail"],
                      "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}},
            "Categories": {"type": "object", "properties": {
                "categories": {"type": "array", "items": {"type": "string"}},
                "windows": {"type": "array", "items": {"type": "string"}},
                "watermark_ms": {"type": ["integer", "null"]}, "max_event_ms": {"type": ["integer", "null"]},
                "counted": {"type": "integer"}, "late": {"type": "integer"}, "duplicates": {"type": "integer"}}},
            "IndexRow": {"type": "object", "description": "TensionIndexUpdate fields; times in epoch ms",
                         "properties": {k: {"type": t} for k, t in (
                             ("category", "string"), ("window_kind", "string"), ("window_size_s", "integer"),
                             ("window_start", "integer"), ("window_end", "integer"), ("n_total", "integer"),
                             ("n_category", "integer"), ("n_escalating", "integer"), ("n_deescalating", "integer"),
                             ("share", ["number", "null"]), ("index", ["number", "null"]),
                             ("signed_mean", ["number", "null"]), ("balance", ["number", "null"]),
                             ("final", "boolean"), ("evidence", "integer"), ("sparse", "boolean"),
                             ("interval_level", ["number", "null"]), ("share_low", ["number", "null"]),
                             ("share_high", ["number", "null"]), ("index_low", ["number", "null"]),
                             ("index_high", ["number", "null"]))}
                         | {"top_items": {"type": "array", "items": {"type": "string"}}}},
            "IndexRows": {"type": "object", "properties": {
                "category": {"type": "string"}, "window": {"type": "string"}, "from_ms": {"type": "integer"},
                "to_ms": {"type": "integer"}, "rows": {"type": "array", "items": {"$ref": "#/components/schemas/IndexRow"}}}},
            "Items": {"type": "object", "properties": {"category": {"type": ["string", "null"]}, "items": {
                "type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "published_ms": {"type": "integer"},
                    "categories": {"type": "array", "items": {"type": "string"}}, "tension": {"type": "number"},
                    "direction": {"type": "string"}, "title": {"type": "string"}}}}}},
        }},
    }
