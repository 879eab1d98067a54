"""Behaviour of the rules engine on hand-written sentences (not corpus items)."""

from __future__ import annotations

import pytest

from streams.classifier import CATEGORIES, CLASSIFIER_VERSION, Classification, classify, get_engine
from streams.classifier.errors import UnknownEngineError


def _rules(title: str, body: str = "") -> Classification:
    return classify(title, body, engine="rules")


# -- negation -----------------------------------------------------------------

def test_plain_imposition_escalates() -> None:
    c = _rules("US imposes new tariffs on Chinese electric vehicles")
    assert "tariffs" in c.categories
    assert c.direction == "escalation"


@pytest.mark.parametrize(
    "title",
    [
        "US did not impose new tariffs on Chinese electric vehicles",
        "White House says no new tariffs on Chinese goods this year",
        "Commerce chief ruled out new tariffs on Chinese chips",
    ],
)
def test_negated_imposition_does_not_escalate(title: str) -> None:
    c = _rules(title)
    assert "tariffs" in c.categories
    assert c.tension < 0, c.cues
    assert c.direction != "escalation"


def test_negated_relief_escalates() -> None:
    c = _rules("Beijing refuses to approve rare-earth export licences for US automakers")
    assert c.tension > 0


def test_talks_ending_without_a_deal_escalate() -> None:
    c = _rules("US and China trade talks end without a deal")
    assert "trade_talks" in c.categories
    assert c.direction == "escalation"


# -- hedging ------------------------------------------------------------------

def test_hedge_keeps_sign_but_shrinks_weight() -> None:
    firm = _rules("Beijing eases rare-earth export curbs")
    hedged = _rules("Beijing may ease rare-earth export curbs")
    assert firm.tension < 0 and hedged.tension < 0
    assert abs(hedged.tension) < abs(firm.tension)


def test_threat_is_escalation() -> None:
    c = _rules("Trump threatened to impose 50% tariffs on Chinese goods")
    assert c.direction == "escalation"
    assert any(cue.phrase.startswith("threatened to") for cue in c.cues)


def test_weighing_is_weaker_than_doing() -> None:
    done = _rules("Washington imposes tariffs on Chinese steel")
    weighed = _rules("Washington is weighing tariffs on Chinese steel and could impose them")
    assert 0 < weighed.tension < done.tension


# -- governors and objects ----------------------------------------------------

@pytest.mark.parametrize(
    ("title", "sign"),
    [
        ("China lifts ban on gallium exports to the United States", -1),
        ("US revokes visas of Chinese students", 1),
        ("US and China extend tariff truce by 90 days", -1),
        ("Beijing halts rare-earth magnet shipments to US", 1),
        ("Chip design software restrictions for China lifted", -1),
        ("Commerce adds 12 Chinese firms to entity list", 1),
    ],
)
def test_direction_follows_verb_and_object(title: str, sign: int) -> None:
    c = _rules(title)
    assert c.categories, c
    assert (c.tension > 0.15) if sign > 0 else (c.tension < -0.15), c.cues


def test_neutral_reporting_is_neutral() -> None:
    c = _rules("US and Chinese negotiators scheduled to meet in London next week")
    assert "trade_talks" in c.categories
    assert c.direction == "neutral"


# -- multi-label and explanation ----------------------------------------------

def test_multi_label_export_ban_on_mineral() -> None:
    c = _rules("China bans exports of gallium and germanium to the US")
    assert {"export_controls", "critical_minerals"} <= set(c.categories)
    assert c.direction == "escalation"


def test_multi_label_talks_on_tariffs() -> None:
    c = _rules("Trade talks in Geneva focus on cutting tariffs", "Negotiators from both sides met.")
    assert {"trade_talks", "tariffs"} <= set(c.categories)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("China bans exports of gallium and germanium to the US", ""),
        ("US revokes visas of Chinese students", "The State Department acted on Tuesday."),
        ("Trade talks in Geneva focus on cutting tariffs", "Negotiators from both sides met."),
    ],
)
def test_every_category_is_explained_by_a_cue(title: str, body: str) -> None:
    c = _rules(title, body)
    assert c.categories
    for cat in c.categories:
        supporting = [cue for cue in c.cues if cue.category == cat and cue.weight > 0]
        assert supporting, f"no cue for {cat}"
    if c.direction != "neutral":
        assert any(cue.direction == c.direction for cue in c.cues)


def test_scores_and_categories_agree() -> None:
    c = _rules("US imposes tariffs on Chinese gallium", "Rare earth export controls also tightened.")
    assert set(c.scores) == set(CATEGORIES)
    for cat in CATEGORIES:
        assert (cat in c.categories) == (c.scores[cat] >= 0.5)
    assert list(c.categories) == [cat for cat in CATEGORIES if cat in c.categories]


def test_actors_and_version() -> None:
    c = _rules("Bessent meets He Lifeng as US and China talk tariffs", "The EU watched closely.")
    assert c.actors[:3] == ("US", "China", "EU")
    assert "Scott Bessent" in c.actors and "He Lifeng" in c.actors
    assert c.version == CLASSIFIER_VERSION == get_engine("rules").version


def test_pronoun_us_is_not_the_united_states() -> None:
    assert "US" not in _rules("Tell us about your weekend plans").actors


def test_to_dict_is_json_ready() -> None:
    import json

    d = _rules("US imposes tariffs on Chinese steel").to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["direction"] == "escalation"
    assert d["classifier_version"] == CLASSIFIER_VERSION


# -- look-alikes --------------------------------------------------------------

@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Visa card payments volume rises 8% in the quarter", "Cardholders spent more on travel."),
        ("Best potato chips ranked by our taste panel", "Salt and vinegar won again."),
        ("Regulator approves higher electricity tariff for households", "Bills will rise by 4%."),
        ("Club completes soccer trade for star striker", "The midfielder joins before the transfer window closes."),
        ("Late-night host in talks over new sitcom", "The network is negotiating a deal for his show."),
        ("How to export your spreadsheet to CSV", "Use the export button in the file menu."),
        ("Phone review: lithium battery life impresses", "The smartphone's screen is bright."),
        ("Chemistry class explores rare-earth elements", "Students in the lesson learn the periodic table."),
        ("Game controls feel sluggish in new racing title", "The controller mapping is awkward."),
        ("Minerals in your drinking water explained", "Calcium and magnesium are common."),
        ("Student loan repayments resume in autumn", "Borrowers should check their balance."),
        ("Poker chips and casino nights return to the resort", ""),
    ],
)
def test_lookalikes_are_irrelevant(title: str, body: str) -> None:
    c = _rules(title, body)
    assert c.categories == (), c.cues
    assert c.tension == 0.0
    assert c.direction == "neutral"


def test_unknown_engine_is_a_typed_error() -> None:
    with pytest.raises(UnknownEngineError):
        get_engine("telepathy")


def test_empty_input() -> None:
    c = classify("")
    assert c.categories == () and c.tension == 0.0 and c.cues == ()
