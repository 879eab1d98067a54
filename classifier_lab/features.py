"""The learned layer's features by name: what training fits (``classifier_lab.train``).

Why here and not in the runtime: the product never builds a feature name.
Its one token pass (``PhraseMatcher.tokens_annotated`` with
``LearnedLayer.annotate``) records the indices of the features the shipped
weights know; training needs every feature of every item, by name, to choose
the vocabulary.  Both read the same definitions from the runtime — the
feature form of a token (``learned.word``) and the lexicon's evidence
(``learned.DENSE_NAMES``, ``learned.dense_values``) — and a unit test checks,
item by item, that the run time's indices and values are these features
restricted to the known ones.
"""

from __future__ import annotations

from streams.classifier.learned import DENSE_NAMES, Signals, dense_values, word
from streams.classifier.rules import RulesEngine


def lexical_features(title_toks: list[str], body_toks: list[str]) -> dict[str, float]:
    """Unigrams and bigrams of each field; title presence 2, body presence 1 (summed when in both)."""
    feats: dict[str, float] = {}
    for toks, value in ((title_toks, 2.0), (body_toks, 1.0)):
        seen: set[str] = set()
        prev = ""
        for raw in toks:
            w = word(raw)
            if not w:  # an empty word also cuts the bigram chain
                prev = ""
                continue
            if w not in seen:
                seen.add(w)
                feats[w] = feats.get(w, 0.0) + value
            if prev:
                bigram = prev + " " + w
                if bigram not in seen:
                    seen.add(bigram)
                    feats[bigram] = feats.get(bigram, 0.0) + value
            prev = w
    return feats


def dense_features(sig: Signals) -> dict[str, float]:
    """The lexicon's evidence as ``rules.*`` features (bounded values)."""
    return dict(zip(DENSE_NAMES, dense_values(sig)))


def features(title_toks: list[str], body_toks: list[str], sig: Signals) -> dict[str, float]:
    """All features of one item from its tokens and the lexicon's signals."""
    feats = lexical_features(title_toks, body_toks)
    feats.update(dense_features(sig))
    return feats


def item_features(lexicon: RulesEngine, title: str, body: str = "") -> dict[str, float]:
    """All features of one item, from the lexicon engine's own pass over it."""
    toks_t, toks_b, _, sig, _ = lexicon.evidence(title, body)
    return features(toks_t, toks_b, sig)
