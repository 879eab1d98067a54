"""Compositional direction and the relevance gate (``streams/classifier/compose.py``, issue 17).

Families of inputs, not single examples: every predicate class crossed with
every object class, under negation and hedging, must give the direction the
documented rule (predicate polarity x object polarity) says, with a cue that
shows the composition.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.classifier import classify
from streams.classifier.compose import Composer, lemmas, load_composer
from streams.classifier.model import Classification

COMPOSER = load_composer()
RAISE = ["imposes", "tightens", "extends", "restores", "widens"]
LOWER = ["eases", "lifts", "suspends", "scraps", "rolls back"]
MEASURES = ["the licensing requirement", "new tariffs", "the export ban", "entity list curbs"]
RELIEF = ["the tariff truce", "trade talks", "export licences", "the consultation mechanism"]


def _base(tension: float = 0.0) -> Classification:
    """A classification as the inner engine might return it: one category, US and China named."""
    return Classification(("tariffs",), {"tariffs": 0.8}, tension, (), ("US", "China"), "inner")


def _composed(title: str, body: str = "", tension: float = 0.0) -> Classification:
    return COMPOSER.apply(_base(tension), title, body, "v")


CASES = (
    [(p, o, +1 * +1) for p, o in itertools.product(RAISE, MEASURES)]
    + [(p, o, -1 * +1) for p, o in itertools.product(LOWER, MEASURES)]
    + [(p, o, +1 * -1) for p, o in itertools.product(RAISE, RELIEF)]
    + [(p, o, -1 * -1) for p, o in itertools.product(LOWER, RELIEF)]
)


@pytest.mark.parametrize(("pred", "obj", "sign"), CASES)
def test_direction_is_predicate_times_object(pred: str, obj: str, sign: int) -> None:
    c = _composed(f"Beijing {pred} {obj} on US firms")
    assert (c.tension > 0.15) if sign > 0 else (c.tension < -0.15), c.cues
    want = "escalation" if sign > 0 else "deescalation"
    assert any(q.phrase.startswith("compose:") and "→" in q.phrase and q.phrase.endswith(want) for q in c.cues)


@pytest.mark.parametrize(("pred", "obj", "sign"), CASES[::3])
def test_negation_flips_and_weakens(pred: str, obj: str, sign: int) -> None:
    plain = _composed(f"Washington {pred} {obj} for China")
    negated = _composed(f"Washington did not {pred.rstrip('s')} {obj} for China")
    assert plain.tension * negated.tension < 0
    assert abs(negated.tension) < abs(plain.tension)


@pytest.mark.parametrize("hedge", ["could", "may", "is considering plans to"])
@pytest.mark.parametrize(("pred", "obj"), [("ease", "the export ban"), ("impose", "new tariffs"), ("lift", "curbs")])
def test_hedge_keeps_sign_and_weakens(hedge: str, pred: str, obj: str) -> None:
    plain = _composed(f"US {pred}s {obj} on China")
    hedged = _composed(f"US {hedge} {pred} {obj} on China")
    assert plain.tension * hedged.tension > 0 and abs(hedged.tension) < abs(plain.tension)


@pytest.mark.parametrize("subject", ["The tariff truce", "US-China trade talks", "The rare earth deal"])
@pytest.mark.parametrize("verb", ["collapses", "stalls", "expires", "falls apart", "has broken down"])
def test_breakdown_of_cooperation_escalates(subject: str, verb: str) -> None:
    assert _composed(f"{subject} {verb}").tension > 0.15


@pytest.mark.parametrize("flow", ["Rare earth magnet shipments to the US", "Licence approvals for Chinese buyers"])
@pytest.mark.parametrize(("verb", "sign"), [("fell 60 percent", 1), ("plunge", 1), ("rebound", -1), ("resume", -1)])
def test_flows_take_the_verb_and_quantity(flow: str, verb: str, sign: int) -> None:
    assert _composed(f"{flow} {verb}").tension * sign > 0.15


def test_a_quantity_strengthens_the_move() -> None:
    assert _composed("Exports to the US fell 60 percent").tension > _composed("Exports to the US fell").tension


@pytest.mark.parametrize("title", ["Explainer: what happens if the truce expires",
                                   "Analysts say Beijing could ease curbs"])
def test_frames_damp_composition(title: str) -> None:
    assert abs(_composed(title).tension) <= 0.15


@pytest.mark.parametrize(("title", "body"), [
    ("Chinese students win chemistry olympiad", "The team took four gold medals."),
    ("Students at a Beijing university hold talks with canteen", "They agreed on new menus."),
])
def test_gate_drops_categories_without_policy_context(title: str, body: str) -> None:
    c = _composed(title, body, tension=0.5)
    assert c.categories == () and c.tension == 0.0
    assert any(q.phrase.startswith("relevance:") and "no category" in q.phrase for q in c.cues)


def test_gate_cue_names_its_evidence() -> None:
    c = _composed("Commerce Department adds Chinese firms to entity list")
    assert c.categories == ("tariffs",)
    assert any(q.phrase.startswith("relevance: US") for q in c.cues)


def test_nothing_to_gate_passes_through_untouched() -> None:
    inner = Classification((), {}, 0.0, (), (), "inner")
    out = COMPOSER.apply(inner, "Chinese students win chemistry olympiad", "", "v")
    assert (out.categories, out.tension, out.cues, out.version) == ((), 0.0, (), "v")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80), st.floats(-0.9999, 0.9999))
def test_tension_stays_inside_the_unit_interval(title: str, body: str, tension: float) -> None:
    c = COMPOSER.apply(_base(tension), title, body, "v")
    assert -1.0 < c.tension < 1.0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CASES), st.floats(-0.99, 0.99), st.floats(-0.99, 0.99))
def test_composition_keeps_the_order_of_the_engine_tension(case, t1: float, t2: float) -> None:
    pred, obj, _ = case
    title = f"US {pred} {obj} on China"
    a, b = COMPOSER.apply(_base(min(t1, t2)), title, "", "v"), COMPOSER.apply(_base(max(t1, t2)), title, "", "v")
    assert a.tension <= b.tension


@pytest.mark.parametrize(("word", "base"), [("stopped", "stop"), ("eases", "ease"), ("lifted", "lift"),
                                            ("applies", "apply"), ("scrapping", "scrap"), ("talks", "talk")])
def test_lemmas_find_the_base_form(word: str, base: str) -> None:
    assert base in lemmas(word) or base in {x.rstrip(x[-1]) for x in lemmas(word)}


def test_default_engine_uses_the_composer() -> None:
    c = classify("US eases licensing requirement for chip exports to China", "")
    assert c.version.endswith(f"+compose-{COMPOSER.version}")
    assert any(q.phrase == "compose:eases → licensing requirement ⇒ deescalation" for q in c.cues)
    assert c.direction == "deescalation"


def test_composer_is_built_from_data() -> None:
    assert isinstance(COMPOSER, Composer) and COMPOSER.version == "1.1.1"


@pytest.mark.parametrize("undo", ["drops plan to", "reverses decision to", "shelves proposal to", "scraps its threat to"])
@pytest.mark.parametrize(("move", "sign"), [("add Chinese firms to entity list", 1), ("cancel visas", 1),
                                            ("lift the export ban", -1)])
def test_undoing_a_plan_reverses_its_move(undo: str, move: str, sign: int) -> None:
    plain = _composed(f"US moves to {move} for China")
    undone = _composed(f"US {undo} {move} for China")
    assert plain.tension * sign > 0.15 and undone.tension * sign < -0.15
    assert any("plan to" in q.phrase for q in undone.cues)


@pytest.mark.parametrize(("title", "body"), [
    ("Chinese basketball star signs with US team after trade talks", "The clubs agreed a two-year deal."),
    ("US figure skater wins gold in Beijing Grand Prix", "She edged a Chinese rival."),
    ("American tourists flock to China's ski resorts", "Hotels reported record bookings."),
])
def test_gate_drops_off_topic_stories_without_an_institution(title: str, body: str) -> None:
    c = _composed(title, body, tension=0.4)
    assert c.categories == () and any("off-topic" in q.phrase for q in c.cues)


@pytest.mark.parametrize(("title", "body"), [
    ("US tourist visa waiver travellers from China face new online form", "The State Department published the rule."),
    ("Chinese football club owners face US sanctions", "The Treasury named the owners."),
])
def test_an_institution_keeps_a_story_with_off_topic_words(title: str, body: str) -> None:
    assert _composed(title, body).categories == ("tariffs",)


def test_trade_in_trade_talks_is_not_policy_context() -> None:
    c = _composed("My semester abroad in China taught me more than trade talks", "")
    assert c.categories == ()
    assert _composed("China says trade with the US matters", "").categories == ("tariffs",)


def _gated(title: str, body: str, actors: tuple[str, ...], cats: tuple[str, ...] = ("tariffs",)) -> Classification:
    inner = Classification(cats, {c: 0.8 for c in cats}, 0.5, (), actors, "inner")
    return COMPOSER.apply(inner, title, body, "v")


@pytest.mark.parametrize(("title", "body", "actors"), [
    ("EU and US fail to settle steel tariff dispute", "Brussels wants lower duties on its steel.", ("EU", "US")),
    ("Canada raises tariffs on Mexican steel", "Ottawa said the duties protect its mills.", ("Canada", "Mexico")),
    ("Japan and South Korea resume talks on export controls", "Officials in Seoul and Tokyo met.",
     ("Japan", "South Korea")),
    ("Vietnam deal with Washington sets 20% tariff rate", "Hanoi agreed to the duty.", ("Vietnam", "US")),
])
def test_gate_requires_a_us_china_frame(title: str, body: str, actors: tuple[str, ...]) -> None:
    """One side alone, or two other countries, is not US-China economic relations, whatever the policy words."""
    c = _gated(title, body, actors)
    assert c.categories == () and c.tension == 0.0
    assert any(q.phrase.startswith(("relevance: no US–China frame", "relevance: off")) for q in c.cues), c.cues


@pytest.mark.parametrize(("title", "body", "actors", "cats"), [
    ("Commerce adds Chinese firms to entity list", "", ("China",), ("export_controls",)),
    ("The Chinese side decides to adjust relevant measures", "Both sides will keep talking about tariffs.",
     ("China",), ("tariffs",)),
    ("USTR raises tariffs on cranes", "The rate on Chinese-made cranes doubles.", ("US",), ("tariffs",)),
    ("Dutch regulator tightens servicing curbs on China chip tools", "", ("Netherlands", "China"),
     ("export_controls",)),
])
def test_gate_keeps_items_with_a_us_china_frame(title: str, body: str, actors: tuple[str, ...],
                                                cats: tuple[str, ...]) -> None:
    """An actor or an institution of each side, a bilateral anchor, or a third country's controls on China."""
    c = _gated(title, body, actors, cats)
    assert c.categories == cats, c.cues
    assert any(q.phrase.startswith("relevance:") and "no category" not in q.phrase for q in c.cues)


