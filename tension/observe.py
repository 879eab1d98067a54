"""The metrics and health endpoint of the processes that have no web server of their own.

Sinks and a following producer (``tension produce --follow``) run a blocking
loop; this serves, from a daemon thread on one port (``TENSION_SINK__METRICS_PORT``,
``TENSION_PRODUCER__METRICS_PORT``):

* ``/metrics``: the process's ``prometheus_client`` registry (text format),
* ``/healthz``: 200 while the process's loop is alive, else 503,
* ``/readyz``: 200 once it is ready (for a sink: partitions assigned and caught
  up within the configured lag), else 503; both with a small JSON body saying why.

The worker serves the same three paths on its Faust web port (``streams.metrics``),
the dashboard on its own port (``dashboard.server``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, dict[str, Any]]]


def _always() -> tuple[bool, dict[str, Any]]:
    return True, {}


class ObserveServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (port 0: a free one, see :attr:`port`)."""

    def __init__(self, host: str, port: int, *, alive: Check = _always, ready: Check = _always,
                 registry: CollectorRegistry = REGISTRY) -> None:
        checks = {"/healthz": alive, "/readyz": ready}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif path in checks:
                    try:
                        ok, detail = checks[path]()
                    except Exception as exc:  # a check that fails is a "no", with the reason
                        ok, detail = False, {"why": f"{type(exc).__name__}: {exc}"}
                    body = {"status": ("alive" if path == "/healthz" else "ready") if ok else
                            ("dead" if path == "/healthz" else "not ready"), **detail}
                    self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")
                else:
                    self._send(404, b'{"error": "not_found"}', "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - scrapes are not log lines
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="observe-http",
                                        daemon=True)  # polls for shutdown every 0.1 s

    def start(self) -> ObserveServer:
        self._thread.start()
        log.info("metrics and health at http://%s:%d/metrics (/healthz, /readyz)", self.host, self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SamplesCollector(Collector):
    """Counters read at scrape time from ``samples()``: (name ending in ``_total``, labels, value) triples.

    The small interface of :class:`connectors.sources.follow.FollowMetrics`, which keeps the
    sources free of ``prometheus_client``.
    """

    def __init__(self, samples: Callable[[], list[tuple[str, dict[str, str], float]]],
                 names: dict[str, str]) -> None:
        self.samples = samples
        self.names = names  # every family's name (with _total) → its help: families exist before any sample

    def collect(self) -> Iterator[CounterMetricFamily]:
        families: dict[str, CounterMetricFamily] = {}
        rows = self.samples()
        for name, doc in self.names.items():
            keys = sorted({k for n, lbl, _ in rows if n == name for k in lbl})
            families[name] = CounterMetricFamily(name.removesuffix("_total"), doc, labels=keys)
        for name, labels, value in rows:
            if name not in families:
                families[name] = CounterMetricFamily(name.removesuffix("_total"), name, labels=sorted(labels))
            families[name].add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()


#: what ``tension produce --follow`` exports (FollowMetrics.samples())
FOLLOW_METRICS = {
    "tension_follow_polls_total": "polls of followed sources",
    "tension_follow_not_modified_total": "polls answered 304 Not Modified (or an unchanged file)",
    "tension_follow_new_entries_total": "entries published for the first time",
    "tension_follow_dead_letters_total": "entries dead-lettered",
    "tension_follow_errors_total": "failed polls, by reason",
}


def serve_observe(host: str, port: int | None, **kwargs: Any) -> ObserveServer | None:
    """Start an :class:`ObserveServer` when a port is configured (None: metrics off)."""
    if port is None:
        return None
    return ObserveServer(host, port, **kwargs).start()
