"""Engine registry and the ``classify`` entry point.

Both the Faust agent and the offline tools go through :func:`classify` /
:func:`get_engine`, so a replay scores exactly like the live stream.  Engines
are built lazily and cached per process (the lexicon is compiled once).  Only
the production engines are registered here: ``rules`` (the default) and
``lexicon`` (its first stage alone, the baseline of every report).  The
research engines (``ml``, ``hybrid``) live in ``classifier_lab``, which adds
them to its own registry on top of this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .compose import Composer, load_composer
from .errors import UnknownEngineError
from .learned import load_weights
from .model import Classification
from .taxonomy import load_taxonomy

DEFAULT_ENGINE = "rules"
#: Version of the default engine: lexicon version + learned weights version and digest + composition version.
CLASSIFIER_VERSION: str = (
    f"rules-{load_taxonomy().version}+learned-{load_weights().version}.{load_weights().digest}"
    f"+compose-{load_composer().version}"
)


@runtime_checkable
class Engine(Protocol):
    """What every engine offers; ``version`` ends up in each output record."""

    name: str
    version: str

    def classify(self, title: str, body: str = "") -> Classification: ...


class ComposedEngine:
    """The default engine: lexicon + learned layer, then composition and the relevance gate (compose.py)."""

    name = "rules"

    def __init__(self, inner: Engine, composer: Composer) -> None:
        self.inner = inner
        self.composer = composer
        self.version = CLASSIFIER_VERSION
        self._apply = composer.apply
        self._classify = inner.classify

    def classify(self, title: str, body: str = "") -> Classification:
        return self._apply(self._classify(title, body), title, body, self.version)


def _make_rules() -> Engine:
    from .rules import RulesEngine

    return ComposedEngine(RulesEngine(learned=load_weights()), load_composer())


def _make_lexicon() -> Engine:
    from .rules import RulesEngine

    return RulesEngine()


_FACTORIES: dict[str, Callable[[], Engine]] = {
    "rules": _make_rules,
    "lexicon": _make_lexicon,
}
ENGINE_NAMES: tuple[str, ...] = tuple(_FACTORIES)
_instances: dict[str, Engine] = {}
_lock = threading.RLock()


def get_engine(name: str = DEFAULT_ENGINE) -> Engine:
    """Return the shared instance of engine ``name`` (built on first use)."""
    engine = _instances.get(name)
    if engine is not None:
        return engine
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownEngineError(f"unknown engine {name!r}; choose from {', '.join(ENGINE_NAMES)}")
    with _lock:
        engine = _instances.get(name)
        if engine is None:
            if not _instances:
                from .native import warn_if_stale  # once per process, at the first engine

                warn_if_stale()
            engine = factory()
            _instances[name] = engine
    return engine


def classify(title: str, body: str = "", *, engine: str = DEFAULT_ENGINE) -> Classification:
    """Classify one news item with the named engine (default: rules = lexicon + learned layer)."""
    return get_engine(engine).classify(title or "", body or "")
