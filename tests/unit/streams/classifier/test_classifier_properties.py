"""Property tests: any text is safe to classify and the outputs stay in range."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.classifier import CATEGORIES, classify

_WORDS = st.sampled_from(
    ["tariffs", "not", "no", "may", "lift", "ban", "visa", "rare", "earth", "export", "controls",
     "talks", "China", "US", "truce", "extend", "revoke", "new", "without", "could", "U.S.", "—", ".",
     "gallium", "chips", "deal", "threatened", "to", "impose", "ruled", "out", "İ", "ß", "\u0301"]
)
_TEXT = st.one_of(st.text(max_size=400), st.lists(_WORDS, max_size=60).map(" ".join))


def _check(title: str, body: str) -> None:
    c = classify(title, body)
    assert -1.0 <= c.tension <= 1.0
    assert set(c.scores) == set(CATEGORIES)
    assert all(0.0 <= v <= 1.0 for v in c.scores.values())
    assert set(c.categories) <= set(CATEGORIES)
    assert c.direction in ("escalation", "deescalation", "neutral")
    json.dumps(c.to_dict())
    assert classify(title, body) == c  # deterministic


@settings(max_examples=300, deadline=None)
@given(title=_TEXT, body=_TEXT)
def test_arbitrary_text_never_crashes_and_stays_bounded(title: str, body: str) -> None:
    _check(title, body)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=1, max_value=40))
def test_piling_up_cues_stays_bounded(n: int) -> None:
    _check("US imposes new tariffs and bans chip exports " * n, "retaliation escalates " * n)
    _check("truce extended, tariffs lifted, deal agreed " * n, "")
