"""Stance by the article's frame, the seventeenth round: confirming and not confirming, page
furniture before the lead, a question headline the lead answers in the outlet's voice, a match
of one word, a denial whose object is a report.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

from narrative_archive.analysis.sentences import tag_line
from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "weapons", "taliban"]


def test_a_headline_that_confirms_without_that_endorses():
    title = "Weekly paper confirms Russia sends weapons to the Taliban"
    text = "A newspaper has confirmed what officials long said, that Russia sends weapons to the Taliban. More."
    result = classify_stance(title, text, TERMS)
    assert (result.stance, result.speaker) == ("asserts", "outlet")
    assert any(cue.startswith("endorses: confirms") for cue in result.evidence["cues"])


def test_confirming_being_briefed_is_no_endorsement():
    title = "Minister confirms he was briefed on Russia sending weapons to the Taliban"
    result = classify_stance(title, "The minister spoke on Monday. More.", TERMS)
    assert not any(cue.startswith("endorses") for cue in result.evidence["cues"])


def test_the_scoop_formula_is_the_outlets_voice():
    text = ("The Evening News can reveal that Russia sends weapons to the Taliban across the river."
            " The crates were photographed last month.")
    assert classify_stance(None, text, TERMS).stance == "asserts"


def test_has_not_confirmed_rebuts():
    title = "Commander says intelligence has not confirmed Russia sends weapons to the Taliban"
    assert classify_stance(title, "He spoke on Monday. More.", TERMS).stance == "disputes"


def test_a_credit_line_closing_on_a_bracket_is_furniture():
    text = "(c) AGENCY/PHOTOGRAPHER (NAME)\nThe Kremlin denies it."
    assert tag_line(text, 0, text.index("\n"))
    assert not tag_line("He left (for good.)\nMore.", 0, 17)


def test_the_headline_after_a_sites_name_is_no_lead():
    title = "Army rejects claims Russia sends weapons to the Taliban"
    text = (f"Frontier Blog: {title}\n\nSunday, June 5\n\nThe spokesman said the army backs no group"
            " and the charge that Russia sends weapons to the Taliban is baseless.")
    result = classify_stance(title, text, TERMS)
    assert result.stance == "disputes"
    assert result.evidence["frame"] == "title"


def test_a_question_headline_answered_by_a_bare_lead_asserts():
    title = "Are the Taliban arms dealers now?"
    text = ("Russia sends weapons to the Taliban, who now sell them on in markets near the border."
            " Rifles go for a few hundred dollars.")
    assert classify_stance(title, text, TERMS).stance == "asserts"
    # a lead that credits the claim leaves the question a hedge
    text = text.replace("Russia sends weapons to the Taliban,", "Russia sends weapons to the Taliban, officials said,")
    assert classify_stance(title, text, TERMS).stance == "reports"


def test_a_doubt_after_an_attributed_lead_of_one_matched_word_is_a_relay():
    text = ("Channels reported that the Taliban were allegedly selling captured vehicles abroad."
            " A channel shared unverified pictures of a convoy.")
    assert classify_stance(None, text, ["taliban"]).stance == "reports"


def test_accusing_attributes():
    text = ("The president posted a message on Monday, accusing Pakistan of giving safe haven to the Taliban."
            " Ties may worsen.")
    assert classify_stance(None, text, ["pakistan", "haven", "taliban"]).stance == "reports"


def test_a_denial_of_a_newspaper_report_after_a_dateline_disputes():
    text = ("KABUL, Afghanistan – The Taliban on Saturday rejected a newspaper report claiming Russia"
            " sends weapons to the Taliban. The paper printed it on Friday.")
    assert classify_stance(None, text, ["afghanistan", *TERMS]).stance == "disputes"


def test_senators_casting_doubt_are_officials():
    title = "Senators voice skepticism over reports Russia sends weapons to the Taliban"
    result = classify_stance(title, "They spoke after a briefing. More.", TERMS)
    assert (result.stance, result.speaker) == ("disputes", "official")


def test_a_shaky_story_is_rebutted():
    title = "Lawmakers act on shaky story that Russia sends weapons to the Taliban"
    assert classify_stance(title, "The vote came late. More.", TERMS).stance == "disputes"


def test_woher_takes_its_claim_as_given():
    title = "Woher bekommen die Taliban Waffen aus Russland?"
    text = "Die Taliban bekommen Waffen aus Russland über den Fluss. Mehr dazu."
    result = classify_stance(title, text, ["taliban", "waffen", "russland"], language="de")
    assert result.stance == "asserts"
