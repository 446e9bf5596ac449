"""Stance by the article's frame, the thirty-fifth to thirty-ninth rounds: rebuttals worded
as pushing back against an account (German), as evidence not held, a link not proven or
reports found unreliable (Russian), as a story shown to be garbage or charges ridiculed
(English), as a mistranslation (Korean), as malicious allegations (Portuguese), as
intelligence not proven (Italian), as no firm evidence (Japanese), as hitting back at claims
(English), as glaring inconsistencies (Russian), as found unlikely (French), as an official
with no such intelligence (English, Russian) or doubting it (Russian), as hoaxes (English) and
as speculation (Greek); and revelations that
are relays: one whose clause the conditional of rumour hedges (Spanish), one that quotes its
source (Arabic).

Every text here was written for these tests in the shapes real coverage takes; none is
copied from an article.
"""

import pytest

from narrative_archive.analysis.stance import classify_stance

HEADLINES = [
    ("en", ["russian bounty story", "troops"], "That Russian Bounty Story Was Just Shown to Be Garbage",
     "The troops came home. More follows."),
    ("en", ["pakistan", "sheltering", "taliban"], "Pakistan ridicules charges of sheltering Taliban",
     "Officials met on Thursday. More follows."),
    ("ko", ["탈레반", "미군", "무기"], "탈레반 100조 원대 미군 무기 획득? 또 외신 오역",
     "탈레반이 미군 무기를 얻었다는 보도가 이어졌다. 더 있다."),
    ("pt", ["paquistão", "ajudou", "talibã"], "‘Alegações maliciosas’: Paquistão em relatos de que ajudou o Talibã",
     "O governo reuniu-se na quinta. Mais virá."),
    ("it", ["russia", "taglie", "talebani"],
     "Il generale afferma che l'intelligence sulle taglie della Russia ai talebani non è stata dimostrata",
     "Il generale ha parlato ai giornalisti. Altro seguirà."),
    ("ja", ["ロシア", "懸賞金", "米兵"], "米兵殺害にロシア懸賞金疑惑、確かな証拠なし", "会議は月曜に開かれた。首相が演説した。"),
    ("en", ["pakistan", "haqqani", "taliban"], "Pakistan hits back at Haqqani claims",
     "Officials met on Thursday. More follows."),
    ("ru", ["российских", "платежах", "талибану"], "Три нестыковки в истории о российских платежах талибану",
     "Журналисты обсуждают статью. Дальше больше."),
    ("en", ["russia", "taliban", "bounties"], "The Pentagon has not received reports of Russia paying Taliban bounties",
     "The secretary spoke on Thursday. More follows."),
    ("ru", ["россии", "талибами", "сговоре"], "В командовании США усомнились в данных о сговоре России с талибами",
     "Генерал выступил в среду. Дальше больше."),
    ("en", ["russian", "bounties", "taliban"], "Kremlin calls reports of Russian bounties to the Taliban hoaxes",
     "The spokesman spoke on Monday. More follows."),
    ("el", ["ρωσίας", "ταλιμπάν"], "Λαβρόφ: ανήθικες εικασίες για δεσμούς της Ρωσίας με τους Ταλιμπάν",
     "Ο υπουργός μίλησε τη Δευτέρα. Ακολουθούν περισσότερα."),
]


@pytest.mark.parametrize(("language", "terms", "title", "text"), HEADLINES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(HEADLINES)])
def test_a_headline_rebutting_the_claim_disputes(language, terms, title, text):
    result = classify_stance(title, text, terms, language=language)
    assert (result.stance, result.evidence["frame"]) == ("disputes", "title")


LEADS = [
    ("de", ["russland", "taliban", "soldaten"],
     "Der Präsident wehrt sich gegen diese Darstellung. Er sei nie informiert worden. "
     "Russland soll den Taliban Geld für getötete Soldaten gezahlt haben."),
    ("ru", ["россии", "талибами", "сговоре"],
     "Американская сторона не располагает весомыми доказательствами о сговоре России с талибами. "
     "Это сообщил генерал."),
    ("ru", ["россии", "талибами", "сговоре"],
     "Генерал выступил в среду. Он говорил час. Связь России с талибами не доказана."),
    ("ru", ["россия", "талибан", "солдат"],
     "Сообщения о том, что Россия якобы платила «Талибану» за убийство солдат, являются недостоверными. "
     "Об этом заявил представитель движения."),
    ("fr", ["russie", "récompenses", "taliban"],
     "Les services ont jugé peu probable que la Russie ait offert des récompenses aux taliban. "
     "La note date d'avril."),
    ("ru", ["рф", "вознаграждения", "талибан"],
     "Отсутствие донесений разведки о выплатах РФ вознаграждения членам движения Талибан констатировал министр. "
     "Он выступил в среду."),
]


@pytest.mark.parametrize(("language", "terms", "text"), LEADS, ids=[f"{c[0]}-{i}" for i, c in enumerate(LEADS)])
def test_a_rebuttal_in_the_text_disputes(language, terms, text):
    assert classify_stance("", text, terms, language=language).stance == "disputes"


def test_hitting_back_in_a_fight_is_no_denial():
    terms = ["pakistan", "haqqani", "taliban"]
    assert classify_stance("Pakistan hits back at Taliban after border raid",
                           "Pakistan supports the Haqqani network, the report says. More follows.",
                           terms, language="en").stance != "disputes"


def test_pushing_back_against_attacks_is_no_denial():
    terms = ["russland", "taliban", "waffen"]
    text = ("Die Armee wehrt sich gegen Angriffe im Norden. Russland liefert den Taliban Waffen. "
            "Das schrieb die Zeitung.")
    assert classify_stance("", text, terms, language="de").stance != "disputes"


REVELATIONS = [
    ("es", ["rusos", "talibanes", "militares"],
     "La noticia cayó como una bomba. El diario reveló que los servicios rusos habrían ofrecido "
     "dinero a los talibanes para matar militares.",
     "La noticia cayó como una bomba. El diario reveló que los servicios rusos ofrecieron "
     "dinero a los talibanes para matar militares."),
    ("ar", ["طالبان", "إيران", "تدريب"],
     "كشفت صحيفة التايمز اليوم نقلا عن مسؤول في طالبان أن مقاتلي الحركة يتلقون تدريب في إيران. "
     "وقالت الصحيفة إن ذلك بدأ في الربيع.",
     "كشفت صحيفة التايمز اليوم عن أن مقاتلي طالبان يتلقون تدريب في إيران. وبدأ ذلك في الربيع."),
]


@pytest.mark.parametrize(("language", "terms", "relayed", "vouched"), REVELATIONS, ids=[c[0] for c in REVELATIONS])
def test_a_hedged_or_quoting_revelation_is_a_report_and_a_bare_one_vouches(language, terms, relayed, vouched):
    assert classify_stance("", relayed, terms, language=language).stance == "reports"
    assert classify_stance("", vouched, terms, language=language).stance == "asserts"
