"""Find the countries and named officials an item mentions.

The rules engine finds actors in its own token pass (see
``Taxonomy.actor``); this wrapper gives the other engines the same answer.
Short aliases are case-checked on the original text on purpose: "US" the
country must not match the pronoun "us".
"""

from __future__ import annotations

from .taxonomy import Taxonomy


def extract_actors(taxonomy: Taxonomy, title: str, body: str = "") -> tuple[str, ...]:
    """Canonical actor names, countries first, each group in order of first mention."""
    from .rules import RulesEngine  # local: rules imports the taxonomy this module serves

    return RulesEngine(taxonomy).classify(title, body).actors
