"""A denial of another narrative's accused is not a dispute of this one (analysis.constructions).

Every text here was written for these tests; none is copied from an article.
"""

from narrative_archive.analysis.stance import classify_stance
from narrative_archive.config import Narrative
from narrative_archive.match.reading import actors_of

TARGET = ("target", ("taliban*",))
RUSSIA = Narrative("russia-arming", "Russia arming", "russia* AND taliban*", claim=(
    ("actor", ("russia*", "moscow*", "kremlin*")), ("act", ("arm*", "support*")), TARGET))
IRAN = Narrative("iran-arming", "Iran arming", "iran* AND taliban*", claim=(
    ("actor", ("iran", "iranian", "tehran")), ("act", ("arm*", "weapon*")), TARGET))
PAKISTAN = Narrative("pakistan-backing", "Pakistan backing", "pakistan* AND taliban*", claim=(
    ("actor", ("pakistan", "islamabad")), ("act", ("back*", "arm*")), TARGET))
BOUNTIES = Narrative("bounties", "Bounties", "(russia* OR moscow) AND bount*")  # no claim rule
WEAPONS = Narrative("weapons-left", "Weapons left", "weapons AND left")  # no claim rule
ALL = (RUSSIA, IRAN, PAKISTAN, BOUNTIES, WEAPONS)
TERMS = ["taliban", "weapons", "russia", "arming", "bounties", "russian"]


def stance(narrative, title, text, terms=TERMS):
    return classify_stance(title, text, terms, language="en",
                           actors=actors_of(narrative, ALL))


def test_a_denial_by_another_accused_is_not_a_dispute_of_this_claim():
    text = ("Islamabad rejected as baseless the charge that it sends weapons to the Taliban."
            " Washington has long said Russia is arming the Taliban as well.")
    got = stance(RUSSIA, "Pakistan denies arming the Taliban", text)
    assert got.stance == "reports"
    assert "another's denial" in got.evidence["cues"]
    # read for Pakistan's own narrative the same headline disputes
    assert stance(PAKISTAN, "Pakistan denies arming the Taliban", text).stance == "disputes"


def test_a_denial_naming_this_narratives_accused_still_disputes():
    title = "Moscow denies arming the Taliban, says Iran and Pakistan are to blame"
    assert stance(RUSSIA, title, "The ministry called the reports baseless.").stance == "disputes"


def test_a_denial_naming_no_accused_still_disputes():
    title = "Spokeswoman calls reports of weapons for the Taliban baseless"
    assert stance(RUSSIA, title, "The claims are false, she said.").stance == "disputes"


def test_a_lead_denial_naming_no_one_continues_another_accuseds_denial():
    text = ("Iran's foreign ministry rejected the claim that Tehran sends weapons to the Taliban."
            " Its spokesman called the accusations against the country baseless and false."
            " The US secretary of state said Russia had armed the Taliban in the past.")
    assert stance(RUSSIA, None, text).stance == "reports"
    assert stance(IRAN, None, text).stance == "disputes"


def test_a_narrative_without_a_claim_rule_takes_its_accused_from_the_actors_its_query_names():
    actors = actors_of(BOUNTIES, ALL)
    assert actors is not None and actors.anothers("Iran denies paying the Taliban")
    assert not actors.anothers("Russia denies paying the Taliban")
    # the matched words need not name Russia: the headline names Iran, and no Russian
    got = stance(BOUNTIES, "Taliban deny being paid by Iran to kill US troops",
                 "The Taliban called reports that Iran paid them baseless. Bounties were reported"
                 " last year.", ["taliban", "paid", "kill", "troops", "bounties"])
    assert got.stance == "reports"


def test_no_accused_known_leaves_the_reading_as_it_was():
    # the query names no rule's actor: whose claim a denial answers is not known
    assert actors_of(WEAPONS, ALL) is None
    got = stance(WEAPONS, "Pakistan denies Taliban sold weapons left by the US", "",
                 ["weapons", "left", "taliban"])
    assert got.stance == "disputes"
    # no other narrative configured: nothing to tell apart
    assert actors_of(RUSSIA, (RUSSIA,)) is None


def test_a_colon_source_after_a_place_and_a_comma_reports():
    # the wire headline's "Place, source: claim"
    title = "Afghanistan, media: Russia pagava i talebani per attaccare le truppe"
    got = classify_stance(title, "", ["russia", "talebani"], language="it")
    assert got.stance == "reports"
    assert classify_stance("Afghanistan, Russia arms the Taliban", "", TERMS, language="en").stance == "asserts"


def test_an_endorsement_in_a_clause_an_attribution_opens_is_the_sources():
    terms = ["russia", "taliban", "bounties"]
    title = "Russia paid Taliban bounties"
    text = "According to the paper, US officials consider the transfers proof that Russia paid Taliban bounties."
    assert classify_stance(title, text, terms, language="en").stance == "reports"
    # the outlet's own: the source is the endorsement's subject, no clause between
    text = "A new investigation proves that Russia paid Taliban bounties to kill American soldiers."
    got = classify_stance(title, text, terms, language="en")
    assert got.stance == "asserts" and any(cue.startswith("endorses") for cue in got.evidence["cues"])


def test_a_bare_headline_over_a_caption_and_a_lead_that_credits_the_claim_at_its_end_reports():
    title = "Russia supplies new weapons to the Taliban"
    text = ("Taliban fighters pose in new uniforms in a photo published on Monday. Russia is"
            " flooding the Taliban with weapons to prolong the war, according to Afghan analysts."
            " Rifles and night-vision scopes were seized in Farah. Fighters carried new rifles."
            " Weapons reached the Taliban through the north.")
    assert classify_stance(title, text, TERMS, language="en").stance == "reports"


def test_a_cue_before_the_claims_last_word_in_the_lead_leaves_a_bare_headline_asserting():
    # the hedge governs the test, not the capture of the helicopter
    title = "Taliban fail to fly a captured Black Hawk"
    text = ("Images show what appears to be a Taliban test of a captured Black Hawk helicopter."
            " The aircraft did not take off. Taliban fighters stood around the Black Hawk.")
    got = classify_stance(title, text, ["taliban", "black", "hawk", "captured"], language="en")
    assert got.stance == "asserts"


def test_pending_stances_read_another_accuseds_denial_with_the_actors_given():
    from narrative_archive.analysis.archive import stances_of
    row = (1, RUSSIA.id, '["taliban", "arming", "russia"]', "Pakistan denies arming the Taliban",
           "Washington has long said Russia is arming the Taliban as well.", "en")
    by_id = {narrative.id: narrative for narrative in ALL}
    assert stances_of([row], by_id)[0][2] == "disputes"  # no actors given: read as before
    assert stances_of([row], by_id, actors_of)[0][2] == "reports"


def test_a_source_after_an_equals_sign_ends_a_japanese_wire_headline():
    terms = ["パキスタン", "タリバン", "支援"]
    title = "パキスタンがタリバンを支援=米国務長官"
    assert classify_stance(title, "", terms, language="ja").stance == "reports"
    assert classify_stance("パキスタンがタリバンを支援", "", terms, language="ja").stance == "asserts"
