"""Rules engine v2: analysis framing, look-alike context, token matcher, actors."""

from __future__ import annotations

import pytest

from streams.classifier import Classification, classify
from streams.classifier.lexicon import PhraseMatcher, normalize, phrase_words


def _rules(title: str, body: str = "") -> Classification:
    return classify(title, body, engine="rules")


# -- analysis / reporting framing damps direction --------------------------------

@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Explainer: what the US-China tariff truce means for importers", "Here is how the 90-day pause works."),
        ("Analysts expect Beijing to extend rare-earth licences, survey shows",
         "Most of the twenty economists polled think permits will keep flowing through the summer."),
        ("Timeline: how the US-China tariff war unfolded", "From the first levies to the May truce."),
        ("US and Chinese negotiators to meet in Geneva next week", "The agenda covers tariffs."),
    ],
)
def test_framed_items_are_neutral(title: str, body: str) -> None:
    c = _rules(title, body)
    assert c.categories, c.cues
    assert c.direction == "neutral", c.cues


def test_framing_damps_but_keeps_sign() -> None:
    plain = _rules("Beijing extends rare-earth export licences for US firms")
    framed = _rules("Beijing extends rare-earth export licences for US firms",
                    "Analysts said the move was expected.")
    assert plain.tension < framed.tension <= 0
    assert any(cue.phrase == "analysts" and cue.weight > 0 for cue in framed.cues)


def test_title_framing_outweighs_body_framing() -> None:
    in_title = _rules("Analysts: US imposes new tariffs on Chinese steel")
    in_body = _rules("US imposes new tariffs on Chinese steel", "Analysts were not surprised.")
    assert 0 <= in_title.tension < in_body.tension


# -- negation and hedging (token matcher keeps the scopes) -------------------------

def test_ruling_out_is_deescalation_and_threat_is_escalation() -> None:
    assert _rules("China rules out retaliatory tariffs on US goods").direction == "deescalation"
    assert _rules("Beijing threatens to impose tariffs on US soybeans").direction == "escalation"


def test_negation_does_not_cross_a_sentence() -> None:
    c = _rules("No comment from officials. US imposes new tariffs on Chinese steel")
    assert c.direction == "escalation"


# -- look-alikes need policy context -----------------------------------------------

@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Water company proposes new tariff for heavy summer users", "The utility wants to charge more."),
        ("Travel blogger's guide to your Visa rewards", "Points convert to airline miles."),
        ("Doctors adjust lithium dosage for older patients", "More frequent blood tests are advised."),
        ("Basketball team completes trade for veteran guard", "Two draft picks go the other way."),
    ],
)
def test_lookalikes_without_actors_stay_irrelevant(title: str, body: str) -> None:
    c = _rules(title, body)
    assert c.categories == (), c.cues
    assert c.tension == 0.0


def test_named_actor_restores_policy_reading() -> None:
    c = _rules("US proposes new tariff on Chinese utility equipment")
    assert "tariffs" in c.categories


# -- token matcher -----------------------------------------------------------------

def test_hyphen_variants_and_wildcards() -> None:
    assert phrase_words("rare-earth") == [("rare", "earth"), ("rareearth",)]
    m = PhraseMatcher(["rare-earth", "tariff*", "walk* out"])
    toks, hits = m.tokens(normalize("Rare-earth (tariffs) walked out. rareearth"))
    found = [(toks[s], ph) for s, e, ph in m.matches(toks, hits) if ph]
    assert [ph for _, ph in found] == [("rare-earth",), ("tariff*",), ("walk* out",), ("rare-earth",)]


def test_phrases_do_not_span_a_sentence_break() -> None:
    m = PhraseMatcher(["walk* out"])
    toks, hits = m.tokens(normalize("They walked. Out came the report"))
    assert [ph for _, _, ph in m.matches(toks, hits) if ph] == []


def test_actor_case_check_and_swallowed_aliases() -> None:
    assert "US" not in _rules("Let us talk tariffs with the minister").actors
    assert _rules("U.S. and China extend tariff truce").actors[:2] == ("US", "China")
    assert "China" in _rules("Visa ban hits Chinese students at US universities").actors