@pytest.mark.parametrize(("title", "cats", "side"), [
    ("New $100,000 fee imposed on H-1B skilled-worker petitions", ("visas",), "'h 1b'"),
    ("CFIUS review blocks the deal on security grounds", ("export_controls",), "'cfius'"),
    # China's list of US firms: reads as both sides (its name holds the US "entity list")
    ("Regulator adds chipmakers to the unreliable entity list", ("export_controls",),
     "'entity list' and 'unreliable entity list'"),
])
def test_a_programme_or_agency_of_one_side_shows_that_side(title: str, cats: tuple[str, ...], side: str) -> None:
    """No country is named, but H-1B, CFIUS or the unreliable entity list belong to one side (or both)."""
    c = _gated(title, "", (), cats)
    assert c.categories == cats, c.cues
    assert any(q.phrase.startswith(f"relevance: {side}") for q in c.cues), c.cues


def test_without_a_side_the_same_words_stay_out() -> None:
    c = _gated("New fee imposed on skilled-worker petitions", "", (), ("visas",))
    assert c.categories == (), c.cues


def test_third_country_frame_is_only_for_controls_and_minerals() -> None:
    c = _gated("Canada imposes surtax on Chinese steel", "Ottawa said the duty is 25%.", ("Canada", "China"))
    assert c.categories == ()


