"""Stance, the seventh round (issue 19): what a denial governs, and a headline's answer.

Rules kept only when they held on dev, test and the holdout. Every text here was written for
these tests in the shapes real coverage takes; none is copied from an article.
"""

from narrative_archive.analysis.sentences import fold
from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "taliban", "pakistan", "weapons", "equipment", "arms", "ghost", "troops",
         "soldiers", "bounties", "left", "talibans", "मदद", "तालिबान", "पाकिस्तान", "کرملین", "طالبان"]


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


# -- rebuttal words: spurning a report, "no grounds" ----------------------------------------

def test_spurning_a_report_and_no_grounds_are_rebuttals():
    result = stance("Defence ministry spurns watchdog's report on ghost soldiers", "")
    assert result.stance == "disputes"
    text = "The allegations that Russia arms the Taliban have no grounds, the minister said. More."
    assert stance("", text).stance == "disputes"


# -- rejecting a demand is not denying the claim, nor telling of a denial -------------------

def test_rejecting_a_demand_to_return_the_weapons_is_no_denial():
    # the claim (weapons left behind) is presupposed in the headline's own words
    assert stance("Taliban reject the call to hand back US equipment left behind", "").stance == "asserts"
    assert stance("Taliban reject claims that US equipment was left behind", "").stance == "disputes"


def test_a_negated_denial_is_an_admission_in_any_word_order():
    assert stance("Moscow did not deny that Russia arms the Taliban", "").stance == "reports"
    # Persian puts the negation after the verb: "the Kremlin did not deny arming the Taliban"
    assert stance("", "کرملین مسلح کردن طالبان را تکذیب نکرد.", "fa").stance == "reports"


def test_denying_knowing_presupposes_the_claim():
    assert stance("President denies knowing about Russian bounties for the Taliban", "").stance == "asserts"


# -- a bare headline over a lead that names its source: the body margin reads it -----------

def test_a_bare_headline_over_an_attributed_lead_is_still_a_relay():
    text = ("Russia paid the Taliban bounties, the newspaper reported on Friday, citing officials. "
            "The story went on.")
    result = stance("Russia paid bounties to the Taliban", text)
    assert result.stance == "reports"
    assert result.speaker is None


# -- Devanagari spelled with or without the nukta -----------------------------------------

def test_the_nukta_is_folded_away():
    assert fold("मुताबिक़") == fold("मुताबिक")
    text = "एक अख़बार के मुताबिक़ पाकिस्तान तालिबान की मदद करता है। और भी।"
    assert stance("", text, "hi").stance == "reports"
