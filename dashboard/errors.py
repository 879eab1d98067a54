"""Typed errors of the dashboard, each mapped to one HTTP status and a stable code.

The API turns these into ``{"error": {"code", "message", ...}}`` bodies; the page
reads ``code`` to decide which message to show (empty store, store unreachable,
unknown category). Messages are written for people and never carry a DSN,
a password or a stack trace.
"""

from __future__ import annotations

from typing import Any


class DashboardError(Exception):
    """Base class: an HTTP status, a machine-readable code and a human message."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class InvalidParameter(DashboardError):
    """A query parameter is missing, unknown or malformed (400)."""

    status = 400
    code = "invalid_parameter"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}", param=param)


class UnknownCategory(DashboardError):
    """A well-formed category that the store has no rows for (404)."""

    status = 404
    code = "unknown_category"

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        names = ", ".join(repr(c) for c in unknown)
        super().__init__(f"unknown category {names}; the store has: {', '.join(known) or 'none'}",
                         unknown=unknown, known=known)


class EmptyStore(DashboardError):
    """The store is reachable but holds no index rows yet (404: nothing to show)."""

    status = 404
    code = "empty_store"


class NotFound(DashboardError):
    """A window or path that does not exist (404)."""

    status = 404
    code = "not_found"


class StoreUnavailable(DashboardError):
    """The store cannot be opened or queried (503); the message names it without secrets."""

    status = 503
    code = "store_unavailable"


class StoreConfigError(DashboardError):
    """The --store URL cannot be understood; raised at start-up, before serving."""

    status = 500
    code = "store_config"
