"""Find the countries and named officials an item mentions.

Matching is case-sensitive on the original text on purpose: "US" the country
must not match the pronoun "us", and "Xi" only counts capitalised.
"""

from __future__ import annotations

from .taxonomy import Taxonomy


def extract_actors(taxonomy: Taxonomy, *texts: str) -> tuple[str, ...]:
    """Canonical actor names, countries first, each group in order of first mention."""
    countries: dict[str, None] = {}
    people: dict[str, None] = {}
    aliases = taxonomy.actor_aliases
    for text in texts:
        if not text:
            continue
        for match in taxonomy.actor_pattern.finditer(text):
            canonical, is_person = aliases[match.group()]
            (people if is_person else countries).setdefault(canonical, None)
    return (*countries, *people)
