"""Classification and per-item tension scoring for US–China economic news.

Pure Python, no Kafka: the Faust agent and the offline tools call the same
:func:`classify`, so live and replayed results are identical.  One production
path: normalize and tokens (``lexicon``), the scan (``rules``), the learned
layer's features and its scorer (``learned``), composition (``compose``).
Training, evaluation, corpus loading and the research engines live in the
separate ``classifier_lab`` package, which this package never imports.
"""

from .engines import CLASSIFIER_VERSION, DEFAULT_ENGINE, ENGINE_NAMES, Engine, classify, get_engine
from .errors import (
    ClassifierError,
    EngineUnavailableError,
    TaxonomyError,
    UnknownEngineError,
)
from .model import CATEGORIES, DIRECTION_THRESHOLD, DIRECTIONS, Classification, Cue

__all__ = [
    "CATEGORIES",
    "CLASSIFIER_VERSION",
    "DEFAULT_ENGINE",
    "DIRECTIONS",
    "DIRECTION_THRESHOLD",
    "ENGINE_NAMES",
    "Classification",
    "ClassifierError",
    "Cue",
    "Engine",
    "EngineUnavailableError",
    "TaxonomyError",
    "UnknownEngineError",
    "classify",
    "get_engine",
]
