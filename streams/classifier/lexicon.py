"""Match lexicon phrases over whitespace tokens with a word-level trie.

Why not one big regex: even a trie-shaped alternation makes Python's ``re``
attempt a match at every word start, which alone cost ~35 µs per item — more
than the whole 50 µs budget of the 20,000 items/s target.  ``str.split`` runs
in C, and every distinct raw token (``"tariffs,"``, ``"china's"``) is mapped
once per process to the lexicon *word keys* it can stand for; after that a
token costs one dict lookup, and only tokens that can start a phrase touch
the trie.

Phrase syntax (lower-case): words separated by single spaces; a hyphen inside
a word matches a space/hyphen or nothing ("rare-earth" = "rare earth" =
"rareearth"), and ``*`` at the end of a word matches any word ending
(``tariff*`` → tariffs, tariffed).  Text must be normalised first
(``normalize_text``): hyphens and slashes become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import TaxonomyError

_VALID_WORD = re.compile(r"^[\w'&.]+\*?$")
#: Characters stripped from the ends of raw tokens ("(tariffs)," → tariffs).
_LEAD = "\"'([{"
_TRAIL = "\"'.,;:!?)]}"
_SENTENCE_END = frozenset(".;:!?")
_BRACKETS = frozenset("()[]")
_MAX_VOCAB = 200_000
_TRANSLATE = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": " ",
        "\u2014": " ", "\u00a0": " ",
    }
)


def normalize(text: str) -> str:
    """Lower-case, unify quotes/dashes, split hyphenated words.

    Hyphens and slashes become spaces so ``str.split`` yields words; lexicon
    phrases with hyphens are expanded to match both spellings instead.
    """
    text = text.lower()
    if not text.isascii():  # the common ASCII case skips the per-char mapping
        text = text.translate(_TRANSLATE)
    if "%" in text:
        text = text.replace("%", " percent ")
    if "u.s." in text:
        text = text.replace("u.s.", "us")
    return text.replace("-", " ").replace("/", " ")


def phrase_words(phrase: str) -> list[tuple[str, ...]]:
    """Word-key sequences that ``phrase`` matches (hyphen variants expanded)."""
    words = phrase.split(" ")
    if not phrase or any(not w for w in words):
        raise TaxonomyError(f"malformed phrase {phrase!r}")
    variants: list[list[str]] = [[]]
    for word in words:
        if not _VALID_WORD.match(word.replace("-", "")) or word.startswith("-") or word.endswith("-"):
            raise TaxonomyError(f"malformed phrase {phrase!r}")
        if "-" in word:
            split = [p for p in word.split("-")]
            joined = [word.replace("-", "")]
            variants = [v + alt for v in variants for alt in (split, joined)]
        else:
            variants = [v + [word] for v in variants]
    return [tuple(clean_word(w) if not w.endswith("*") else clean_word(w[:-1]) + "*" for w in v)
            for v in variants]


def clean_word(word: str) -> str:
    """The form a word takes after token cleaning (possessives dropped)."""
    word = word.strip(_LEAD + _TRAIL)
    if word.endswith("'s"):
        word = word[:-2]
    return word


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    phrases: tuple[str, ...] = ()  # phrases ending exactly here


#: A token's cached analysis: (keys that can start a phrase, all keys, break
#: before it, break after it).
TokenInfo = tuple[tuple[str, ...], tuple[str, ...], bool, bool]
_NOTHING: TokenInfo = ((), (), False, False)
Hit = tuple[int, "tuple[str, ...] | None"]
#: What an annotator (the learned layer) says about a raw token: feature word,
#: unigram index (-1: none), bigrams it starts ({next word: index}) or None.
Annotation = tuple[str, int, "dict[str, int] | None"]
#: Feature values ``tokens_annotated`` records per index: a word seen in the
#: title, in the body, in both (the learned layer's presence values).  Typed
#: ``Any`` so that, compiled, storing one stores a reference, not a new float.
FIELD_TITLE: Any = 2.0
FIELD_BODY: Any = 1.0
FIELD_BOTH: Any = 3.0
#: ``tokens_annotated``'s memo entry: (hot info or None, *annotation).  The
#: indices are ``Any``: compiled, an ``int`` would be unboxed here and boxed
#: again (a new object above 256) for every ``found`` insertion.
_Annotated = tuple["TokenInfo | None", str, Any, "dict[str, Any] | None"]


def _add_hits(hits: list[Hit], i: int, info: TokenInfo) -> None:
    """Record token ``i``'s clause break before, phrase start keys, break after."""
    if info[2]:
        hits.append((i, None))
    if info[0]:
        hits.append((i, info[0]))
    if info[3]:
        hits.append((i, None))