@pytest.mark.parametrize("verb", ["pauses", "bans", "curbs", "freezes", "caps"])
def test_a_word_that_is_object_and_predicate_is_the_verb_before_an_object(verb: str) -> None:
    """ "China bans exports": the measure word is the predicate (lower x exports = escalation)."""
    c = _composed(f"China {verb} exports of gallium to the US")
    assert c.tension > 0.15 and any(q.phrase == f"compose:{verb} → export ⇒ escalation" for q in c.cues), c.cues


@pytest.mark.parametrize("title", ["The tariff pause on Chinese goods expires", "US lifts the export ban on China"])
def test_the_same_word_after_an_object_or_predicate_is_the_noun(title: str) -> None:
    c = _composed(title)
    assert (c.tension > 0.15) == ("expires" in title) and (c.tension < -0.15) == ("lifts" in title), c.cues


@pytest.mark.parametrize("title", ["De minimis duty on Chinese parcels is put on hold",
                                   "The licensing requirement for chip exports to China was lifted"])
def test_a_passive_binds_its_subject(title: str) -> None:
    c = _composed(title)
    assert c.tension < -0.15, c.cues


@pytest.mark.parametrize(("title", "sign"), [("Retail stocks climb as duties on Chinese parcels are put on hold", -1),
                                             ("Chip shares fall as Beijing grants export licences to US firms", -1),
                                             ("Soy prices rise as the tariff truce with China collapses", 1)])
def test_a_market_verb_does_not_bind_the_cause_that_follows(title: str, sign: int) -> None:
    """ "stocks climb as duties are paused": climb has no object; the cause composes on its own."""
    c = _composed(title)
    assert c.tension * sign > 0.15, c.cues
    assert not any(q.phrase.startswith(("compose:climb", "compose:fall", "compose:rise")) for q in c.cues)


def test_an_institution_with_no_country_named_is_our_own_beat() -> None:
    c = _gated("Consulates told to pause scheduling of student visa interviews", "", (), ("visas",))
    assert c.categories == ("visas",) and any("'consulate', no other country" in q.phrase for q in c.cues)
    assert _gated("Studios brace for a film levy", "Producers fear the charge.", (), ("tariffs",)).categories == ()


@pytest.mark.parametrize("negator", ["no longer", "not", "will not"])
def test_a_two_word_negator_counts_once(negator: str) -> None:
    """ "no longer need a licence": one negation of a restriction on the flow, so de-escalation."""
    c = _composed(f"Chip tools for China will {negator} need an export licence".replace("will will", "will"))
    assert c.tension < -0.15, c.cues
