"""Stance per mention: claim, attributed report, denial, question, negated denial; bad input."""

import pytest
import yaml

from narrative_archive.analysis.stance import classify_stance, load_cues
from narrative_archive.config import ConfigError

TERMS = {
    "en": ["russia", "moscow", "kremlin", "taliban", "arming", "arms", "weapons"],
    "ru": ["россия", "москва", "кремль", "талибов", "талибам", "оружие", "вооружает"],
    "uk": ["росія", "кремль", "талібів", "талібам", "зброю", "озброює"],
    "ar": ["روسيا", "موسكو", "الكرملين", "طالبان", "تسليح", "تسلح", "أسلحة"],
    "fa": ["روسیه", "مسکو", "کرملین", "طالبان", "سلاح", "مسلح"],
}

FORMS = {
    "en": {
        "claim": ("asserts", "Russia is arming the Taliban."),
        "report": ("reports", "US general says Russia is arming the Taliban"),
        "denial": ("disputes", "Moscow rejects claims it is arming the Taliban as groundless"),
        "question": ("reports", "Is Russia arming the Taliban?"),
        "negated denial": ("reports", "The Kremlin did not deny arming the Taliban."),
    },
    "ru": {
        "claim": ("asserts", "Россия вооружает талибов."),
        "report": ("reports", "По данным разведки, Россия поставляет оружие талибам."),
        "denial": ("disputes", "Кремль опроверг поставки оружия талибам"),
        "question": ("reports", "Вооружает ли Россия талибов?"),
        "negated denial": ("reports", "Кремль не опроверг поставки оружия талибам."),
    },
    "uk": {
        "claim": ("asserts", "Росія озброює талібів."),
        "report": ("reports", "За даними розвідки, Росія постачає зброю талібам."),
        "denial": ("disputes", "Кремль заперечує постачання зброї талібам"),
        "question": ("reports", "Чи озброює Росія талібів?"),
        "negated denial": ("reports", "Кремль не заперечив, що Росія озброює талібів."),
    },
    "ar": {
        "claim": ("asserts", "روسيا تسلح حركة طالبان."),
        "report": ("reports", "وفقا لمسؤولين أمريكيين، روسيا تسلح طالبان."),
        "denial": ("disputes", "روسيا تنفي تسليح طالبان"),
        "question": ("reports", "هل تسلح روسيا حركة طالبان؟"),
        "negated denial": ("reports", "الكرملين لم ينف تسليح طالبان."),
    },
    "fa": {
        "claim": ("asserts", "روسیه طالبان را مسلح می‌کند."),
        "report": ("reports", "به گفته مقامات آمریکایی، روسیه طالبان را مسلح می‌کند."),
        "denial": ("disputes", "روسیه مسلح کردن طالبان را تکذیب کرد"),
        "question": ("reports", "آیا روسیه طالبان را مسلح می‌کند؟"),
        "negated denial": ("reports", "کرملین مسلح کردن طالبان را تکذیب نکرد."),
    },
}


@pytest.mark.parametrize(
    "language,form", [(language, form) for language, forms in FORMS.items() for form in forms]
)
def test_forms_per_language(language, form):
    expected, text = FORMS[language][form]
    stance = classify_stance(None, text, TERMS[language], language=language)
    assert stance.stance == expected, stance
    assert stance.evidence["sentence"] == text
    assert 0 < stance.confidence <= 1


def test_evidence_names_the_cues_that_decided():
    stance = classify_stance(
        "Moscow denies arming the Taliban", "The talks went on.", ["moscow", "taliban", "arming"]
    )
    assert stance.stance == "disputes"
    assert stance.evidence == {"sentence": "Moscow denies arming the Taliban", "cues": ["denies"], "frame": "title"}
    assert (stance.speaker, stance.speaker_name) == ("official", "Moscow")


def test_the_headline_outweighs_a_body_sentence():
    text = "Russia has been arming the Taliban for years. Officials in Kabul are worried."
    stance = classify_stance("Kremlin rejects claims it arms the Taliban", text, TERMS["en"])
    assert stance.stance == "disputes"