def _mark_body(found: dict[Any, Any], index: Any, title: Any, body: Any, both: Any) -> None:
    """A feature seen in the body: new ones are body-only, title ones become both.

    The marks come as arguments: compiled, reading the module's ``Any``
    globals here would cost a dictionary lookup per call.
    """
    seen = found.get(index)
    if seen is None:
        found[index] = body
    elif seen is title:
        found[index] = both


class PhraseMatcher:
    """Finds lexicon phrases (longest first) in a normalised text.

    Case-sensitive: callers lower-case the text for the lexicon and keep the
    case for actor aliases ("US" the country, not "us").
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self._root = _Node()
        self._exact: set[str] = set()
        self._stems: set[str] = set()
        self._max_stem = 0
        for phrase in phrases:
            if not phrase or not phrase[0].isalnum():
                raise TaxonomyError(f"every phrase must start with a letter or digit: {phrase!r}")
            for seq in phrase_words(phrase):
                node = self._root
                for key in seq:
                    if key.endswith("*"):
                        self._stems.add(key[:-1])
                        self._max_stem = max(self._max_stem, len(key) - 1)
                    else:
                        self._exact.add(key)
                    node = node.children.setdefault(key, _Node())
                if phrase not in node.phrases:
                    node.phrases += (phrase,)
        if not self._root.children:
            raise TaxonomyError("empty lexicon")
        self._vocab: dict[str, TokenInfo] = {}  # tokens with any key or break
        self._hot: dict[str, TokenInfo] = {}  # tokens that start a phrase or break
        self._known: set[str] = set()  # every token analysed
        # ``tokens_annotated``: raw token → (hot info or None, *annotation), valid
        # only while ``_vocab`` holds the token's analysis, so cleared with it.
        self._annotated: dict[str, _Annotated] = {}
        self._annotator: Callable[[str], Annotation] | None = None

    def _analyse(self, raw: str) -> TokenInfo:
        """Keys and breaks of one raw token; memoised by ``tokens``."""
        before = raw[0] in _BRACKETS
        after = raw[-1] in _SENTENCE_END or raw[-1] in _BRACKETS
        word = clean_word(raw)
        keys: list[str] = []
        if word:
            if word in self._exact:
                keys.append(word)
            for n in range(1, min(len(word), self._max_stem) + 1):
                if word[:n] in self._stems:
                    keys.append(word[:n] + "*")
        starts = tuple(k for k in keys if k in self._root.children)
        if not starts and not before and not after:
            return _NOTHING if not keys else ((), tuple(keys), False, False)
        return (starts, tuple(keys), before, after)

    def tokens(self, text: str) -> tuple[list[str], list[Hit]]:
        """Raw tokens and the phrase-starting ones as (index, start keys).

        A ``None`` in place of keys marks a clause break (sentence
        punctuation, brackets) at that token.  Hot loop: most tokens cost one
        set-membership test (``hot`` holds only tokens that start a phrase or
        break a clause; ``known`` every token analysed so far).
        """
        toks = text.split()
        hot = self._hot
        known = self._known
        if len(known) >= _MAX_VOCAB:  # bounded memory; never mid-text (matches() reads it)
            self._forget()
        hits: list[Hit] = []
        for i, raw in enumerate(toks):
            if raw in hot:
                _add_hits(hits, i, hot[raw])
            elif raw not in known:
                info = self._hot_info(raw)
                if info is not None:
                    _add_hits(hits, i, info)
        return toks, hits

    def _forget(self) -> None:
        """Drop every memoised token analysis (bounded memory)."""
        self._known.clear()
        self._hot.clear()
        self._vocab.clear()
        self._annotated.clear()

    def tokens_annotated(self, text: str, annotate: Callable[[str], Annotation],
                         found: dict[Any, Any], in_body: bool = False
                         ) -> tuple[list[str], list[Hit]]:
        """``tokens(text)`` and, in the same pass, the learned layer's feature indices.

        Why: the default engine needs both the lexicon hits and the learned
        layer's unigram/bigram indices of every token; one loop with one memo
        lookup per token replaces two.  ``annotate(raw)`` gives (feature word,
        unigram index or -1, {next word: bigram index} or None).  The indices
        go into ``found`` (index → value, insertion-ordered), shared by both
        fields: the title marks ``FIELD_TITLE``; the body then adds new
        indices as ``FIELD_BODY`` and turns title ones into ``FIELD_BOTH`` —
        the order and values ``LearnedLayer.encode`` produces.
        """
        toks = text.split()
        memo = self._annotated
        if annotate != self._annotator:
            memo.clear()
            self._annotator = annotate
        if len(self._known) >= _MAX_VOCAB or len(memo) >= _MAX_VOCAB:
            self._forget()  # never mid-text (matches() reads the vocabulary)
        hits: list[Hit] = []
        follow: dict[str, Any] | None = None
        title_mark, body_mark, both_mark = FIELD_TITLE, FIELD_BODY, FIELD_BOTH
        for i, raw in enumerate(toks):
            rec = memo.get(raw)
            if rec is None:
                rec = self._annotate_new(raw, annotate)
            # Element by element, not ``a, b, c, d = rec``: compiled, the
            # unpacking of a value read from a dict went through an iterator.
            info = rec[0]
            w = rec[1]
            uni = rec[2]
            nxt = rec[3]
            if info is not None:
                _add_hits(hits, i, info)
            if uni >= 0:
                if in_body:
                    _mark_body(found, uni, title_mark, body_mark, both_mark)
                else:
                    found[uni] = title_mark
            if follow is not None:
                bi = follow.get(w)
                if bi is not None:
                    if in_body:
                        _mark_body(found, bi, title_mark, body_mark, both_mark)
                    else:
                        found[bi] = title_mark
            follow = nxt
        return toks, hits

    def _annotate_new(self, raw: str, annotate: Callable[[str], Annotation]) -> _Annotated:
        """Analyse and annotate a token not seen before, and memoise it."""
        w, uni, nxt = annotate(raw)
        rec: _Annotated = (self._hot_info(raw), w, uni, nxt)
        self._annotated[raw] = rec
        return rec

    def _hot_info(self, raw: str) -> TokenInfo | None:
        """What ``tokens`` records for a token: its analysis if it starts a phrase or breaks."""
        if raw in self._hot:
            return self._hot[raw]
        if raw in self._known:
            return None
        self._known.add(raw)
        info = self._analyse(raw)
        if info[1] or info[2] or info[3]:
            self._vocab[raw] = info
        if info[0] or info[2] or info[3]:
            self._hot[raw] = info
            return info
        return None

    def matches(self, toks: list[str], hits: list[Hit]
                ) -> list[tuple[int, int, tuple[str, ...] | None]]:
        """(first token, end token, phrases) left to right; phrases None = break.

        A list rather than a generator: compiled, every resumption of a
        generator costs more than appending the tuple it would yield.

        At each position the longest phrase wins; every phrase matching that
        same span is reported, so their effects can be merged.
        """
        out: list[tuple[int, int, tuple[str, ...] | None]] = []
        root = self._root.children
        vocab = self._vocab
        n_toks = len(toks)
        covered = -1  # tokens before this index belong to an earlier phrase
        for i, keys in hits:
            if keys is None:
                out.append((i, i, None))
                continue
            if i < covered:
                continue
            if len(keys) == 1:
                # Fast path (most tokens): one key, so one trie path to follow.
                node = root[keys[0]]
                best_len = 1 if node.phrases else 0
                best: tuple[str, ...] = node.phrases
                ambiguous = False
                j = i + 1
                while node.children and j < n_toks:
                    if vocab.get(toks[j - 1], _NOTHING)[3]:
                        break  # the previous token ends a clause
                    info = vocab.get(toks[j], _NOTHING)
                    if info[2] or not info[1]:
                        break
                    keys_j = info[1]
                    if len(keys_j) == 1:  # the usual case: no list built
                        child = node.children.get(keys_j[0])
                        if child is None:
                            break
                    else:
                        nxt = [node.children[k] for k in keys_j if k in node.children]
                        if len(nxt) != 1:
                            ambiguous = bool(nxt)  # several readings: general path below
                            break
                        child = nxt[0]
                    node = child
                    j += 1
                    if node.phrases:
                        best_len, best = j - i, node.phrases
                else:
                    ambiguous = False
                if not ambiguous:
                    if best_len:
                        covered = i + best_len
                        out.append((i, covered, best))
                    continue
            best_len = 0
            best = ()
            frontier: list[dict[str, _Node]] = []
            for k in keys:
                child = root[k]
                if child.phrases and best_len == 0:
                    best_len, best = 1, child.phrases
                elif child.phrases:
                    best = best + child.phrases
                if child.children:
                    frontier.append(child.children)
            j = i + 1
            while frontier and j < n_toks:
                if vocab.get(toks[j - 1], _NOTHING)[3]:
                    break  # the previous token ends a clause
                info = vocab.get(toks[j], _NOTHING)
                if info[2] or not info[1]:
                    break
                nxt_f: list[dict[str, _Node]] = []
                for children in frontier:
                    for k in info[1]:
                        child = children.get(k)
                        if child is not None:
                            if child.children:
                                nxt_f.append(child.children)
                            if child.phrases:
                                if j + 1 - i > best_len:
                                    best_len, best = j + 1 - i, child.phrases
                                else:
                                    best = best + child.phrases
                frontier = nxt_f
                j += 1
            if best_len:
                covered = i + best_len
                out.append((i, covered, best))
        return out
