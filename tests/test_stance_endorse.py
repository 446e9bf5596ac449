"""Stance, the seventh round (issue 19): the outlet vouching for the source it cites.

Rules kept only when they held on dev, test and the holdout. Every text here was written for
these tests in the shapes real coverage takes; none is copied from an article.
"""

from narrative_archive.analysis.stance import classify_stance

TERMS = ["russia", "russian", "taliban", "iran", "pakistan", "weapons", "arming", "supplying",
         "bounties", "талибам", "оружия", "россия", "waffen", "taliban", "armes", "talibans",
         "armas", "talibanes"]


def stance(title, text, language="en"):
    return classify_stance(title, text, TERMS, language=language)


# -- a factive verb or judgement over a source is the outlet's own voice -------------------

def test_a_source_that_has_confirmed_the_claim_is_endorsed():
    result = stance("A news channel has confirmed that Russia is supplying weapons to the Taliban",
                    "The Taliban's new rifles were probably sent by Moscow, officials said. More.")
    assert result.stance == "asserts"
    assert result.speaker == "outlet"
    assert result.evidence["frame"] == "title"
    assert "endorses: has confirmed that" in result.evidence["cues"]


def test_without_the_factive_verb_the_same_headline_is_a_relay():
    assert stance("A news channel says Russia is supplying weapons to the Taliban", "").stance == "reports"


def test_caught_and_credible_reporting_endorse_in_the_lead():
    text = "Iran was caught supplying weapons to the Taliban, according to officials. More follows here."
    assert stance("", text).stance == "asserts"
    text = "Credible reporting indicates that Russia paid bounties to the Taliban, the paper said. More."
    assert stance("", text).stance == "asserts"


def test_an_endorsement_in_the_lead_outweighs_a_bare_headline_relayed_below():
    text = ("It is now a stated fact that Pakistan gave the Taliban sanctuary after 2001, the report says. "
            "Officials said so too.")
    assert stance("Pakistan and the Taliban", text).stance == "asserts"


def test_a_question_or_a_condition_vouches_for_nothing():
    assert stance("Does the video prove that the Taliban get weapons from Russia?", "").stance == "reports"
    text = "The minister threatened a price if reports are confirmed that Russia paid the Taliban bounties. More."
    assert stance("", text).stance == "reports"


def test_a_denial_still_wins_over_an_endorsement_word():
    assert stance("Moscow denies proof that Russia is arming the Taliban", "").stance == "disputes"


def test_endorsements_in_other_languages():
    assert stance("Видеодоказательства поставок оружия талибам опубликованы", "", "ru").stance == "asserts"
    assert stance("Ein Bericht belegt, dass Iran Waffen an die Taliban liefert", "", "de").stance == "asserts"
    assert stance("Un rapport prouve que l'Iran livre des armes aux talibans", "", "fr").stance == "asserts"
    assert stance("Un informe demuestra que Irán entrega armas a los talibanes", "", "es").stance == "asserts"
    assert stance("Ein Bericht sagt, Iran liefere Waffen an die Taliban", "", "de").stance == "reports"
    # Urdu "the disclosure of" (انکشاف) and Arabic "the disclosure that" (الكشف عن): the guideline's
    # own example of a factive noun
    urdu = classify_stance("پاکستان میں امریکی اسلحے کے استعمال کا انکشاف", "", ["امریکی", "اسلحے"], language="ur")
    assert urdu.stance == "asserts"
    arabic = classify_stance("", "تحولت العلاقة بعد الكشف عن تقديم طهران دعما عسكريا لحركة طالبان. المزيد هنا الآن.",
                             ["طهران", "طالبان"], language="ar")
    assert arabic.stance == "asserts"


def test_revealed_that_and_admitted_that_are_factive():
    # the twenty-fourth round: labellers read "has revealed that" and "admitted that" as the
    # outlet taking the source's disclosure for fact (guideline rule 2), and so do the rules
    revealed = stance("", "An investigation has revealed that Russia is supplying weapons to the Taliban. More.")
    assert (revealed.stance, revealed.speaker) == ("asserts", "outlet")
    admitted = stance("", "The adviser has for the first time admitted that Pakistan hosts Taliban leaders. More.")
    assert admitted.stance == "asserts"
    # within a source's words it stays the source's: "X said, ... admitted that"
    said = stance("", "The police chief said, captured fighters admitted that Iran is arming the Taliban. More.")
    assert said.stance == "reports"
