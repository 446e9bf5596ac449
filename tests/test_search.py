"""The search spider: narrative queries as search queries, GDELT and news-search RSS answers,
then a crawl that stores only the results a narrative matches, wherever they are."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest

from narrative_archive.config import Narrative, load_narratives
from narrative_archive.match.narratives import check_query
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.sources import gdelt
from narrative_archive.sources.query import Term, _Parser, web_query
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.search import search_feed_url, search_queries, unwrap
from narrative_archive.spiders.wordforms import (
    _languages,
    _lists,
    fold,
    narrative_words,
    word_forms,
)
from tests.fixture_server import FixtureServer, query, run_crawl, write_config

FILES = Path(__file__).parent / "files" / "search"


# --- FTS5 query → search-engine query -----------------------------------------------------


@pytest.mark.parametrize("fts5, web", [
    ("taliban", "taliban"),
    ("taliban*", "taliban"),
    ("russia AND taliban", "russia taliban"),
    ("russia taliban", "russia taliban"),
    ("russia OR moscow", "(russia OR moscow)"),
    ('"left behind" AND weapon*', '"left behind" weapon'),
    ("NEAR(russia* arm taliban*, 20)", "russia arm taliban"),
    ("NEAR(russia* arm taliban*, 20) OR NEAR(moscow weapon* taliban*, 20)",
     "taliban (russia OR moscow) (arm OR weapon)"),
    ("(russia OR moscow) AND taliban NOT football", "(russia OR moscow) taliban"),
    ("title: taliban AND russia", "taliban russia"),
    ('"weapon* to the taliban"', '"weapon to the taliban"'),
    # "u s" is too short for a search engine: its whole OR-clause goes, never just the term
    ('taliban AND ("u s" weapon* OR american weapon*)', "taliban weapon"),
    ("ghost + soldier*", '"ghost soldier"'),
    ("талиб* AND (росси* OR москв*)", "талиб (росси OR москв)"),
])
def test_web_query(fts5, web):
    assert web_query(fts5) == web


def test_web_query_of_every_shipped_narrative():
    """Each default narrative turns into a non-empty query, in any language variant."""
    for narrative in load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", check_query):
        for fts5 in (narrative.query, *(q for _, q in narrative.queries)):
            web = web_query(fts5)
            assert web and "*" not in web and "NEAR" not in web, (narrative.id, web)


# --- prefix terms → whole words ----------------------------------------------------------


def _english(stem):
    return word_forms(stem, "en")


@pytest.mark.parametrize("fts5, present, absent", [
    ("supplie*", {"supplies", "supplied"}, {"supplie"}),
    ("seiz*", {"seized", "seize"}, {"seiz"}),
    ("servic*", {"service", "services"}, {"servic"}),
    ("weapon*", {"weapon", "weapons"}, set()),
    # inside a string FTS5 reads * as a separator, but the author meant a prefix
    ('"smuggl* to the taliban"', {'"smuggled to the taliban"', '"smuggling to the taliban"'},
     {'"smuggl to the taliban"'}),
    ("ghost + soldier*", {'"ghost soldier"', '"ghost soldiers"'}, set()),
])
def test_prefix_terms_are_sent_as_whole_words(fts5, present, absent):
    web = web_query(fts5, _english)
    alternatives = set(web.strip("()").split(" OR "))
    assert present <= alternatives and not absent & alternatives, web


@pytest.mark.parametrize("stem, language, word, stub", [
    ("москв", "ru", "москва", "москв"),
    ("талиб", "ru", "талибов", "талиб"),
    ("збро", "uk", "зброю", "збро"),
    ("odul", "tr", "ödül", "odul"),  # queries are written without diacritics; the word is not
])
def test_stems_in_other_languages_become_words(stem, language, word, stub):
    forms = word_forms(stem, language)
    assert word in forms and stub not in forms, forms


def test_whole_words_written_as_prefixes_are_kept():
    assert word_forms("طالبان", "ar")[0] == "طالبان"
    assert word_forms("russia", "en")[:2] == ["russia", "russian"]


def test_the_narratives_own_words_come_first():
    assert word_forms("талиб", "ru", known=["талибам"])[0] == "талибам"
    # a language with no frequency list: the examples' words, else the stem as written
    assert word_forms("qarx", "yo", known=["qarxana"]) == ["qarxana"]
    assert word_forms("qarx", "yo") == ["qarx"]


def _wire_words(web):
    return set(web.replace('"', " ").replace("(", " ").replace(")", " ").split()) - {"OR"}


def _stems(fts5):
    found, stack = set(), [_Parser(fts5).parse()]
    while stack:
        node = stack.pop()
        if isinstance(node, Term):
            words = node.text.split()
            found.update(words[i] for i in node.stems)
        else:
            stack.extend(c for child in node[1:] for c in (child if isinstance(child, list)
                                                           else [child]))
    return found


def test_no_truncated_stem_reaches_the_wire_for_any_shipped_narrative():
    """Every prefix term of every shipped query, in every language: its stem is sent only
    when it is a word (the narrative's examples use it, or it is about as common as its
    commonest completion, or nothing completes it) and never the known stubs."""
    stubs = {"seiz", "servic", "supplie", "suppli", "smuggl", "funnel", "москв", "росси",
             "талиб", "оружи", "вооружа", "таліб", "збро", "озброю", "waffe", "bewaffn",
             "talib", "harbo", "sanctuar", "captur", "inflat", "nonexist", "polic"}
    stubs -= {"funnel", "waffe"}  # words in their own right
    searched = 0
    for narrative in load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", check_query):
        sent = dict(search_queries(narrative))
        for language, fts5 in ((None, narrative.query), *narrative.queries):
            wire = _wire_words(sent[language])
            assert not wire & stubs, (narrative.id, language, wire & stubs)
            known = set(narrative_words(narrative, language or "en"))
            for stem in _stems(fts5) & wire:
                lists = [x for x in map(_lists, _languages(language)) if x]
                key = fold(stem)  # the lists key words by folded spelling (mühimmat: muhimmat)
                zipf = max((x.zipf.get(key, 0) for x in lists), default=0)
                best = max((x.zipf[k] for x in lists for k in x.completions(key)), default=0)
                assert stem in known or zipf >= best - 1 or not best, (
                    narrative.id, language, stem, zipf, best)
                searched += 1
    assert searched > 100


def test_every_language_variant_is_searched():
    narrative = Narrative(id="n", title="N", query="NEAR(russia* weapon* taliban*, 20)",
                          queries=(("ru", "талиб* AND росси*"), ("ar", "طالبان* AND روسيا*"),
                                   ("fa", '"u s"')))  # nothing searchable: skipped
    queries = search_queries(narrative)
    assert [language for language, _ in queries] == [None, "ru", "ar"]
    assert "талибов" in queries[1][1] and "россия" in queries[1][1]


@pytest.mark.parametrize("bad", ["(taliban", "taliban OR", "NEAR(a b", ""])
def test_web_query_rejects_broken_queries(bad):
    with pytest.raises(ValueError):
        web_query(bad)


# --- endpoints ----------------------------------------------------------------------------


def test_gdelt_url_parameters():
    url = gdelt.artlist_url("http://api.gdelt.test/api/v2/doc/doc", "taliban (russia OR moscow)",
                            since=datetime(2024, 5, 1, tzinfo=UTC), until=None, max_records=75)
    params = {k: v[0] for k, v in parse_qs(url.split("?", 1)[1]).items()}
    assert params == {"query": "taliban (russia OR moscow)", "mode": "ArtList", "format": "json",
                      "maxrecords": "75", "sort": "DateDesc", "startdatetime": "20240501000000"}


def test_gdelt_narrows_the_english_query_to_languages_it_knows():
    """GDELT searches English translations; sourcelang: takes names from its list, which has
    no Pashto, Uzbek, Tajik or Kyrgyz: those variants get no request of their own."""
    asked = gdelt.requests([["taliban"], ["russia", "moscow"]],
                           [None, "ru", "fa", "ps", "uz", "tg", "ky", "yo"])
    assert asked == [(None, "taliban (russia OR moscow)"),
                     ("ru", "taliban (russia OR moscow) sourcelang:russian"),
                     ("fa", "taliban (russia OR moscow) sourcelang:persian")]


def test_gdelt_quotes_keywords_it_would_refuse_unquoted():
    assert gdelt.requests([["u.s", "al-qaeda", "taliban"]]) == [
        (None, '("u.s" OR "al-qaeda" OR taliban)')]


def test_search_feed_templates_may_name_the_language():
    url = search_feed_url("http://news.search.test/rss?q={query}&lang={lang}", "талибов россия",
                          since=None, until=None, language="ru")
    assert parse_qs(url.split("?", 1)[1]) == {"q": ["талибов россия"], "lang": ["ru"]}
    assert search_feed_url("http://n.test/?q={query}", "a b", since=None, until=None,
                           language="ru") == "http://n.test/?q=a+b"


def test_parse_gdelt_artlist():
    links = gdelt.parse_artlist((FILES / "gdelt_artlist.json").read_bytes())
    assert links == [
        ("https://www.example.com/2024/05/20/russia-taliban-weapons",
         "Russia accused of arming the Taliban"),
        ("https://www.example.ru/news/12345", "Россия опровергла поставки оружия"),
    ]
    assert gdelt.parse_artlist((FILES / "gdelt_empty.json").read_bytes()) == []


@pytest.mark.parametrize("name, message", [
    ("gdelt_rate_limited.txt", "GDELT answered: Please limit requests to one every 5 seconds"),
    ("gdelt_error.txt", "GDELT answered: The specified phrase is too short."),
])
def test_parse_gdelt_errors_say_what_gdelt_said(name, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        gdelt.parse_artlist((FILES / name).read_bytes())


def test_news_search_rss_links_are_unwrapped():
    feed = parse_feed((FILES / "bing_news.rss").read_bytes(), "https://www.bing.com/news/search")
    assert [unwrap(link.url) for link in feed.links] == [
        "https://www.example.com/world/russia-denies", "https://news.example.org/direct"]
    assert feed.links[0].published_at == "2024-05-21T06:00:00Z"


# --- end to end ---------------------------------------------------------------------------

ENDPOINTS = {
    "NARRATIVE_ARCHIVE_GDELT_URL": "http://api.gdelt.test/api/v2/doc/doc",
    "NARRATIVE_ARCHIVE_SEARCH_FEEDS": "http://news.search.test/rss.xml?q={query}&since={since}",
    "NARRATIVE_ARCHIVE_CLOCK_SPEED": "60",  # GDELT's 5 s pace on a clock 60 times faster
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    config = write_config(tmp / "config")
    with FixtureServer() as server:
        result = run_crawl(server, ["search"], tmp / "archive.db", config,
                           "--narrative", "russia-arming-taliban", settings=ENDPOINTS)
        yield SimpleNamespace(result=result, db_path=tmp / "archive.db", server=server)


def test_search_succeeds(searched):
    assert searched.result.returncode == 0, searched.result.stderr[-3000:]
    assert "DeprecationWarning" not in searched.result.stderr


def test_endpoints_are_asked_for_the_narrative(searched):
    asked = [(host, q) for host, path, q in searched.server.queries if path != "/robots.txt"]
    gdelt_asked = [q for host, q in asked if host == "api.gdelt.test"]
    rss = [q for host, q in asked if host == "news.search.test"]
    # GDELT: the English query, for every language and narrowed to each variant's language
    # (ru, ar); news search: the main query and each variant in its own words
    assert len(gdelt_asked) == 3 and len(rss) == 3
    params = [{k: v[0] for k, v in parse_qs(q).items()} for q in gdelt_asked]
    by_language = {p["query"].rpartition("sourcelang:")[2] if "sourcelang:" in p["query"]
                   else None: p["query"] for p in params}
    main, russian, arabic = (by_language[k] for k in (None, "russian", "arabic"))
    assert main.startswith("(russia OR russian OR russians) taliban (arm OR weapon OR weapons")
    assert "supplies" in main and "supplie " not in main and "sourcelang" not in main
    assert russian == f"{main} sourcelang:russian" and arabic == f"{main} sourcelang:arabic"
    assert all(p["mode"] == "ArtList" and p["format"] == "json" for p in params)
    words = sorted(parse_qs(q)["q"][0] for q in rss)
    assert main in words and any("талибов" in q for q in words)
    assert any("طالبان" in q for q in words)
    assert parse_qs(rss[0])["since"][0] <= datetime.now(UTC).strftime("%Y-%m-%d")


def test_only_matching_results_are_stored(searched):
    rows = query(searched.db_path, "SELECT canonical_url, outlet_id, via FROM articles ORDER BY id")
    assert {(r["canonical_url"], r["outlet_id"]) for r in rows} == {
        ("http://blog.unknown.test/2024/05/russia-arms-taliban", "blog.unknown.test"),
        ("http://mirror.unknown.test/world/russia-taliban-weapons", "mirror.unknown.test"),
        ("http://dawn.test/news/1830001", "dawn"),  # a configured outlet keeps its id
    }
    assert {r["via"] for r in rows} == {"search"}
    # Fetched, but no narrative matched: not stored, and no outlet row for its domain.
    assert searched.server.fetched("sports.unknown.test", "/cricket/final") == 1
    mentions = query(searched.db_path, "SELECT count(*) AS n FROM mentions")[0]["n"]
    assert mentions == 3


def test_unknown_domains_get_outlet_rows(searched):
    rows = query(searched.db_path, "SELECT id, name, domains, kind, configured FROM outlets"
                                   " WHERE configured = 0 ORDER BY id")
    assert rows == [
        {"id": "blog.unknown.test", "name": "blog.unknown.test", "domains": '["blog.unknown.test"]',
         "kind": None, "configured": 0},
        {"id": "mirror.unknown.test", "name": "mirror.unknown.test",
         "domains": '["mirror.unknown.test"]', "kind": None, "configured": 0},
    ]


def test_search_run_counts(searched):
    [run] = query(searched.db_path, "SELECT * FROM crawl_runs")
    assert (run["spider"], run["status"], run["pages"], run["new_articles"], run["mentions"],
            run["errors"]) == ("search", "ok", 4, 3, 3, 0)


def test_search_never_asks_for_articles_older_than_the_narrative(tmp_path):
    config = write_config(tmp_path / "config")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    narratives = (config / "narratives.yml").read_text(encoding="utf-8")
    (config / "narratives.yml").write_text(
        narratives.replace("- id: russia-arming-taliban\n",
                           f"- id: russia-arming-taliban\n  since: {today}\n", 1),
        encoding="utf-8")
    with FixtureServer() as server:
        result = run_crawl(server, ["search"], tmp_path / "archive.db", config,
                           "--narrative", "russia-arming-taliban", "--since", "30d",
                           settings=ENDPOINTS)
        assert result.returncode in (0, 1), result.stderr[-2000:]
        rss = [q for host, path, q in server.queries
               if host == "news.search.test" and path != "/robots.txt"]
    assert parse_qs(rss[0]).get("since") == [today], rss


def test_results_that_matched_nothing_are_not_refetched_at_once(tmp_path):
    config = write_config(tmp_path / "config")
    with FixtureServer() as server:
        for _ in range(2):
            result = run_crawl(server, ["search"], tmp_path / "archive.db", config,
                               "--narrative", "russia-arming-taliban", settings=ENDPOINTS)
            assert result.returncode == 0, result.stderr[-2000:]
        assert server.fetched("sports.unknown.test", "/cricket/final") == 1
    assert query(tmp_path / "archive.db",
                 "SELECT count(*) AS n FROM articles WHERE url LIKE '%cricket%'")[0]["n"] == 0
