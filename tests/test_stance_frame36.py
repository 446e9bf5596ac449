"""Stance by the article's frame, the thirty-sixth round: rebuttals worded as ridicule
(English), as malicious allegations (Portuguese), as reports found unreliable (Russian), as
intelligence not proven (Italian) and as no firm evidence (Japanese); an Arabic revelation
that quotes an official.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

import pytest

from narrative_archive.analysis.stance import classify_stance

CASES = [
    ("en", ["pakistan", "sheltering", "taliban"], "Pakistan ridicules charges of sheltering Taliban",
     "Officials met on Thursday. More follows."),
    ("pt", ["paquistão", "ajudou", "talibã"], "‘Alegações maliciosas’: Paquistão em relatos de que ajudou o Talibã",
     "O governo reuniu-se na quinta. Mais virá."),
    ("it", ["russia", "taglie", "talebani"],
     "Il generale afferma che l'intelligence sulle taglie della Russia ai talebani non è stata dimostrata",
     "Il generale ha parlato ai giornalisti. Altro seguirà."),
    ("ja", ["ロシア", "懸賞金", "米兵"], "米兵殺害にロシア懸賞金疑惑、確かな証拠なし", "会議は月曜に開かれた。首相が演説した。"),
]


@pytest.mark.parametrize(("language", "terms", "title", "text"), CASES, ids=[c[0] for c in CASES])
def test_a_headline_rebutting_the_claim_disputes(language, terms, title, text):
    result = classify_stance(title, text, terms, language=language)
    assert (result.stance, result.evidence["frame"]) == ("disputes", "title")


def test_reports_found_unreliable_in_the_lead_dispute_in_russian():
    terms = ["россия", "талибан", "солдат"]
    text = ("Сообщения о том, что Россия якобы платила «Талибану» за убийство солдат, являются недостоверными. "
            "Об этом заявил представитель движения.")
    assert classify_stance("", text, terms, language="ru").stance == "disputes"


def test_a_revelation_whose_closing_word_is_a_quoting_phrase_is_a_report_in_arabic():
    terms = ["طالبان", "إيران", "تدريب"]
    quoting = ("كشفت صحيفة التايمز اليوم نقلا عن مسؤول في طالبان أن مقاتلي الحركة يتلقون تدريب في إيران. "
               "وقالت الصحيفة إن ذلك بدأ في الربيع.")
    assert classify_stance("", quoting, terms, language="ar").stance == "reports"
    revealing = ("كشفت صحيفة التايمز اليوم عن أن مقاتلي طالبان يتلقون تدريب في إيران. "
                 "وبدأ ذلك في الربيع.")
    assert classify_stance("", revealing, terms, language="ar").stance == "asserts"
