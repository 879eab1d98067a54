"""Every engine by name: the production ones (``streams.classifier``) plus the research ones.

Why a registry of its own: the runtime registry knows only what the product
runs (``rules``, ``lexicon``); reports and the offline CLI also compare the
scikit-learn baselines.  Production names are delegated to
``streams.classifier.get_engine`` — the very instances the worker uses — so a
figure printed here for ``rules`` is the live engine's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from streams.classifier import ENGINE_NAMES as RUNTIME_ENGINE_NAMES
from streams.classifier import Engine, UnknownEngineError
from streams.classifier import get_engine as get_runtime_engine


def _make_ml() -> Engine:
    from .ml import MLEngine

    return MLEngine()


def _make_hybrid() -> Engine:
    from .hybrid import HybridEngine

    return HybridEngine(rules=get_runtime_engine("rules"), ml=get_engine("ml"))


_RESEARCH: dict[str, Callable[[], Engine]] = {"ml": _make_ml, "hybrid": _make_hybrid}
#: Production engines first (the default first of all), then the research ones.
ENGINE_NAMES: tuple[str, ...] = (*RUNTIME_ENGINE_NAMES, *_RESEARCH)
_instances: dict[str, Engine] = {}
_lock = threading.RLock()  # re-entrant: hybrid builds ml inside its own factory


def get_engine(name: str) -> Engine:
    """The shared instance of any engine, production or research (built on first use)."""
    if name in RUNTIME_ENGINE_NAMES:
        return get_runtime_engine(name)
    factory = _RESEARCH.get(name)
    if factory is None:
        raise UnknownEngineError(f"unknown engine {name!r}; choose from {', '.join(ENGINE_NAMES)}")
    with _lock:
        engine = _instances.get(name)
        if engine is None:
            engine = _instances[name] = factory()
    return engine
