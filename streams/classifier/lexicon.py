"""Compile lexicon phrases into one fast trie-shaped regular expression.

Python's ``re`` tries alternatives one after another, so a flat alternation of
~900 phrases would cost hundreds of failed branch attempts at every word
start.  Folding the phrases into a prefix trie first means each position only
tries the handful of branches that share its first letter, which is what makes
the rules engine run at tens of thousands of items per second.

Phrase syntax (lower-case): a space matches one or more spaces/hyphens, a
hyphen matches an optional space or hyphen, and ``*`` at the end of a word
matches any word ending (``tariff*`` → tariffs, tariffed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import TaxonomyError

_SPACE = "\x00sp"  # atom: one or more separators
_HYPHEN = "\x00hy"  # atom: optional separator
_WILD = "\x00w"  # atom: rest of the word
_END = "\x00end"  # trie key marking a complete phrase

_ATOM_REGEX = {_SPACE: r"[\s\-]+", _HYPHEN: r"[\s\-]?", _WILD: r"\w*"}
_VALID_WORD = re.compile(r"^[\w'.&-]+$")


def phrase_atoms(phrase: str) -> tuple[str, ...]:
    """Split a lexicon phrase into regex atoms (chars, separators, wildcard)."""
    words = phrase.split(" ")
    if not phrase or any(not w for w in words):
        raise TaxonomyError(f"malformed phrase {phrase!r}")
    atoms: list[str] = []
    for i, word in enumerate(words):
        if i:
            atoms.append(_SPACE)
        wild = word.endswith("*")
        if wild:
            word = word[:-1]
        if not _VALID_WORD.match(word):
            raise TaxonomyError(f"malformed phrase {phrase!r}")
        for ch in word:
            atoms.append(_HYPHEN if ch == "-" else ch)
        if wild:
            atoms.append(_WILD)
    return tuple(atoms)


def phrase_regex(phrase: str) -> str:
    """Regex (without boundaries) matching exactly what ``phrase`` means."""
    return "".join(_ATOM_REGEX.get(a) or re.escape(a) for a in phrase_atoms(phrase))


def _atom_order(atom: str) -> tuple[int, str]:
    # Literal continuations first so that longer phrases win over shorter
    # ones ending at the same node; the wildcard is tried last but one and
    # the bare end-of-phrase last of all.
    if atom == _END:
        return (3, "")
    if atom == _WILD:
        return (2, "")
    if atom in (_SPACE, _HYPHEN):
        return (1, atom)
    return (0, atom)


def _emit(node: dict[str, dict]) -> str:
    alternatives: list[str] = []
    for atom in sorted(node, key=_atom_order):
        if atom == _END:
            alternatives.append(r"(?!\w)")
            continue
        piece = _ATOM_REGEX.get(atom) or re.escape(atom)
        alternatives.append(piece + _emit(node[atom]))
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def compile_trie(phrases: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """One pattern matching any of ``phrases`` at word boundaries, longest first.

    Use it on ``scan_text(text)``; group 1 of each match is the phrase.

    Phrases must start with a letter or digit (so the start-of-word check is
    sound); they may contain upper case, which is matched as written.
    """
    root: dict[str, dict] = {}
    for phrase in phrases:
        node = root
        for atom in phrase_atoms(phrase):
            node = node.setdefault(atom, {})
        node[_END] = {}
    if not root:
        raise TaxonomyError("empty lexicon")
    if any(len(first) != 1 or not first.isalnum() for first in root):
        raise TaxonomyError("every phrase must start with a letter or digit")
    # The pattern *consumes* the non-word character before a phrase (group 1
    # is the phrase itself): starting with a character class lets the regex
    # engine jump from separator to separator in C instead of attempting a
    # match at every letter.  Callers prefix the text with one space so a
    # phrase at the very start is found too (see ``scan_text``).
    return re.compile(r"[^\w](" + _emit(root) + ")", flags)


def scan_text(text: str) -> str:
    """The form of ``text`` that patterns from :func:`compile_trie` expect."""
    return " " + text
