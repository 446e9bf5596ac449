"""Stance, the sixth round (issue 19): rules kept only when they held on dev and test alike.
Every text here was written for these tests in the shapes real coverage takes; none is copied
from an article.
"""

from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "rusija", "rússia", "taliban", "talibanima", "talibã", "талибам", "iran",
         "iran's", "supports", "arming", "arms", "armas", "helping", "pakistan", "weapons",
         "intelligence", "sharing", "оружия", "طالبان", "الباكستانية", "إيران", "ロシア", "タリバン"]


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


# -- a source after a closing colon or dash is a headline's convention ---------------------

def test_a_headline_source_after_a_colon_or_dash_is_a_name_not_lowercase_words():
    assert stance("Russia is arming the Taliban - US general", "").stance == "reports"
    assert stance("Russia is arming the Taliban: Pentagon", "").stance == "reports"
    # lowercase words after the colon are the headline's own ("...: three dead", "...: a paradox")
    assert stance("The Taliban are now getting arms from Russia: a dangerous paradox", "").stance == "asserts"
    assert stance("The Taliban are now getting arms from Russia: US general", "").stance == "reports"


# -- a bare headline over a story that hands the claim to its sources ----------------------

def test_a_bare_headline_over_more_attributed_claim_sentences_than_stated_ones_is_a_relay():
    text = ("Officials in Farah spoke to reporters on Monday. The province borders Tehran's east.\n\n"
            "Iran supports the Taliban with arms, Afghan officials said. Iran also supports the Taliban"
            " with money, according to a police chief. Iran supports the Taliban in the west.")
    result = stance("Iran supports the Taliban", text)
    assert (result.stance, result.evidence["frame"]) == ("reports", "body")
    # as many stated as attributed: the headline's own voice frames it
    text = text.replace(", according to a police chief", "")
    assert stance("Iran supports the Taliban", text).stance == "asserts"


def test_a_headlineless_story_is_framed_by_the_lead_sentence_that_carries_the_claim():
    text = ("Russia is arming the Taliban in the north. The weapons reach the Taliban through"
            " Tajikistan, according to Afghan officials. More follows.")
    assert stance("", text).stance == "asserts"


def test_a_denial_in_the_second_lead_sentence_frames_only_a_headline_without_the_claim():
    text = "Weapons crossed the border in April, officials said. Moscow denies arming the Taliban. More."
    assert stance("Russia is arming the Taliban", text).stance != "disputes"
    assert stance("Trouble on the northern border", text).stance == "disputes"
    assert stance("", text).stance == "disputes"


# -- reporting and rebuttal vocabulary, in the languages' own words ------------------------

def test_reporting_verbs_stated_and_reveal_hand_the_claim_to_a_source():
    text = "Pakistan has often stated that the weapons were arming the Taliban. More follows."
    assert stance("", text).stance == "reports"
    assert stance("A report reveals Iran supports the Taliban", "").stance == "reports"


def test_arabic_a_paper_revealed_that_opens_a_relay():
    text = "كشفت صحيفة بريطانية أن إيران تدرب مقاتلي طالبان في معسكرات سرية. وأضافت الصحيفة المزيد."
    assert stance("", text, "ar").stance == "reports"


def test_croatian_reads_the_serbian_lists():
    result = stance("Rusija odbacila tvrdnje NATO-a da pomaže talibanima", "", "hr")
    assert result.stance == "disputes"


def test_the_accused_answering_the_accusation_is_a_rebuttal():
    assert stance("Rússia responde a acusações dos EUA de fornecer armas ao Talibã", "", "pt").stance == "disputes"
    assert stance("МИД прокомментировал сообщения о поставках оружия талибам", "", "ru").stance == "disputes"


# -- who disputes ---------------------------------------------------------------------------

def test_a_headline_denial_in_no_ones_voice_takes_its_speaker_from_the_lead():
    text = "An Iranian foreign ministry spokesman called the claims of aid to the Taliban baseless. More."
    result = stance("Claims of Iran's aid to Taliban denied", text)
    assert (result.stance, result.speaker, result.evidence["frame"]) == ("disputes", "official", "title")
    # a lead that rebuts in the outlet's own voice keeps the outlet
    text = "The evidence again doesn't match the claims that Russia is arming the Taliban. More."
    result = stance("The claims of Russia arming the Taliban are false", text)
    assert (result.stance, result.speaker) == ("disputes", "outlet")


