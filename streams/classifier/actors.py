"""Find the countries and named officials an item mentions.

Matching is case-sensitive on the original text on purpose: "US" the country
must not match the pronoun "us", and "Xi" only counts capitalised.
"""

from __future__ import annotations

from .lexicon import scan_text
from .taxonomy import Taxonomy, actor_key


def extract_actors(taxonomy: Taxonomy, *texts: str) -> tuple[str, ...]:
    """Canonical actor names, countries first, each group in order of first mention."""
    countries: dict[str, None] = {}
    people: dict[str, None] = {}
    aliases = taxonomy.actor_aliases
    for text in texts:
        if not text:
            continue
        for match in taxonomy.actor_pattern.finditer(scan_text(text)):
            found = aliases.get(actor_key(match.group(1)))
            if found is None:  # separator variant not listed: ignore, never crash
                continue
            canonical, is_person = found
            (people if is_person else countries).setdefault(canonical, None)
    return (*countries, *people)
