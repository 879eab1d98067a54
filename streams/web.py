"""Queryable state: the worker's HTTP API over the live ``index_state`` table.

Every view is wrapped in ``app.table_route(exact_key=...)``: the index state
has one partition, so the worker that owns it answers and any other worker
forwards the request there (Faust's router, using each worker's advertised
``canonical_url``). Rows are merged from the table's pane totals by the same
pure functions as the published ones (a read-only :class:`streams.state.TableState`
per request). Input errors are JSON 4xx bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.web import Request, Response, View

from streams.config import StreamConfig
from streams.index import OVERALL
from streams.processing import WindowAggregator, event_time_ms
from streams.state import META, TableState
from streams.tables import Tables
from streams.windows import Windows, cut_of, windows_between

MAX_ROWS = 2000


class BadRequest(ValueError):
    """A query parameter that does not validate; becomes a 400 with this message."""


def register(app: faust.App, tables: Tables, cfg: StreamConfig) -> None:
    w = Windows.from_config(cfg.index)
    table = tables.index_state
    names = [*cfg.index.categories, OVERALL]
    route = app.table_route(table=table, exact_key=META)

    def meta() -> dict[str, Any]:
        return TableState(table, cfg.index).meta()

    def guard(view: View, fun: Any) -> Any:
        try:
            return fun()
        except BadRequest as exc:
            return view.json({"error": "bad_request", "detail": str(exc)}, status=400)

    @app.page("/api/categories")
    @route
    async def categories(view: View, request: Request) -> Response:
        m = meta()
        return view.json({"categories": names, "windows": [s.name for s in w.specs],
                          "watermark_ms": cut_of(m, w), "max_event_ms": m["max_ts"],
                          "counted": m["counted"], "late": m["late"], "duplicates": m["duplicates"]})

    @app.page("/api/index/{category}")
    @route
    async def index_rows(view: View, request: Request, category: str) -> Response:
        if category not in names:
            return view.json({"error": "unknown_category", "detail": f"choose one of {names}"}, status=404)
        return guard(view, lambda: view.json(_index(request.query, category)))

    def _index(q: Mapping[str, str], category: str) -> dict[str, Any]:
        name = q.get("window", w.specs[0].name)
        try:
            spec = w.spec(name)
        except KeyError:
            raise BadRequest(f"window must be one of {[s.name for s in w.specs]}") from None
        state = TableState(table, cfg.index)  # read-only here: decodes what it reads
        m = state.meta()
        cut = cut_of(m, w)
        hi = _time(q, "to", (m["max_ts"] or 0) + 1)
        lo = _time(q, "from", hi - 7 * 86_400_000)
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

    @app.page("/api/items")
    @route
    async def items(view: View, request: Request) -> Response:
        return guard(view, lambda: view.json(_items(request.query)))

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

    @app.page("/api/openapi.json")
    async def openapi(view: View, request: Request) -> Response:
        return view.json(openapi_doc(names, [s.name for s in w.specs]))


def _time(q: Mapping[str, str], key: str, default: int) -> int:
    raw = q.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw) if raw.lstrip("-").isdigit() else event_time_ms({"published_at": raw})
    except ValueError:
        raise BadRequest(f"'{key}' must be an ISO-8601 time or epoch milliseconds, got {raw!r}") from None


def _int(q: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
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
                             ("final", "boolean"))} | {"top_items": {"type": "array", "items": {"type": "string"}}}},
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
