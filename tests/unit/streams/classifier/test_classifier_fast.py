"""The production path must equal the reference scorer (``classifier_oracle``) float for float."""

from __future__ import annotations

import random
from typing import Any

from classifier_lab.corpus import CORPUS_DIR, load_items
from streams.classifier import CATEGORIES
from streams.classifier.learned import DENSE_NAMES, Signals, load_weights
from streams.classifier.lexicon import normalize
from streams.classifier.taxonomy import load_taxonomy
from tests.unit.streams.classifier.classifier_oracle import decide, encode, reference_classify


def _texts() -> list[tuple[str, str]]:
    items = [it for name in ("dev.jsonl", "dev2.jsonl", "dev3.jsonl")
             for it in load_items(CORPUS_DIR / name)]
    rng = random.Random(4)
    words = " ".join(f"{it.title} {it.body}" for it in items).split()
    texts = [(it.title, it.body) for it in items]
    for _ in range(400):  # random mixes, repeated words, and rules.* names as words
        title = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        body = " ".join(rng.choice(words) for _ in range(rng.randint(0, 50)))
        if rng.random() < 0.1:
            body += " " + rng.choice(DENSE_NAMES)
        texts.append((title, body))
    return texts


def _signals(rng: random.Random) -> Signals:
    scores = {c: rng.choice([0.0, 0.0, round(rng.random(), 4)]) for c in CATEGORIES}
    esc, de, neu = (rng.choice([0.0, rng.random() * 3]) for _ in range(3))
    return Signals(scores, esc, de, neu, rng.choice([1.0, rng.random()]), rng.random() < 0.5,
                   rng.random() < 0.5, rng.random() < 0.2, rng.choice([1.0, rng.random()]))


def test_scorer_equals_the_reference_scorer() -> None:
    """``LearnedLayer.score`` over the fused pass's indices == ``encode`` + ``decide``, with any signals."""
    layer = load_weights()
    matcher = load_taxonomy().matcher
    rng = random.Random(7)
    for title, body in _texts():
        tt, tb = normalize(title).split(), normalize(body).split()
        sig = _signals(rng)
        want = decide(layer, *encode(layer, tt, tb, sig), sig)
        found: dict[Any, Any] = {}
        matcher.tokens_annotated(normalize(title), layer.annotate, found)
        matcher.tokens_annotated(normalize(body), layer.annotate, found, True)
        assert layer.score(found, sig) == want, (title, body)


def test_default_engine_equals_the_reference() -> None:
    """The fused one-pass engine == two passes + ``encode`` + ``decide`` + the same composition."""
    from streams.classifier import get_engine

    engine = get_engine("rules")
    rng = random.Random(11)
    extra = [("", ""), ("U.S. tariffs", ""), ("", "China's rare-earth curbs; US says no talks."),
             ("\u201cUS\u201d \u2014 tariffs\u00a0lifted (ban) 25%", "rules.tension rules.actor visa")]
    for title, body in _texts() + extra:
        if rng.random() < 0.2:
            title, body = body, title
        assert engine.classify(title, body) == reference_classify(engine, title, body), (title, body)


def test_fused_pass_survives_memo_clearing(monkeypatch) -> None:
    """Bounded memos are cleared between texts; the fused pass must never read a stale entry.

    The lexicon engine shares the matcher (and may clear its vocabulary) while
    the default engine's fused memo refers to it: interleave both with a tiny
    bound so clearing happens all the time.
    """
    from streams.classifier import get_engine, lexicon

    monkeypatch.setattr(lexicon, "_MAX_VOCAB", 40)
    rules, lex = get_engine("rules"), get_engine("lexicon")
    texts = _texts()[:300]
    want = [reference_classify(rules, t, b) for t, b in texts]
    for (title, body), expected in zip(texts, want):
        lex.classify(body, title)
        assert rules.classify(title, body) == expected, (title, body)
