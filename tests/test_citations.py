"""Citations: attributions per language resolved to outlets, and links to archived outlets."""

from pathlib import Path

import pytest
import yaml

from narrative_archive.analysis.citations import (
    Citation,
    extract_citations,
    load_patterns,
    name_key,
    outlet_index,
)
from narrative_archive.config import ConfigError, load_config

SENTENCES = yaml.safe_load((Path(__file__).parent / "files" / "citations" / "sentences.yml").read_text(encoding="utf-8"))["items"]
OUTLETS = [
    ("ap", "Associated Press", ["apnews.com"]),
    ("reuters", "Reuters", ["reuters.com"]),
    ("washington-post", "The Washington Post", ["washingtonpost.com"]),
    ("tass", "TASS (English)", ["tass.com", "tass.ru"]),
    ("dw", "DW (Deutsche Welle)", ["dw.com"]),
    ("al-jazeera", "Al Jazeera English", ["aljazeera.com"]),
]


@pytest.fixture(scope="module")
def index():
    return outlet_index(OUTLETS)


def sources(citations):
    return [(c.source_name, c.outlet_id) for c in citations if c.kind == "attribution"]


@pytest.mark.parametrize("language,text,expected", [
    ("en", "Russia has delivered arms to the Taliban, according to the Associated Press.", [("the Associated Press", "ap")]),
    ("en", "A Taliban spokesman told Reuters the group had received no weapons.", [("Reuters", "reuters")]),
    ("en", "The Washington Post reported on Tuesday that officials met.", [("The Washington Post", "washington-post")]),
    ("en", "Citing Bloomberg, the agency said the talks had stalled.", [("Bloomberg", None)]),
    ("en", "Citing two officials, Bloomberg said the talks had stalled.", []),
    ("en", "The general said in a report to Congress that Moscow was involved.", []),
    ("ru", "По данным ТАСС, переговоры пройдут в Москве.", [("ТАСС", "tass")]),
    ("ru", "Как сообщает агентство Reuters, грузовики пересекли границу.", [("Reuters", "reuters")]),
    ("ru", "Кабулов рассказал «Коммерсанту», что контакты продолжаются.", [("«Коммерсанту»", None)]),
    ("uk", "За даними Reuters, вантажівки перетнули кордон.", [("Reuters", "reuters")]),
    ("ar", "وفقا لوكالة رويترز، عبرت الشاحنات الحدود.", [("رويترز", "reuters")]),
    ("ar", "بحسب قناة الجزيرة، فإن الفيديو صور في أوكرانيا.", [("الجزيرة", "al-jazeera")]),
    ("fa", "به گزارش خبرگزاری رویترز، کامیون‌ها از مرز عبور کردند.", [("رویترز", "reuters")]),
    ("fa", "به گزارش تاس، وزارت خارجه این اتهام را رد کرد.", [("تاس", "tass")]),
])
def test_attribution_forms(index, language, text, expected):
    citations = extract_citations(text, [], language, index)
    assert sources(citations) == expected
    assert all(c.sentence == text and c.target_url is None for c in citations)


def test_generic_said_counts_only_for_a_known_outlet(index):
    assert sources(extract_citations("Reuters said the convoy turned back.", [], "en", index)) == [("Reuters", "reuters")]
    assert sources(extract_citations("Nicholson said the convoy turned back.", [], "en", index)) == []


def test_an_outlet_name_with_a_parenthesis_resolves_both_ways(index):
    assert index.by_name("TASS") == "tass" and index.by_name("Deutsche Welle") == "dw"
    assert index.by_name("the Washington Post") == index.by_name("Washington Post") == "washington-post"
    assert name_key("«The Guardian».") == "guardian"


def test_the_attribution_is_found_in_the_sentence_that_carries_it(index):
    text = "The talks went on for hours. Moscow denied the claims, Al Jazeera reported. Nothing was agreed."
    [citation] = extract_citations(text, [], "en", index)
    assert citation == Citation("attribution", None, "Al Jazeera", "al-jazeera", "Moscow denied the claims, Al Jazeera reported.")


def test_links_are_canonical_and_resolved_by_domain(index):
    links = [
        "https://www.Reuters.com/world/asia/story-1?utm_source=x#top",
        "https://www.reuters.com/world/asia/story-1",
        "https://russian.tass.ru/politika/123",
        "https://example.org/blog/post",
        "not a url at all",
        "http://[broken",
    ]
    citations = extract_citations(None, links, "en", index)
    assert [(c.kind, c.target_url, c.outlet_id) for c in citations] == [
        ("link", "https://www.reuters.com/world/asia/story-1", "reuters"),
        ("link", "https://russian.tass.ru/politika/123", "tass"),
        ("link", "https://example.org/blog/post", None),
    ]
    assert citations[0].source_name == "Reuters" and citations[2].source_name == "example.org"


def test_unknown_language_tries_every_language(index):
    assert sources(extract_citations("По данным ТАСС, встреча состоится.", [], None, index)) == [("ТАСС", "tass")]


def test_the_shipped_outlets_and_labelled_sentences_mostly_agree():
    index = outlet_index(load_config().outlets)
    carrying = [item for item in SENTENCES if item["sources"]]
    hits = 0
    for item in carrying:
        found = {c.outlet_id or name_key(c.source_name) for c in extract_citations(item["text"], [], item["language"], index)}
        expected = {s if s in index.display else name_key(s) for s in item["sources"]}
        hits += expected <= found
    assert hits / len(carrying) >= 0.9


def test_a_bad_pattern_file_names_the_file(tmp_path):
    path = tmp_path / "citations.yml"
    path.write_text(yaml.safe_dump({"patterns": {"en": ["according to"]}}))
    with pytest.raises(ConfigError, match=r"citations.yml: patterns.en: each pattern is a string with one \{source\}"):
        load_patterns(path)
    path.write_text(yaml.safe_dump({"patterns": {"en": ["according (to {source}"]}}))
    with pytest.raises(ConfigError, match="bad pattern"):
        load_patterns(path)


def test_a_huge_text_is_bounded(index):
    text = "According to Reuters, the trucks crossed. " * 150_000
    citations = extract_citations(text, [], "en", index)
    assert len(citations) == 1  # one distinct sentence citing one source


def test_a_text_that_is_not_a_string_is_a_clear_error(index):
    with pytest.raises(TypeError, match="text must be a str"):
        extract_citations(["According to Reuters"], [], "en", index)


def test_an_outlet_naming_itself_is_not_citing_itself(index):
    """'told Reuters' on a Reuters page is Reuters' own reporting, not a citation of Reuters."""
    text = "A Taliban spokesman told Reuters the group had received no weapons, TASS reported."
    assert sources(extract_citations(text, [], "en", index)) == [("Reuters", "reuters"),
                                                                  ("TASS", "tass")]
    assert sources(extract_citations(text, [], "en", index, own_outlet="reuters")) == [
        ("TASS", "tass")]
