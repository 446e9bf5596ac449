"""Stance by the article's frame (issue 19): headline, lead, then body; who disputes or asserts.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

import pytest
import yaml

from narrative_archive.analysis.cues import find, load_cues
from narrative_archive.analysis.stance import classify_stance
from narrative_archive.config import ConfigError

TERMS = ["russia", "russian", "moscow", "kremlin", "taliban", "arming", "arms", "armed", "weapons", "pakistan",
         "supplying", "россия", "талибов", "талибам", "оружие", "taliban", "waffen", "armes",
         "talibanes", "armas", "rusia", "russland", "russie"]
RESTATED = (" US officials have said for months that Russia is arming the Taliban."
            " General Nicholson said Russian weapons reached the Taliban through Tajikistan."
            " Russia is arming the Taliban, Washington insists.")


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


def test_a_denial_in_the_headline_frames_the_article_whatever_the_body_restates():
    result = stance("Lavrov calls claims Russia is arming the Taliban baseless", RESTATED)
    assert (result.stance, result.evidence["frame"]) == ("disputes", "title")
    assert (result.speaker, result.speaker_name) == ("official", "Lavrov")


def test_a_denial_in_the_lead_frames_the_article():
    text = "The Russian embassy dismissed reports that Moscow is arming the Taliban." + RESTATED
    result = stance("Embassy statement on Afghanistan", text)
    assert (result.stance, result.evidence["frame"]) == ("disputes", "lead")
    assert result.speaker == "official"


def test_a_denial_after_the_claim_in_a_later_clause_is_a_report():
    text = ("Videos appear to show Russian weapons in Taliban hands; Moscow denied arming the"
            " movement.")
    assert stance("Videos from Herat", text).stance == "reports"


def test_a_report_headline_keeps_a_denial_in_the_second_lead_sentence_a_report():
    text = ("General John Nicholson said Russia is arming the Taliban."
            " Moscow rejected the claim as groundless.")
    assert stance("US general says Russia is arming the Taliban", text).stance == "reports"


def test_the_outlet_rebutting_in_its_own_voice_is_the_speaker():
    result = stance("Blaming Moscow", "The claim that Russia is arming the Taliban is"
                    " extremely light on evidence." + RESTATED)
    assert (result.stance, result.speaker, result.speaker_name) == ("disputes", "outlet", None)


@pytest.mark.parametrize("opener", ["However", "Yet", "But"])
def test_a_word_capitalised_because_it_opens_the_sentence_is_not_a_speaker(opener):
    result = stance("Arms claim", f"{opener} Lavrov called reports that Russia is arming the"
                    " Taliban baseless.")
    assert (result.stance, result.speaker, result.speaker_name) == ("disputes", "official", "Lavrov")
    result = stance("Arms claim", f"{opener} the claim that Russia is arming the Taliban is"
                    " extremely light on evidence.")
    assert (result.stance, result.speaker, result.speaker_name) == ("disputes", "outlet", None)


def test_an_unnamed_source_is_an_unnamed_speaker():
    result = stance("Arms claim", "A diplomat who asked not to be named called reports that"
                    " Russia is arming the Taliban baseless.")
    assert (result.stance, result.speaker) == ("disputes", "unnamed")


def test_a_headline_stating_the_claim_is_the_outlet_asserting():
    result = stance("Russia is arming the Taliban", "Russian weapons were seen in Kunduz.")
    assert (result.stance, result.speaker) == ("asserts", "outlet")
    # over a story whose only claim sentence is attributed, the bare headline is a relay
    # (guideline rule 3; the sixth round's body margin of one)
    result = stance("Russia is arming the Taliban", "Officials said Russian weapons were seen.")
    assert (result.stance, result.speaker) == ("reports", None)


@pytest.mark.parametrize("title,expected", [
    ("Russia may be arming the Taliban", "reports"),
    ("Russia arming the Taliban: NYT", "reports"),
    ("Russia arming the Taliban (US official)", "reports"),
    ('"Times": Russia is arming the Taliban', "reports"),
    ("Russia arming the Taliban? Not so fast", "reports"),
])
def test_hedges_questions_and_sources_in_a_headline_are_reports(title, expected):
    assert stance(title, "").stance == expected


def test_a_latin_tag_before_a_colon_over_a_headline_in_another_script_is_no_speaker():
    # Indian outlets tag a Telugu or Hindi headline with an English keyword ("Taliban: ...")
    terms = ["తాలిబన్లకు", "రష్యా", "తాలిబాన్", "taliban", "तालिबान", "रूस"]
    tagged = classify_stance("Russia: తాలిబన్లకు ఆయుధాలు ఇస్తున్న రష్యా", "", terms, language="te")
    assert tagged.stance == "asserts"
    # a speaker written in the headline's own script still speaks
    spoken = classify_stance("Пентагон: Россия вооружает талибов", "", ["россия", "талибов"], language="ru")
    assert spoken.stance == "reports"


@pytest.mark.parametrize("language,title", [
    ("de", "Taliban weisen Vorwürfe über russische Waffen zurück"),
    ("fr", "Moscou dément fournir des armes aux talibans"),
    ("es", "Rusia niega enviar armas a los talibanes"),
    ("ru", "Лавров назвал беспочвенными сообщения о том, что Россия вооружает талибов"),
])
def test_rebuttals_in_other_languages(language, title):
    assert stance(title, "", language).stance == "disputes"


@pytest.mark.parametrize("language,title", [
    ("fr", "La Russie fournirait des armes aux talibans"),
    ("es", "Rusia estaría enviando armas a los talibanes"),
    ("de", "Russland soll die Taliban mit Waffen beliefern"),
])
def test_conditional_mood_reads_as_attribution(language, title):
    assert stance(title, "", language).stance == "reports"


def test_despite_denials_is_not_a_denial():
    text = "Russia is arming the Taliban despite its repeated denials, the report found."
    assert stance("Report", text).stance != "disputes"


def test_a_gap_cue_spans_the_words_between():
    cues = load_cues()["de"]
    tokens = "taliban weisen die vorwürfe entschieden zurück".split()
    assert find(tokens, cues.denial, cues.prefixes) == [(1, 6)]


def test_speaker_fields_are_in_to_dict():
    result = stance("Moscow denies arming the Taliban", "")
    assert result.to_dict()["speaker"] == "official"
    assert result.to_dict()["speaker_name"] == "Moscow"


def test_matched_terms_are_found_across_the_chunks_a_long_text_is_folded_in():
    from narrative_archive.analysis import stance as module

    for at in range(module._CHUNK - 9, module._CHUNK + 2):
        text = "x" + " " * (at - 1) + "TALİBAN and taliban"
        starts = list(module._term_starts(text, ("taliban",), False))
        assert starts == [text.index("TALİBAN"), text.index("taliban")]
    assert list(module._term_starts("xtaliban taliban", ("taliban",), False)) == [9]
    assert list(module._term_starts("لطالبان", ("طالبان",), True)) == [1]


def test_cue_lookups_are_remembered_per_token_and_give_the_same_spans():
    cues = load_cues()["en"]
    tokens = "moscow denies arming the taliban and rejected the claims , officials said".split()
    first = find(tokens, cues.denial, cues.prefixes)
    assert first == find(tokens, cues.denial, cues.prefixes) and first


def test_a_question_mark_before_the_claim_does_not_make_the_headline_a_question():
    asked = stance("Is Russia arming the Taliban? What we know", "The war went on." * 2)
    assert asked.stance == "reports" and "question" in asked.evidence["cues"]
    stated = stance("Strategic turnaround? Russia's weapons reach the Taliban", "The war went on." * 2)
    assert stated.stance == "asserts"


def test_a_negated_report_is_not_a_denial_of_the_claim():
    result = stance("Minister never heard reports Russian weapons reached the Taliban", "Nothing else.")
    assert result.stance == "reports"
    assert any(cue.startswith("negated report") for cue in result.evidence["cues"])


def test_a_language_reads_the_rebuttal_words_of_its_related_languages(tmp_path):
    path = tmp_path / "stance.yml"
    path.write_text("pt:\n  denial: [desment*]\nro:\n  related: [pt]\n  denial: [respins*]\n", encoding="utf-8")
    cues = load_cues(path)
    assert cues["ro"].denial == (("respins*",), ("desment*",)) and cues["pt"].denial == (("desment*",),)
    path.write_text("ro:\n  related: [xx]\n", encoding="utf-8")
    with pytest.raises(Exception, match="related"):
        load_cues(path)


def test_a_sentence_that_quotes_someone_reports():
    result = stance(None, 'Russia is arming the Taliban and "nobody in the valley doubts it" any more.')
    assert result.stance == "reports" and "quotation" in result.evidence["cues"]


def test_a_bare_headline_over_a_lead_that_credits_the_claim_is_a_report():
    # the labelling guideline (docs/realtext.md): a bare headline is a compressed relay
    # when the lead's claim sentence names its source after the claim
    text = ("Russia has been supplying weapons to the Taliban, The Times reported on Monday,"
            " citing a Taliban treasurer. The payments began two years ago.")
    result = stance("Russia is arming the Taliban", text)
    assert (result.stance, result.evidence["frame"]) == ("reports", "lead")


def test_a_bare_headline_over_a_lead_in_the_outlets_voice_asserts():
    text = ("Russia has been supplying weapons to the Taliban for two years. The apparent aim"
            " is to weaken NATO.")
    assert stance("Russia is arming the Taliban", text).stance == "asserts"
    # a cue word before the claim is not the claim's source
    text = ("The apparent goal of the Kremlin: Russia is arming the Taliban to bleed NATO. Russian"
            " weapons reach the Taliban through Tajikistan.")
    assert stance("Russia is arming the Taliban", text).stance == "asserts"


def test_a_lead_credits_the_claim_with_any_attribution_cue_after_it():
    # "report" opens the sentence, but "according to" after the claim names its source
    text = ("A report says Russia has been supplying weapons to the Taliban, according to The Times."
            " The payments began two years ago.")
    assert stance("Russia is arming the Taliban", text).stance == "reports"


def test_a_noun_with_a_conditional_ending_is_not_a_hedge():
    # "retrait" ends like "soutiendrait", "mayoría" like "apoyaría"
    text = "La Russie arme les talibans depuis le retrait américain. Les armes arrivent par le nord."
    assert stance("La Russie arme les talibans", text, "fr").stance == "asserts"
    text = "Rusia entrega armas a los talibanes, la mayoría fusiles. Llegan por Tayikistán."
    assert stance("Rusia arma a los talibanes", text, "es").stance == "asserts"
    text = "La Russie soutiendrait les talibans. Les armes arrivent par le nord."
    assert stance("La Russie arme les talibans ?", text, "fr").stance == "reports"


def test_a_conditional_ending_is_not_borrowed_by_a_related_language(tmp_path):
    path = tmp_path / "stance.yml"
    path.write_text('pt:\n  attribution: ["*ria", segundo]\nit:\n  related: [pt]\n  attribution: [secondo]\n',
                    encoding="utf-8")
    cues = load_cues(path)
    assert cues["it"].attribution == (("secondo",), ("segundo",))  # Italian "storia" is no hedge


def test_matched_terms_are_found_without_their_accents():
    # "talibów" in the headline, "talibowie" highlighted (stem "talibow"): the headline holds the claim
    result = classify_stance("CNN: prawdopodobnie Moskwa zbroi talibów", "Moskwa dostarcza broń talibom.",
                             ["talibowie"], language="pl")
    assert (result.stance, result.evidence["frame"], result.reason) == ("reports", "title", None)


def test_a_denial_closing_the_sentence_after_the_claim_tells_both_sides():
    text = ("Hundreds of reports mention suspicions that Russia is arming the Taliban—a charge"
            " that Moscow has repeatedly denied. More follows.")
    assert stance("Reports on Afghanistan", text).stance == "reports"
    text = "Russia denies that it is arming the Taliban. More follows."
    assert stance("Reports on Afghanistan", text).stance == "disputes"


def test_intelligence_is_a_claim_word_not_a_source():
    terms = ["russia", "sharing", "intelligence", "taliban"]
    assert classify_stance("Russia now sharing intelligence with Taliban", "", terms).stance == "asserts"


def test_with_no_headline_a_lead_that_reports_the_claim_keeps_its_second_sentence_denial_a_report():
    text = ("US commanders said Russia is arming the Taliban in the north."
            " Moscow rejected the claim as groundless.")
    result = stance(None, text)
    assert (result.stance, result.evidence["frame"]) == ("reports", "lead")
    # a lead that opens on something else still lets the denial after it frame the article
    other = stance(None, "The talks in Doha resumed on Monday after a week's pause."
                   " Moscow rejected claims that it is arming the Taliban as groundless.")
    assert other.stance == "disputes"
    # a lead that states the claim in its own voice makes the denial after it a closing one
    stated = stance(None, "Russia is arming the Taliban in the north, a new investigation shows in detail."
                    " Moscow rejected the claim as groundless.")
    assert stated.stance != "disputes"


@pytest.mark.parametrize("title", [
    "Minister says he did not discuss Russian weapons for the Taliban with Lavrov",
    "President says he never raised Russian arms for the Taliban in his calls",
    "Envoy says she didn't ask Moscow about the weapons reaching the Taliban",
])
def test_a_negated_verb_of_telling_negates_the_talk_not_the_claim(title):
    result = stance(title, "Nothing else.")
    assert result.stance == "reports"
    assert any(cue.startswith("negated report") for cue in result.evidence["cues"])
    # the claim's own verb negated is still a denial
    assert stance("Minister says Russia did not arm the Taliban", "Nothing else.").stance == "disputes"


@pytest.mark.parametrize(("language", "title"), [
    ("en", "The senator denied having been informed of Russian weapons for the Taliban"),
    ("it", "Il ministro ha smentito di essere stato informato delle armi russe ai talibani"),
])
def test_a_denial_of_being_told_is_not_a_denial_of_the_claim(language, title):
    result = stance(title, "Nothing else.", language)
    assert result.stance != "disputes"


def test_without_giving_evidence_after_an_attributed_claim_negates_the_evidence_not_the_claim():
    terms = [*TERMS, "providing"]  # the claim's verbs the query matched ("Russia providing weapons")
    result = classify_stance("Minister repeats accusation",
                             "The minister said again that Russia is supplying weapons to the Taliban"
                             " (without providing any evidence).", terms, language="en")
    assert result.stance == "reports"
    assert any(cue.startswith("evidence aside") for cue in result.evidence["cues"])
    # the claim's own verb negated is still a denial
    assert classify_stance("Minister repeats accusation", "The ministry said Russia is not providing weapons"
                           " to the Taliban.", terms, language="en").stance == "disputes"


def test_telling_briefed_and_evidence_are_cue_lists_a_narrative_can_change():
    title = "Minister says he never chatted about Russian weapons for the Taliban"
    assert stance(title, "Nothing else.").stance == "disputes"
    cues = load_cues(override={"en": {"telling": ["chatted"]}})
    result = classify_stance(title, "Nothing else.", TERMS, cues, "en")
    assert result.stance == "reports" and result.evidence["cues"][0].startswith("negated report")
    # with no verbs of telling, "did not discuss" negates the claim again
    cues = load_cues(override={"*": {"telling": {"replace": []}}})
    assert classify_stance("Minister says he did not discuss Russian weapons for the Taliban with Lavrov",
                           "Nothing else.", TERMS, cues, "en").stance == "disputes"
    cues = load_cues(override={"en": {"briefed": {"replace": []}}})
    assert classify_stance("The senator denied having been informed of Russian weapons for the Taliban",
                           "Nothing else.", TERMS, cues, "en").stance == "disputes"


def test_telling_words_come_per_language_and_from_related_languages():
    cues = load_cues()
    assert ("discussed",) in cues["en"].telling and ("discuté",) not in cues["en"].telling
    assert ("informat*",) in cues["ro"].briefed  # Romanian "informat", lent by Italian
    assert ("говорил*",) in cues["uk"].telling and ("доказ*",) in cues["bg"].evidence
    assert ("شواهد",) in cues["fa"].evidence and ("مدرك*",) in cues["fa"].evidence  # folded (ک as ك)


@pytest.mark.parametrize("words", ["[did not say]", "['*proof']", "['weis* .. zurück']"])
def test_telling_briefed_and_evidence_hold_single_words(tmp_path, words):
    path = tmp_path / "stance.yml"
    path.write_text(f"en:\n  telling: {words}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="telling holds single words"):
        load_cues(path)
    with pytest.raises(ConfigError, match="evidence holds single words"):
        load_cues(override={"en": {"evidence": yaml.safe_load(words)}})


def test_a_headline_rebutting_a_rebuttal_frames_the_article_as_a_report():
    title = "No, the Pentagon has not concluded that Russian weapons for the Taliban were a hoax"
    text = ("Critics of the general seized on the hearing to claim that the story of Russia arming the"
            " Taliban was a hoax all along. The Pentagon said its assessment had not changed.")
    result = stance(title, text)
    assert (result.stance, result.evidence["frame"]) == ("reports", "title")
    assert any(cue.startswith("negated: not concluded") for cue in result.evidence["cues"])
    # the rebuttal itself, said outright, still disputes
    assert stance("The Pentagon concluded that Russian weapons for the Taliban were a hoax", text).stance == "disputes"


@pytest.mark.parametrize("title", [
    "General says no evidence of deaths tied to Russian weapons for the Taliban",
    "Commander not convinced Russian weapons for the Taliban led to the losses",
    "No Taliban attacks linked to Russian weapons, envoy says",
])
def test_a_denied_link_from_the_claim_presupposes_it(title):
    result = stance(title, "Nothing else.")
    assert result.stance == "reports"
    assert any(cue.startswith("a link denied") for cue in result.evidence["cues"])
    # the claim itself denied is a denial
    assert stance("General says no evidence of Russian weapons for the Taliban", "Nothing else.").stance == "disputes"


@pytest.mark.parametrize("title", [
    # "denied pay" itself is an English not_denial of config/stance.yml: "wages" is read by the rule
    "Afghan soldiers fighting the Taliban are denied wages for months",
    "Coalition denies wages to Afghan units that fight the Taliban",
])
def test_deny_with_a_thing_withheld_is_no_denial(title):
    result = stance(title, "Nothing else.")
    assert result.stance != "disputes"
    assert any(cue.startswith("withheld") for cue in result.evidence["cues"])
    assert stance(title.replace("wages", "pay"), "Nothing else.").stance != "disputes"


@pytest.mark.parametrize("title", [
    "Moscow denies support to the Taliban",
    "Claims of Russian weapons for the Taliban were denied by Moscow",
    "Moscow denies that Russia is arming the Taliban",
])
def test_deny_with_the_claim_or_its_agent_is_still_a_denial(title):
    assert stance(title, "Nothing else.").stance == "disputes"


@pytest.mark.parametrize(("language", "title"), [
    ("en", "Pentagon says it has no direct evidence of Russian arms for the Taliban"),
    ("ru", "Разведка сообщила об отсутствии прямых доказательств поставок оружия талибам из России"),
])
def test_a_two_word_rebuttal_reads_with_one_word_between(language, title):
    result = stance(title, "Nothing else.", language)
    assert result.stance == "disputes"


def test_an_attribution_that_opens_the_claim_after_a_rebuttal_is_the_claims_not_the_rebuttals():
    result = stance("Weapons and words",
                    "The evidence simply doesn't match the claims that Russia is arming the Taliban. More.")
    assert (result.stance, result.speaker) == ("disputes", "outlet")
    said = stance("Weapons and words", "Russia is not arming the Taliban, the ministry said. More.")
    assert (said.stance, said.speaker) == ("disputes", "official")


def test_a_question_word_takes_the_claim_as_given():
    # guideline rule 2: "Why would Putin risk working with the Taliban?" presupposes the claim
    asked = stance("Why is Russia arming the Taliban?", "The war went on." * 2)
    assert asked.stance == "asserts" and "asks: why" in asked.evidence["cues"]
    polar = stance("Is Russia arming the Taliban? What we know", "The war went on." * 2)
    assert polar.stance == "reports"


def test_a_negation_a_demand_governs_relays_the_claim():
    terms = ["pay", "taliban", "bounties"]
    demanded = classify_stance("Pompeo demanded from Moscow not to pay the Taliban bounties", "", terms, language="en")
    assert demanded.stance == "reports" and any(cue.startswith("demanded") for cue in demanded.evidence["cues"])
    denied = classify_stance("Moscow says it does not pay the Taliban bounties", "", terms, language="en")
    assert denied.stance == "disputes"


def test_a_denial_of_the_claims_that_follow_it_disputes_and_one_in_an_aside_reports():
    terms = ["iran", "taliban", "support"]
    denied = classify_stance("", "TEHRAN (Agency) – Iran's spokesman denied claims that the Taliban enjoys"
                             " support from Iran. The war went on.", terms, language="en")
    assert denied.stance == "disputes"
    aside = classify_stance("", "The report said the accusations, which Iran denied, came as Iran was said to"
                            " support the Taliban. The war went on.", terms, language="en")
    assert aside.stance == "reports"


def test_a_verdict_before_the_headline_colon_is_the_outlets_label():
    result = stance("Propaganda Alert: Russia is arming the Taliban", "The war went on." * 2)
    assert (result.stance, result.speaker) == ("disputes", "outlet")


def test_a_korean_rebuttal_intensified_by_a_negation_is_still_one():
    # negative concord: 전혀 ("at all") before 근거가 없다 ("groundless") does not cancel it
    terms = ["탈레반", "파키스탄", "지원"]
    result = classify_stance("", "파키스탄 정부는 탈레반 지원 주장은 전혀 근거가 없다고 밝혔다. 다음 문장이다.", terms, language="ko")
    assert result.stance == "disputes"
    slander = classify_stance('파, 아프간 "탈레반 지원" 의혹 제기에 "악의적 모함"', "", terms, language="ko")
    assert slander.stance == "disputes"
    # a headline's noun of denial: "denies the report" (기사 부인), not 부인 alone ("wife")
    denied = classify_stance("백악관, '파키스탄 탈레반 지원' 기사 부인", "", terms, language="ko")
    assert denied.stance == "disputes"


def test_a_speaker_closing_a_disputing_headline_after_a_colon_is_the_official():
    result = stance("Pakistan is not arming the Taliban: Khawaja Asif", "The minister spoke in Islamabad. More.")
    assert (result.stance, result.speaker, result.speaker_name) == ("disputes", "official", "Khawaja Asif")


def test_a_headline_ending_in_a_long_unbroken_run_after_a_dash_is_read_at_once():
    # the trailing-source pattern once split a run of letters every way it could (cubic in its
    # length: a 400-letter run took half a minute); scraped titles can end in such runs
    title = "Russia is arming the Taliban - " + "x" * 5000 + "!"
    assert stance(title, "The war went on. " * 3).stance == "asserts"
    assert stance("Russia is arming the Taliban - AP", "").stance == "reports"


def test_denying_having_been_alerted_is_no_denial_of_the_claim():
    # Portuguese and Spanish "nega ter sido alertado", "niega haber sido avisado": a denial of
    # being told, as "denied being briefed" is (twenty-ninth round)
    terms = ["rússia", "russia", "recompensa", "recompensas", "taliban", "talibã"]
    pt = classify_stance("Trump nega ter sido alertado de que a Rússia pagou recompensas ao Talibã", "", terms, language="pt")
    es = classify_stance("Trump niega haber sido avisado de que Rusia pagó recompensas a los talibanes", "", terms,
                         language="es")
    assert "disputes" not in (pt.stance, es.stance)
    assert classify_stance("Moscou nega ter pago recompensas ao Talibã", "", terms, language="pt").stance == "disputes"


def test_a_yes_no_headline_question_is_not_answered_by_a_lead_that_vouches_for_its_source():
    # the headline hedges the claim; "a report reveals that" in the lead does not make it the
    # outlet's own (twenty-ninth round); under a bare headline the same lead endorses
    lead = "A report from Moscow reveals that Russia is arming the Taliban. The talks went on."
    assert stance("Is Russia arming the Taliban?", lead).stance == "reports"
    assert stance("Moscow and the Taliban", lead).stance == "asserts"
