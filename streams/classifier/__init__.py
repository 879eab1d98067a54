"""Classification and per-item tension scoring for US–China economic news.

Pure Python, no Kafka: the Faust agent and the offline tools call the same
:func:`classify`, so live and replayed results are identical.
"""

from .engines import CLASSIFIER_VERSION, DEFAULT_ENGINE, ENGINE_NAMES, Engine, classify, get_engine
from .errors import (
    ClassifierError,
    CorpusError,
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
    "CorpusError",
    "Cue",
    "Engine",
    "EngineUnavailableError",
    "TaxonomyError",
    "UnknownEngineError",
    "classify",
    "get_engine",
]
