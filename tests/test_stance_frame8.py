"""Stance, the eighth round (issue 19): the rules that follow the labelling guideline's wording
rather than one split's errors. Every text here was written for these tests; none is copied
from an article.
"""

from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "russian", "taliban", "bounties", "pakistan", "weapons", "iran"]


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


# -- the English conditional is a hedge (guideline rule 3: conditional mood) ------------------

def test_would_have_over_the_claim_hedges_it():
    result = stance("Russia would have paid bounties to the Taliban", "More follows here.")
    assert (result.stance, result.speaker) == ("reports", None)
    assert "would have" in result.evidence["cues"]
    # the same headline in the indicative is the outlet's own claim
    result = stance("Russia paid bounties to the Taliban", "More follows here.")
    assert (result.stance, result.speaker) == ("asserts", "outlet")


def test_would_have_after_every_claim_word_hedges_something_else():
    # a hedge governs the words after it: here a judgement on the claim, not the claim
    text = "Russia paid bounties to the Taliban, which would have shocked nobody. More follows here."
    assert stance("", text).stance == "asserts"


# -- the outlet's own voice speaks as the outlet; a report has no speaker ---------------------

def test_an_assertion_is_the_outlets_and_a_relay_is_no_ones():
    assert stance("Pakistan shelters the Taliban", "More follows here.").speaker == "outlet"
    result = stance("Pakistan shelters the Taliban, officials say", "More follows here.")
    assert (result.stance, result.speaker) == ("reports", None)


# -- the vote when no headline or lead sentence carries the claim: a count ---------------------

def test_the_vote_counts_every_sentence_alike_and_ties_go_to_the_cautious_label():
    # no matched word anywhere: the headline and the lead are read; a stated headline and an
    # attributed lead sentence tie, and a tie goes to the report (the headline once weighed more)
    result = classify_stance("The convoy crossed the border at dawn",
                             "Officials said the convoy crossed at dawn. Ends.",
                             ["nowhere-to-be-found"], language="en")
    assert result.stance == "reports"
    assert result.reason is not None
