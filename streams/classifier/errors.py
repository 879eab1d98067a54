"""Typed exceptions of the classifier package.

Callers (the Faust agent, the CLI, offline tools) need to tell a broken
configuration apart from bad input or a missing optional dependency, so each
failure mode gets its own type under one common base.
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class for every error raised by ``streams.classifier``."""


class TaxonomyError(ClassifierError):
    """The taxonomy/lexicon file is malformed or inconsistent."""


class UnknownEngineError(ClassifierError, KeyError):
    """``get_engine`` was asked for a name that is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else "unknown engine"


class EngineUnavailableError(ClassifierError):
    """An engine exists but cannot run here (missing extra or training data)."""
