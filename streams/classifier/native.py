"""Which classifier modules run compiled (mypyc), and whether a build is stale.

Why: setup.py compiles the default engine's hot modules in place; Python then
imports ``rules.cpython-*.so`` before ``rules.py``.  A source edited after the
build would be silently shadowed by the old binary, so this module compares
the two and says so: ``tension classify --version`` prints it, the benchmark
prints it, and a unit test fails on a stale build (``make native`` rebuilds).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: The modules setup.py compiles (kept in step by a unit test).
NATIVE_MODULES: tuple[str, ...] = (
    "model", "lexicon", "taxonomy", "evidence", "learned", "rules", "relevance", "compose",
)


@dataclass(frozen=True)
class ModuleBuild:
    """One hot module: where it was loaded from and whether its source is newer."""

    name: str
    compiled: bool
    stale: bool
    path: str


def native_status() -> list[ModuleBuild]:
    """The build state of every hot module, as imported in this process."""
    out: list[ModuleBuild] = []
    for name in NATIVE_MODULES:
        mod = importlib.import_module(f"{__package__}.{name}")
        path = Path(getattr(mod, "__file__", "") or "")
        compiled = path.suffix in (".so", ".pyd")
        source = path.parent / f"{name}.py"
        stale = compiled and source.exists() and source.stat().st_mtime > path.stat().st_mtime
        out.append(ModuleBuild(name, compiled, stale, str(path)))
    return out


def describe() -> str:
    """One line for logs and the CLI: compiled, pure Python, or stale."""
    status = native_status()
    stale = [m.name for m in status if m.stale]
    if stale:
        return f"compiled (mypyc) but STALE for {', '.join(stale)}: run `make native`"
    if all(m.compiled for m in status):
        return "compiled (mypyc)"
    if not any(m.compiled for m in status):
        return "pure Python (not compiled: about half the speed)"
    return "partly compiled: " + ", ".join(m.name for m in status if m.compiled)


def warn_if_stale() -> None:
    """Log a warning when a compiled module is older than its source."""
    stale = [m.name for m in native_status() if m.stale]
    if stale:
        log.warning("classifier modules %s are compiled from older sources; "
                    "the running code is not what the .py files say: run `make native`",
                    ", ".join(stale))
