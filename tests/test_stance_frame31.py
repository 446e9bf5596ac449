"""Stance by the article's frame, the thirty-first round: Chinese and Japanese headlines whose
claim words stand inside a run of characters.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

from narrative_archive.analysis.stance import classify_stance
from narrative_archive.analysis.terms import has_stem, stems_of


def test_a_claim_word_inside_a_japanese_run_is_found():
    stems = stems_of(["報奨金", "米兵"])
    assert has_stem("露が米兵殺害の武装勢力に報奨金か", stems)
    assert not has_stem("露が武装勢力に資金か", stems)


def test_a_japanese_headline_whose_claim_words_sit_mid_run_frames_the_article():
    terms = ["ロシア", "報奨金", "米兵"]
    title = "露が米兵殺害の武装勢力に報奨金か 米紙報道"
    text = "会議は月曜に開かれた。首相が演説した。ロシアが米兵を狙う武装勢力に報奨金を出していた。"
    result = classify_stance(title, text, terms, language="ja")
    assert (result.stance, result.evidence["frame"]) == ("reports", "title")


def test_a_readers_letter_opening_editor_colon_names_no_speaker():
    terms = ["equipment", "left", "taliban"]
    text = ("Editor: In answer to last week's letter, we left equipment worth billions to the Taliban. "
            "That is the plain truth. More.")
    result = classify_stance("", text, terms, language="en")
    assert "editor:" not in result.evidence["cues"]
    assert result.stance == "asserts"
