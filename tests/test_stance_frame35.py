"""Stance by the article's frame, the thirty-fifth round: rebuttals worded as pushing back
against an account (German), as evidence not held or a link not proven (Russian), and a story
shown to be garbage (English); a revelation whose clause the conditional of rumour hedges
(Spanish); a Korean fact-check calling the report a mistranslation.

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

from narrative_archive.analysis.stance import classify_stance


def test_pushing_back_against_the_account_in_the_lead_disputes():
    terms = ["russland", "taliban", "soldaten"]
    text = ("Der Präsident wehrt sich gegen diese Darstellung. Er sei nie informiert worden. "
            "Russland soll den Taliban Geld für getötete Soldaten gezahlt haben.")
    result = classify_stance("", text, terms, language="de")
    assert (result.stance, result.evidence["frame"]) == ("disputes", "lead")


def test_pushing_back_against_attacks_is_no_denial():
    terms = ["russland", "taliban", "waffen"]
    text = ("Die Armee wehrt sich gegen Angriffe im Norden. Russland liefert den Taliban Waffen. "
            "Das schrieb die Zeitung.")
    assert classify_stance("", text, terms, language="de").stance != "disputes"


def test_evidence_not_held_and_a_link_not_proven_dispute_in_russian():
    terms = ["россии", "талибами", "сговоре"]
    lead = ("Американская сторона не располагает весомыми доказательствами о сговоре России с талибами. "
            "Это сообщил генерал.")
    assert classify_stance("", lead, terms, language="ru").stance == "disputes"
    body = "Генерал выступил в среду. Он говорил час. Связь России с талибами не доказана."
    assert classify_stance("", body, terms, language="ru").stance == "disputes"


def test_a_story_shown_to_be_garbage_in_the_headline_disputes():
    terms = ["russian bounty story", "troops"]
    title = "That Russian Bounty Story Was Just Shown to Be Garbage"
    result = classify_stance(title, "The troops came home. More follows.", terms, language="en")
    assert (result.stance, result.evidence["frame"]) == ("disputes", "title")


def test_a_revelation_hedged_by_the_conditional_of_rumour_is_a_report():
    terms = ["rusos", "talibanes", "militares"]
    lead = ("La noticia cayó como una bomba. El diario reveló que los servicios rusos habrían ofrecido "
            "dinero a los talibanes para matar militares.")
    assert classify_stance("", lead, terms, language="es").stance == "reports"
    vouched = ("La noticia cayó como una bomba. El diario reveló que los servicios rusos ofrecieron "
               "dinero a los talibanes para matar militares.")
    assert classify_stance("", vouched, terms, language="es").stance == "asserts"


def test_a_korean_fact_check_calling_the_report_a_mistranslation_disputes():
    terms = ["탈레반", "미군", "무기"]
    title = "탈레반 100조 원대 미군 무기 획득? 또 외신 오역"
    result = classify_stance(title, "탈레반이 미군 무기를 얻었다는 보도가 이어졌다. 더 있다.", terms, language="ko")
    assert (result.stance, result.evidence["frame"]) == ("disputes", "title")
