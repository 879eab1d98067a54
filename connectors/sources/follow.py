"""Follow live sources: poll feeds, files and folders, publish only what was not published before.

``tension produce --follow`` replaces a cron job around ``tension produce``.
Each source is polled every ``interval_s``:

- an http(s) URL with a conditional GET (``If-None-Match`` / ``If-Modified-Since``
  from the last answer), so an unchanged feed costs a 304 and no parsing;
- a file when its size or modification time changed; a folder picks up every
  file that is new or changed (same rules as ``tension produce DIR``).

Entries are told apart by their item id (stable for a feed entry: derived from
its guid/link/title), rejections by a hash of their reason and original bytes,
so a feed that repeats old entries or stays malformed does not publish or
dead-letter anything twice. What was published is recorded in a JSON state
file only after the broker acknowledged it, and the validators (ETag, mtime)
of a source only then too: a crash in between re-reads and re-filters rather
than losing entries. A source that fails (network, HTTP 5xx, malformed feed)
is retried with exponential backoff while the others keep their pace; the
failure is counted by reason, logged, and — for content — dead-lettered once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from connectors.sources import rejects
from connectors.sources.exceptions import PublishError, SourceError
from connectors.sources.inputs import expand, kind_of, read_inputs, read_one, sniff
from connectors.sources.normalize import Parsed, ReadOptions
from connectors.sources.rejects import Rejection
from schemas.models import NewsItem

log = logging.getLogger(__name__)

STATE_VERSION = 1
#: ids remembered per source; a feed shows its last few dozen entries, so this bounds the file, not recall
MAX_SEEN_PER_SOURCE = 20_000
USER_AGENT = "tension-stream/0.1 (+news follower)"

#: error reasons counted by :class:`FollowMetrics`
NETWORK, HTTP_4XX, HTTP_5XX, PARSE, MISSING, DELIVERY = "network", "http_4xx", "http_5xx", "parse", "missing", "delivery"


@dataclass
class FollowMetrics:
    """Counters of one follower; ``samples()`` is the small interface a Prometheus collector reads."""

    polls: int = 0
    not_modified: int = 0
    new_entries: int = 0
    dead_lettered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def error(self, reason: str) -> None:
        with self._lock:
            self.errors[reason] += 1

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        """(metric name, labels, value) of every counter, e.g. for a ``prometheus_client`` custom collector."""
        with self._lock:
            out: list[tuple[str, dict[str, str], float]] = [
                ("tension_follow_polls_total", {}, float(self.polls)),
                ("tension_follow_not_modified_total", {}, float(self.not_modified)),
                ("tension_follow_new_entries_total", {}, float(self.new_entries)),
                ("tension_follow_dead_letters_total", {}, float(self.dead_lettered))]
            out += [("tension_follow_errors_total", {"reason": r}, float(n)) for r, n in sorted(self.errors.items())]
        return out


class FollowStateError(SourceError):
    """The state file of a follower cannot be used; carries its path."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class FollowState:
    """What was published per source, and the validators of its last successful read; saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:  # a hand-edited or truncated file: say which, do not guess
                raise FollowStateError(path, f"unreadable follow state ({exc}); fix or remove it") from exc
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                found = data.get("version") if isinstance(data, dict) else type(data).__name__
                raise FollowStateError(path, f"follow state version {found!r}, expected {STATE_VERSION}")
            self.sources = data.get("sources", {})
        self._seen = {src: set(s.get("seen", [])) for src, s in self.sources.items()}

    def source(self, name: str) -> dict[str, Any]:
        self._seen.setdefault(name, set())
        return self.sources.setdefault(name, {"seen": []})

    def is_new(self, name: str, key: str) -> bool:
        return key not in self._seen.setdefault(name, set())

    def mark(self, name: str, keys: Iterable[str]) -> None:
        entry, seen = self.source(name), self._seen[name]
        for key in keys:
            if key not in seen:
                seen.add(key)
                entry["seen"].append(key)
        if len(entry["seen"]) > MAX_SEEN_PER_SOURCE:
            drop = entry["seen"][:-MAX_SEEN_PER_SOURCE]
            entry["seen"] = entry["seen"][-MAX_SEEN_PER_SOURCE:]
            seen.difference_update(drop)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": STATE_VERSION, "sources": self.sources}), encoding="utf-8")
        os.replace(tmp, self.path)  # a crash leaves the old state or the new one, never half of one


def entry_key(parsed: Parsed) -> str:
    """The identity of an entry across polls: its item id, or for a rejection its reason and content."""
    if isinstance(parsed, Rejection):
        digest = hashlib.sha256(parsed.reason.encode() + b"\0" + parsed.original).hexdigest()[:32]
        return f"rejected:{digest}"
    return parsed.id


class SourceFailed(Exception):
    """One poll of one source failed; ``reason`` is the error label counted."""

    def __init__(self, source: str, reason: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = reason


Publish = Callable[[list[Parsed]], object]


class Follower:
    """Polls each source every ``interval_s`` (backing off on failures) until :meth:`stop`."""

    def __init__(self, sources: list[str], *, publish: Publish, state_path: Path, interval_s: float,
                 opts: ReadOptions, max_backoff_s: float | None = None, fetch_timeout_s: float = 30.0,
                 metrics: FollowMetrics | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.sources = list(dict.fromkeys(sources))
        self.publish = publish
        self.state = FollowState(state_path)
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s if max_backoff_s is not None else max(interval_s * 16, 300.0)
        self.fetch_timeout_s = fetch_timeout_s
        self.opts = opts
        self.metrics = metrics or FollowMetrics()
        self._failures: Counter[str] = Counter()
        self._due = {src: 0.0 for src in self.sources}
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the poll under way (its entries are published and recorded), then return from :meth:`run`."""
        self._stop.set()

    def run(self) -> None:
        log.info("following %d source(s) every %gs", len(self.sources), self.interval_s)
        while not self._stop.is_set():
            self.poll_due()
            wait = min(self._due.values()) - time.monotonic()
            self._stop.wait(max(0.0, wait))
        log.info("stopped following: %d poll(s), %d new entries, errors %s", self.metrics.polls,
                 self.metrics.new_entries, dict(self.metrics.errors) or "none")

    def poll_due(self) -> None:
        """Poll every source whose time has come (all of them on the first call)."""
        for src in self.sources:
            if self._stop.is_set():
                return
            if self._due[src] <= time.monotonic():
                self.poll(src)

    def poll(self, src: str) -> None:
        """One poll of one source; failures are counted, logged and backed off, never raised."""
        self.metrics.count("polls")
        try:
            self._poll(src)
        except SourceFailed as exc:
            self._failed(src, exc.reason, str(exc))
        else:
            self._failures[src] = 0
            self._due[src] = time.monotonic() + self.interval_s

    def _failed(self, src: str, reason: str, message: str) -> None:
        self.metrics.error(reason)
        self._failures[src] += 1
        delay = min(self.interval_s * 2 ** (self._failures[src] - 1), self.max_backoff_s)
        self._due[src] = time.monotonic() + delay
        log.warning("%s (failure %d in a row; next try in %.0fs)", message, self._failures[src], delay,
                    extra={"source": src, "reason": reason})

    def _poll(self, src: str) -> None:
        if src.startswith(("http://", "https://")):
            self._poll_url(src)
        else:
            self._poll_path(src)

    # -- publishing ----------------------------------------------------------------------------

    def _publish_new(self, src: str, parsed: Iterable[Parsed], validators: dict[str, Any]) -> None:
        """Publish the entries not seen before; record them (and the validators) once acknowledged."""
        every = list(parsed)
        fresh: list[Parsed] = []
        keys: list[str] = []
        for one in every:
            key = entry_key(one)
            if self.state.is_new(src, key) and key not in keys:
                fresh.append(one)
                keys.append(key)
        if fresh:
            try:
                self.publish(fresh)
            except PublishError as exc:  # the broker did not acknowledge: nothing recorded, retried next poll
                raise SourceFailed(src, DELIVERY, f"not published: {exc}") from exc
            self.state.mark(src, keys)
        self.state.source(src).update(validators)
        self.state.save()
        bad = sum(isinstance(p, Rejection) for p in fresh)
        self.metrics.count("new_entries", len(fresh) - bad)
        self.metrics.count("dead_lettered", bad)
        if fresh:
            log.info("%s: %d new entries, %d dead-lettered", src, len(fresh) - bad, bad, extra={"source": src})
        unreadable = [p for p in every if isinstance(p, Rejection) and p.reason == rejects.PARSE]
        if unreadable and not any(isinstance(p, NewsItem) for p in every):
            # the document itself could not be read: a failure of the source, counted and backed off
            raise SourceFailed(src, PARSE, f"malformed input (dead-lettered once): {unreadable[0].message[:200]}")

    # -- URLs ----------------------------------------------------------------------------------

    def _poll_url(self, url: str) -> None:
        known = self.state.source(url)
        headers = {"User-Agent": USER_AGENT}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.fetch_timeout_s) as response:  # noqa: S310
                data = response.read()
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                self.metrics.count("not_modified")
                log.debug("%s: not modified", url)
                return
            raise SourceFailed(url, HTTP_5XX if exc.code >= 500 else HTTP_4XX,
                               f"HTTP {exc.code} {exc.reason}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            raise SourceFailed(url, NETWORK, f"cannot fetch: {getattr(exc, 'reason', exc)}") from exc
        name = Path(urllib.parse.urlparse(url).path).name or url
        kind = kind_of(name) or ("jsonl" if "json" in content_type else sniff(data))
        parsed = read_one(data, kind=kind, ref=url, name=url, opts=self.opts, mtime=datetime.now(timezone.utc))
        validators = {"etag": etag, "last_modified": modified}
        self._publish_new(url, parsed, {k: v for k, v in validators.items() if v} or
                          {"etag": None, "last_modified": None})

    # -- files and folders ---------------------------------------------------------------------

    def _poll_path(self, src: str) -> None:
        root = Path(src)
        if not root.exists():
            raise SourceFailed(src, MISSING, "no such file or directory")
        files = self.state.source(src).setdefault("files", {})
        for path in expand([src]):
            try:
                st = os.stat(path)
            except OSError as exc:  # removed between listing and reading
                raise SourceFailed(src, MISSING, f"{path}: {exc.strerror}") from exc
            stamp = [st.st_mtime_ns, st.st_size]
            if files.get(path) == stamp:
                continue
            files = dict(files)
            files[path] = stamp
            self._publish_new(src, read_inputs([path], self.opts), {"files": files})
