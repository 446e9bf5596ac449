"""Stance by the article's frame, the fifteenth round: function words among the matched
terms, Korean particles, a question headline the article answers, a third party's doubt.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

from narrative_archive.analysis.stance import classify_stance
from narrative_archive.analysis.terms import stems_of


def test_a_function_word_highlighted_alone_is_no_claim_term():
    assert set(stems_of(["the", "and", "russia", "weapons"])) == {"russ", "weapo"}
    assert set(stems_of(["the"])) == {"the"}  # nothing else to read
    # a phrase's words are the claim's wording
    assert "in" in stems_of(["hunt in afghanistan"])
    text = ("Late one evening, farmers in the north heard engines over the river. One of them said"
            " he saw planes land in an area the Taliban hold. Reports say Russia is providing"
            " weapons to the Taliban.")
    result = classify_stance(None, text, ["the", "and", "russia", "taliban", "weapons", "providing"])
    assert result.stance == "reports"


def test_a_korean_particle_is_no_part_of_the_stem():
    assert set(stems_of(["러시아가", "미군의", "탈레반"])) == {"러시아", "미군", "탈레반"}


def test_a_question_headline_answered_by_the_outlets_rebuttal_disputes():
    title = "Did the US leave 80 billion dollars of American weapons behind?"
    text = ("A chart shared online shows armoured vehicles and rifles. It circulated widely last week."
            " But the claim is false, as the figure is what the war cost over twenty years and"
            " not the worth of the American weapons left behind.")
    result = classify_stance(title, text, ["american", "weapons", "left", "behind"])
    assert (result.stance, result.speaker) == ("disputes", "outlet")
    # a rebuttal someone else makes is no answer of the outlet's: the question still hedges
    text = text.replace("But the claim is false", "But the ministry says the claim is false")
    assert classify_stance(title, text, ["american", "weapons", "left", "behind"]).stance == "reports"


def test_a_third_partys_doubt_in_the_headline_disputes():
    for title in ("Top general unconvinced by intelligence on Russian bounties for the Taliban",
                  "Memo raises fresh doubts on Russian bounties paid to the Taliban",
                  "NATO commander says he hasn't seen evidence of Russia arming the Taliban"):
        result = classify_stance(title, "The report was published on Monday.",
                                 ["russia", "russian", "bounties", "taliban", "arming"])
        assert result.stance == "disputes", title
