"""From what the user typed (files, folders, URLs, ``-``) to parsed items.

Paths are expanded lazily, in a stable order (sorted, recursive for folders),
and each input is read whole and dispatched by its extension — or, for stdin
and URLs without a telling suffix, by sniffing the first bytes. Anything that
cannot even be opened becomes a ``parse`` rejection, so a bad path among good
ones does not end the run.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from connectors.sources import rejects
from connectors.sources.feeds import read_feed
from connectors.sources.normalize import Parsed, ReadOptions, reject
from connectors.sources.readers import (
    CSV_SUFFIXES,
    FEED_SUFFIXES,
    JSONL_SUFFIXES,
    TEXT_SUFFIXES,
    read_csv,
    read_jsonl,
    read_text,
)

log = logging.getLogger(__name__)

META_SUFFIX = ".meta.json"
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES + FEED_SUFFIXES
URL_TIMEOUT_S = 30.0


def kind_of(name: str) -> str | None:
    """``text``, ``markdown``, ``jsonl``, ``csv`` or ``feed`` from a file name; None when unknown."""
    lower = name.lower()
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    for suffixes, kind in ((TEXT_SUFFIXES, "text"), (JSONL_SUFFIXES, "jsonl"), (CSV_SUFFIXES, "csv"),
                           (FEED_SUFFIXES, "feed")):
        if lower.endswith(suffixes):
            return kind
    return None


def sniff(data: bytes) -> str:
    """Guess the format of unnamed input (stdin, a URL without suffix)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if head.startswith(b"{"):
        return "jsonl"
    if head.startswith(b"<"):
        return "feed"
    return "text"


def read_one(data: bytes, *, kind: str, ref: str, name: str, opts: ReadOptions,
             mtime: datetime | None = None, meta: dict[str, Any] | None = None) -> Iterator[Parsed]:
    """Every item and rejection of one input; a reader that fails anyway costs only the rest of this input.

    The readers turn every bad record into a rejection themselves; this net is
    for what they did not foresee, so the run still goes on to the next input
    and the failure is a ``parse`` dead letter instead of a crash.
    """
    try:
        yield from _dispatch(data, kind=kind, ref=ref, name=name, opts=opts, mtime=mtime, meta=meta)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.error("%s: reader failed (%s: %s); the rest of this input is dead-lettered",
                  ref, type(exc).__name__, exc)
        yield reject(rejects.PARSE, ref, data, f"reader failed: {exc}", error_class=type(exc).__name__)


def _dispatch(data: bytes, *, kind: str, ref: str, name: str, opts: ReadOptions,
              mtime: datetime | None, meta: dict[str, Any] | None) -> Iterator[Parsed]:
    if kind in ("text", "markdown"):
        yield from read_text(data, ref=ref, name=name, opts=opts, mtime=mtime, meta=meta,
                             markdown=kind == "markdown")
    elif kind == "jsonl":
        yield from read_jsonl(data, ref=ref, name=name, opts=opts)
    elif kind == "csv":
        yield from read_csv(data, ref=ref, name=name, opts=opts)
    else:
        yield from read_feed(data, ref=ref, name=name, opts=opts)


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Folders become their supported files (recursive, sorted); other arguments pass through."""
    for arg in paths:
        if arg == "-" or _is_url(arg):
            yield arg
            continue
        path = Path(arg)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p, path))
            if not files:
                log.warning("no supported files under %s (%s)", path, ", ".join(SUPPORTED_SUFFIXES))
            yield from (str(p) for p in files)
        else:
            yield arg


def _wanted(path: Path, root: Path) -> bool:
    rel = path.relative_to(root).parts
    if any(part.startswith(".") for part in rel) or path.name.endswith(META_SUFFIX):
        return False
    return kind_of(path.name) is not None


def _is_url(arg: str) -> bool:
    return arg.startswith(("http://", "https://"))


def read_inputs(paths: Iterable[str], opts: ReadOptions, stdin: BinaryIO | None = None) -> Iterator[Parsed]:
    """Every item and rejection from every input, in order."""
    for arg in expand(paths):
        if arg == "-":
            try:
                data = (stdin or sys.stdin.buffer).read()
            except (OSError, ValueError) as exc:  # a closed or unreadable stdin
                yield reject(rejects.PARSE, "stdin", b"", exc)
                continue
            yield from read_one(data, kind=sniff(data), ref="stdin", name="stdin", opts=opts,
                                mtime=datetime.now(timezone.utc))
        elif _is_url(arg):
            yield from _read_url(arg, opts)
        else:
            yield from _read_file(Path(arg), opts)


def _read_file(path: Path, opts: ReadOptions) -> Iterator[Parsed]:
    ref = str(path)
    try:
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError as exc:
        yield reject(rejects.PARSE, ref, b"", exc)
        return
    kind = kind_of(path.name) or sniff(data)
    meta: dict[str, Any] | None = None
    sidecar = path.with_name(path.name + META_SUFFIX)
    if kind in ("text", "markdown") and sidecar.exists():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError(f"{sidecar.name} must hold a JSON object")
        except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
            yield reject(rejects.PARSE, str(sidecar), data, exc)
            return
    log.debug("reading %s as %s", ref, kind)
    yield from read_one(data, kind=kind, ref=ref, name=path.name, opts=opts, mtime=mtime, meta=meta)


def _read_url(url: str, opts: ReadOptions) -> Iterator[Parsed]:
    request = urllib.request.Request(url, headers={"User-Agent": "tension-stream/0.1 (+news producer)"})
    try:
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 - http(s) only
            data = response.read()
            content_type = response.headers.get("Content-Type", "")
    except (OSError, ValueError) as exc:  # URLError is an OSError
        yield reject(rejects.PARSE, url, b"", exc)
        return
    name = Path(urllib.parse.urlparse(url).path).name or url
    kind = kind_of(name)
    if kind is None:
        kind = "csv" if "csv" in content_type else "jsonl" if "json" in content_type else sniff(data)
    yield from read_one(data, kind=kind, ref=url, name=url, opts=opts, mtime=datetime.now(timezone.utc))