def test_terms_given_as_the_json_stored_in_mentions():
    stance = classify_stance(None, "Россия вооружает талибов.", '["россия", "талибов"]')
    assert (stance.stance, stance.language) == ("asserts", "ru")


def test_language_is_guessed_from_the_script_when_unknown():
    assert classify_stance(None, "روسیه تسلیح طالبان را تکذیب کرد", ["روسیه"], language="xx").language == "fa"
    assert classify_stance(None, "Росія заперечує, що озброює талібів", ["росія"]).language == "uk"


def test_a_narrative_override_extends_the_cue_lists():
    text = "Moscow waved away the Taliban arms story."
    assert classify_stance(None, text, TERMS["en"]).stance == "asserts"
    cues = load_cues(override={"en": {"denial": ["waved away"]}})
    stance = classify_stance(None, text, TERMS["en"], cues, "en")
    assert (stance.stance, stance.evidence["cues"]) == ("disputes", ["waved away"])


def test_an_override_can_replace_a_list_for_every_language():
    cues = load_cues(override={"*": {"attribution": {"replace": ["whispered"]}}})
    assert classify_stance(None, "Officials say Russia arms the Taliban.", TERMS["en"], cues).stance == "asserts"
    assert classify_stance(None, "Russia arms the Taliban, he whispered.", TERMS["en"], cues).stance == "reports"


def test_a_broken_cue_file_names_the_file_and_language(tmp_path):
    path = tmp_path / "stance.yml"
    path.write_text(yaml.safe_dump({"en": {"denial": "denies"}}))
    with pytest.raises(ConfigError, match=r"stance.yml: en: denial must be a list"):
        load_cues(path)
    path.write_text(yaml.safe_dump({"en": {"denials": ["denies"]}}))
    with pytest.raises(ConfigError, match="unknown cue list 'denials'"):
        load_cues(path)


def test_no_sentence_boundaries_reads_a_bounded_window():
    text = " ".join(["word"] * 5000) + " Moscow denies arming the Taliban " + " ".join(["word"] * 5000)
    stance = classify_stance(None, text, TERMS["en"])
    assert stance.stance == "disputes"
    assert len(stance.evidence["sentence"]) <= 1001


def test_mixed_scripts_in_one_sentence():
    text = "Захарова: claims that Russia is arming the Taliban are fake — это фейк, وفقا للخارجية."
    assert classify_stance(None, text, TERMS["en"] + TERMS["ru"], language="en").stance == "disputes"


def test_term_only_in_the_title():
    stance = classify_stance("Is Russia arming the Taliban?", "Analysts disagree about what happened.", TERMS["en"])
    assert stance.stance == "reports"
    assert stance.evidence["sentence"] == "Is Russia arming the Taliban?"


def test_a_quote_that_never_closes():
    text = 'The commander said: "We have watched Russia arming the Taliban for months and'
    assert classify_stance(None, text, TERMS["en"]).stance == "reports"


def test_a_quoted_name_is_not_a_quotation():
    assert classify_stance(None, "Россия вооружает движение «Талибан».", ["россия", "талибан"]).stance == "asserts"


def test_five_megabyte_text_is_read_around_the_first_matches():
    filler = "The weather in Kabul was mild and the markets were busy. " * 100
    text = (filler + "Russia denies arming the Taliban. ") * 900
    assert len(text) > 5_000_000
    stance = classify_stance("Weather", text, TERMS["en"])
    assert stance.stance == "disputes"


def test_no_matched_term_reads_the_lede_with_a_reason():
    stance = classify_stance("Talks in Doha", "Delegates met for a second day. Nothing was agreed.", TERMS["en"])
    assert stance.stance == "asserts"
    assert "no matched term" in stance.reason
    assert stance.confidence <= 0.5


@pytest.mark.parametrize("title,text", [(None, None), ("", "   "), (None, "")])
def test_nothing_to_read_is_null_with_a_reason(title, text):
    stance = classify_stance(title, text, TERMS["en"])
    assert stance.stance is None and stance.reason == "no title or text to read"


def test_a_text_that_is_not_a_string_is_a_clear_error():
    with pytest.raises(TypeError, match="text must be a str"):
        classify_stance(None, b"Russia arms the Taliban", TERMS["en"])
