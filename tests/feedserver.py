"""A local HTTP feed server for follow tests: the test changes what it serves between polls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BASE = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


def rss(entries: list[int], title: str = "Trade Wire") -> bytes:
    """An RSS 2.0 document whose entries are numbered (guid, link, title and date follow the number)."""
    items = "".join(
        f"<item><guid>urn:wire:{n}</guid><link>https://wire.example/{n}</link>"
        f"<title>Tariff talks round {n}</title>"
        f"<pubDate>{format_datetime(BASE + timedelta(hours=n))}</pubDate>"
        f"<description>US and China trade negotiators met for round {n} on tariffs.</description></item>"
        for n in entries)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://wire.example/</link>{items}</channel></rss>").encode()


MALFORMED = b"<rss><channel><title>broken<item><title>no end"


@dataclass
class Served:
    """What the server answers now: ``status`` 200 with ``body`` (and ETag), or that status."""

    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def feed_server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            served.requests.append(dict(self.headers.items()))
            if served.status != 200:
                self.send_response(served.status)
                self.end_headers()
                return
            if (served.etag and self.headers.get("If-None-Match") == served.etag) or (
                    served.last_modified and self.headers.get("If-Modified-Since") == served.last_modified):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            if served.etag:
                self.send_header("ETag", served.etag)
            if served.last_modified:
                self.send_header("Last-Modified", served.last_modified)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wire", served
    finally:
        server.shutdown()
        server.server_close()
