"""Stance, the fifth round (issue 19): the lead without its page furniture, hedges and their
scope, admissions, the body's attributions under a bare headline, rebuttals without a denial
word. Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

from narrative_archive.analysis.sentences import sentence, tag_line
from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "rusia", "taliban", "talibanes", "pagó", "recompensas", "iran", "supports",
         "supporter", "pakistan", "isi", "helping", "weapons", "seized", "american", "armas",
         "talibãs", "eua", "طالبان", "مقاتلو", "talibowie", "broń", "amerykańską"]


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


def test_a_tag_line_before_the_lead_is_not_its_first_sentence():
    # the page's tag line ("Rusia talibanes Estados Unidos") once stood for the lead, which
    # then stated nothing in a source's name; the story's first sentence names its source
    text = ("Rusia talibanes Estados Unidos\n\nFuncionarios estadounidenses evaluaron que Rusia"
            " pagó recompensas a los talibanes, según un informe del New York Times.\n\nMás.")
    result = stance("", text, "es")
    assert (result.stance, result.evidence["frame"]) == ("reports", "lead")
    assert result.evidence["sentence"].startswith("Funcionarios")


def test_tag_lines_bylines_and_markup_are_furniture_sentences_are_not():
    text = "By Jane Roe, The Daily\nPublished: May 2, 2020\n<img src=x>\nRussia arms the Taliban.\n"
    lines = [(text.index(line), text.index(line) + len(line)) for line in text.splitlines()]
    assert [tag_line(text, start, end) for start, end in lines] == [True, True, True, False]


def test_a_hedge_after_every_claim_word_hedges_something_else():
    text = ("Pakistan, once a covert supporter of the Taliban, is now angry with them for allegedly"
            " sheltering militants. More follows.")
    result = stance("Pakistan threatens the Taliban", text)
    assert result.stance == "asserts"
    # a hedge before the claim's words still hedges the claim
    text = "Pakistan is allegedly a supporter of the Taliban. More follows."
    assert stance("Pakistan threatens the Taliban", text).stance == "reports"


def test_an_admission_hands_the_claim_to_the_one_who_admits_it():
    result = stance("EUA admitem que armas estão sob posse dos talibãs", "Mais.", "pt")
    assert (result.stance, result.evidence["cues"]) == ("reports", ["admitem"])


def test_a_claimless_lead_sentence_after_the_claim_can_name_its_source():
    text = ("Pakistan's ISI is secretly helping the Taliban in the border areas. A Washington Times"
            " investigation makes this claim. More follows.")
    result = stance("ISI secretly helping the Taliban", text)
    assert (result.stance, result.evidence["frame"]) == ("reports", "lead")


def test_a_bare_headline_over_a_body_of_attributions_is_a_relay():
    body = ("The weather in Farah was cold this week. Roads were closed for days. Officials in Farah said Iran supports the Taliban."
            " The governor said Iran supports the Taliban with money. A police chief claimed Iran supports"
            " the Taliban with weapons. Local elders told reporters Iran supports the Taliban.")
    result = stance("Iran supports the Taliban", body)
    assert (result.stance, result.evidence["frame"]) == ("reports", "body")
    # one statement in the outlet's voice against as many attributions stays the headline's
    body = ("The weather in Farah was cold this week. Roads were closed for days. Iran supports the"
            " Taliban with money."
            " Officials in Farah said Iran supports the Taliban.")
    assert stance("Iran supports the Taliban", body).stance == "asserts"


def test_arabic_ma_with_a_clitic_is_not_a_negation():
    text = "كما استولى مقاتلو طالبان على أسلحة ومركبات أمريكية في المطار. المزيد."
    assert stance("", text, "ar").stance == "asserts"


def test_rebuttals_without_a_denial_word():
    assert classify_stance("«Талибан»: для борьбы с ИГ нам помощь не нужна", "Подробности.",
                           ["талибан", "иг"], language="ru").stance == "disputes"
    text = ("Un porte-parole des talibans a dénoncé des informations sur de prétendues ventes d'armes"
            " russes au mouvement. Suite.")
    assert classify_stance("Les talibans et leurs armes", text, ["talibans", "armes", "russes"],
                           language="fr").stance == "disputes"


def test_a_country_before_a_headline_colon_is_a_section_label():
    result = stance("Afganistan: talibowie przejęli amerykańską broń", "Więcej.", "pl")
    assert result.stance == "asserts"


def test_a_full_stop_with_no_space_between_joined_paragraphs_ends_a_sentence():
    text = ("A general accused Moscow of arming the Taliban.”The claims are old,” he told the panel."
            "Russia's foreign ministry denied them.")
    assert sentence(text, text.index("arming")) == "A general accused Moscow of arming the Taliban.”"
    assert sentence(text, text.index("denied")) == "Russia's foreign ministry denied them."
    # abbreviations, initials and decimals are not boundaries
    for kept in ("The U.S.Army said so.", "Gen.Miller said so.", "It cost 8.5bn in all."):
        assert sentence(kept, 3) == kept
