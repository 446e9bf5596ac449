"""The published archive through Datasette's in-process client.

One archive with known rows (tests/datasette_fixtures.py) served exactly as
`narrative-archive serve` serves it: datasette/metadata.yml, settings.json,
templates, plugins and static files.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import sqlite3
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.config import Narrative
from narrative_archive.match import narratives
from narrative_archive.publish import serve
from narrative_archive.times import periods_between
from tests.datasette_fixtures import (
    ARTICLES,
    MENTIONS,
    NARRATIVES,
    NEAR_SEARCH,
    NEAR_SEARCH_HITS,
    OUTLETS,
    XSS_TITLE,
    Client,
    build_archive,
    make_datasette,
)
from tests.test_diff import long_versions

XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
RA, RB, IA = "russia-arming-taliban", "russia-taliban-bounties", "iran-arming-taliban"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("published") / "archive.db"
    return path, build_archive(path)


@pytest.fixture(scope="module")
def ids(archive):
    return archive[1]


@pytest.fixture(scope="module")
def client(archive):
    return Client(make_datasette(archive[0]))


def keys(ids, article_ids):
    by_id = {value: key for key, value in ids.items()}
    return [by_id[article_id] for article_id in article_ids]


def load_plugin():
    path = serve.DATASETTE_DIR / "plugins" / "narrative_archive_site.py"
    spec = importlib.util.spec_from_file_location("narrative_archive_site_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- metadata, settings, tables ------------------------------------------------


def test_instance_metadata(client):
    html = client.get("/").text
    assert "<title>Narrative archive" in html
    for text in ("Archive data CC BY 4.0", "The news outlets in the outlets table",
                 "narrative-archive", "Russia is arming the Taliban"):
        assert text in html
    metadata = client.json("/-/metadata.json")
    assert metadata["license_url"].startswith("https://creativecommons.org/")
    assert {"title", "license", "source", "about", "description_html"} <= set(metadata)


def test_settings_are_safe_for_a_public_instance(client):
    settings = client.json("/-/settings.json")
    assert 0 < settings["sql_time_limit_ms"] <= 1000
    assert 100 <= settings["max_returned_rows"] <= 5000
    assert settings["allow_csv_stream"] is True
    assert settings["allow_download"] is True
    assert settings["suggest_facets"] is False  # docs/performance.md: 5-9 req/s with them
    assert 0 < settings["default_cache_ttl"] <= 300
    assert "max-age=60" in client.get("/archive/articles").headers["cache-control"]


def test_table_and_column_descriptions(client):
    html = client.get("/archive/articles").text
    assert "One row per article (canonical URL)" in html
    assert "Publication date the page states" in html
    assert "NEAR(a b c, 20)" in html
    assert "Passage around the matched words" in client.get("/archive/mentions").text


def test_internal_tables_hidden(client):
    tables = {t["name"]: t["hidden"] for t in client.json("/archive.json")["tables"]}
    for name in ("articles_fts", "articles_fts_data", "articles_fts_idx", "articles_fts_docsize",
                 "articles_fts_config", "crawl_errors"):
        assert tables[name] is True, name
    for name in ("articles", "outlets", "narratives", "mentions", "article_versions",
                 "narrative_versions", "crawl_runs"):
        assert tables[name] is False, name


def test_articles_sorted_newest_first_with_outlet_labels(client, ids):
    data = client.json("/archive/articles.json?_shape=objects&_labels=on")
    published = [row["published_at"] for row in data["rows"]]
    dated = [p for p in published if p]
    assert dated == sorted(dated, reverse=True)
    assert published[0] == ARTICLES["xss"][1] and published[-1] is None  # undated last
    first = data["rows"][0]
    assert first["outlet_id"] == {"value": "tass", "label": "TASS"}


# --- search ----------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    (NEAR_SEARCH, NEAR_SEARCH_HITS),
    ('"arming the taliban"', {"nicholson", "both", "bounties", "official"}),  # arms
    ("title: weapons", {"mattis", "iran"}),
    ("taliban* NOT russia*", {"iran"}),
    ("талиб*", {"denial-ru"}),
])
def test_search_uses_raw_fts5_syntax(client, ids, query, expected):
    rows = client.rows(f"/archive/articles.json?_search={query}&_size=max")
    assert set(keys(ids, [row["id"] for row in rows])) == expected


def test_search_on_mentions_view(client, ids):
    rows = client.rows(f"/archive/mention_articles.json?_search={NEAR_SEARCH}"
                       f"&narrative_id={RA}")
    assert set(keys(ids, [row["article_id"] for row in rows])) == NEAR_SEARCH_HITS


def test_invalid_search_is_an_error_not_a_crash(client):
    # NEAR(russia is forgiven (closed); a lone NOT cannot be searched for, and says why
    assert client.get("/archive/articles.json?_search=NEAR(russia").status_code == 200
    response = client.get("/archive/articles.json?_search=NOT russia")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "is not understood" in error and "NOT needs a word before it" in error


# --- facets ------------------------------------------------------------------------


def facet_counts(data, name):
    return {item["value"]: item["count"] for item in data["facet_results"][name]["results"]}


def test_default_facets(client):
    # Articles facet on request only (a million rows would be counted on every page).
    assert client.json("/archive/articles.json")["facet_results"] == {}
    articles = client.json("/archive/articles.json?_facet=outlet_id&_facet=language")
    assert facet_counts(articles, "outlet_id") == {"reuters": 4, "tass": 4, "voa": 2, "tolo": 2}
    labels = {i["value"]: i["label"] for i in articles["facet_results"]["outlet_id"]["results"]}
    assert labels["voa"] == "Voice of America"
    assert facet_counts(articles, "language") == {"en": 11, "ru": 1}

    mentions = client.json("/archive/mention_articles.json")
    assert facet_counts(mentions, "narrative_id") == {
        name: len(items) for name, items in MENTIONS.items()}
    assert facet_counts(mentions, "country") == {"GB": 4, "RU": 3, "US": 2, "AF": 3}
    assert facet_counts(mentions, "outlet")["TOLOnews"] == 3
    assert facet_counts(mentions, "language") == {"en": 11, "ru": 1}


def test_facet_filter(client, ids):
    rows = client.rows(f"/archive/mention_articles.json?narrative_id={RB}&country=RU")
    assert keys(ids, [row["article_id"] for row in rows]) == ["xss"]


# --- canned queries ----------------------------------------------------------------


def test_no_writable_canned_query():
    queries = serve.load_metadata()["databases"]["archive"]["queries"]
    assert len(queries) >= 8
    for name, query in queries.items():
        assert not query.get("write"), name
        assert not re.search(r"\b(insert|update|delete|drop|alter|create|attach|pragma)\b",
                             re.sub(r"'[^']*'", "", query["sql"]), re.I), name


def test_timeline(client):
    monthly = client.rows(f"/archive/timeline.json?narrative={RA}&by=month")
    with_mentions = [(r["period"], r["articles"], r["outlets"], r["cumulative_articles"])
                     for r in monthly if r["articles"]]
    assert with_mentions == [
        ("2017-03", 4, 3, 4), ("2017-04", 1, 1, 5), ("2017-05", 1, 1, 6),
        ("2018-01", 1, 1, 7), ("2020-06", 1, 1, 8)]
    # every month from the first to the last, an empty one as 0 (none left out)
    assert [r["period"] for r in monthly] == periods_between("2017-03", "2020-06", "month")
    assert monthly[3] == {"narrative": RA, "period": "2017-06", "articles": 0, "stories": 0,
                          "outlets": 0, "cumulative_articles": 6}
    weekly = client.rows(f"/archive/timeline.json?narrative={RA}&by=week&_size=max")
    assert [(r["period"], r["articles"]) for r in weekly[:3]] == [
        ("2017-03-20", 3), ("2017-03-27", 1), ("2017-04-03", 0)]  # weeks start on Monday
    daily = client.rows(f"/archive/timeline.json?narrative={RB}")  # by defaults to day
    assert [(r["period"], r["articles"]) for r in daily] == [("2020-06-27", 1),
                                                             ("2020-06-28", 1)]
    everything = client.rows("/archive/timeline.json?by=month")
    assert {r["narrative"] for r in everything} == set(MENTIONS)


def test_first_appearance(client, ids):
    rows = client.rows(f"/archive/first_appearance.json?narrative={RA}")
    assert [(r["pickup_order"], r["outlet"], r["days_after_first"]) for r in rows] == [
        (1, "reuters", 0), (2, "tass", 1), (3, "voa", 7), (4, "tolo", 293)]
    assert keys(ids, [r["article_id"] for r in rows]) == ["nicholson", "denial", "hearing",
                                                          "both"]


def test_outlets_ranked(client):
    rows = client.rows(f"/archive/outlets_ranked.json?narrative={RA}")
    assert [(r["rank"], r["outlet"], r["articles"]) for r in rows] == [
        (1, "reuters", 3), (2, "tass", 2), (2, "voa", 2), (4, "tolo", 1)]
    everything = client.rows("/archive/outlets_ranked.json")
    assert [(r["outlet"], r["articles"], r["narratives"]) for r in everything] == [
        ("reuters", 3, 2), ("tass", 3, 2), ("tolo", 2, 2), ("voa", 2, 1)]


def test_new_mentions_since(client, ids):
    rows = client.rows("/archive/new_mentions_since.json?since=2020-01-01")
    assert [(key, r["narrative"]) for key, r in
            zip(keys(ids, [r["article_id"] for r in rows]), rows, strict=True)] == [
        ("iran", IA), ("xss", RB), ("bounties", RA), ("bounties", RB)]
    assert rows[0]["date_source"] == "first_seen"
    only = client.rows(f"/archive/new_mentions_since.json?since=2020-06-28&narrative={RB}")
    assert keys(ids, [r["article_id"] for r in only]) == ["xss"]


def test_changed_articles(client, ids):
    rows = client.rows("/archive/changed_articles.json")
    assert keys(ids, [r["article_id"] for r in rows]) == ["mattis"]
    assert (rows[0]["versions"], rows[0]["texts"], rows[0]["titles"]) == (2, 2, 1)
    assert rows[0]["narratives"] == RA
    assert client.rows(f"/archive/changed_articles.json?narrative={RB}") == []


def test_attention_share(client):
    rows = client.rows(f"/archive/attention_share.json?narrative={RA}")
    assert [(r["outlet"], r["mentions"], r["articles"], r["percent"]) for r in rows] == [
        ("voa", 2, 2, 100.0), ("reuters", 3, 4, 75.0), ("tass", 2, 4, 50.0),
        ("tolo", 1, 2, 50.0)]
    since = client.rows(f"/archive/attention_share.json?narrative={RA}&since=2019-01-01")
    assert {r["outlet"]: (r["mentions"], r["articles"]) for r in since} == {
        "reuters": (1, 2), "tass": (0, 2), "tolo": (0, 1)}


def test_co_occurrence(client):
    pairs = client.rows("/archive/co_occurrence.json")
    assert [(r["narrative"], r["with_narrative"], r["articles_with_both"], r["jaccard"])
            for r in pairs] == [(IA, RA, 1, 0.111), (RA, RB, 1, 0.111)]
    partners = client.rows(f"/archive/co_occurrence.json?narrative={RA}")
    assert [(r["with_narrative"], r["percent_of_narrative"]) for r in partners] == [
        (IA, 12.5), (RB, 12.5)]


def test_search_snippets(client, ids):
    rows = client.rows(f"/archive/search_snippets.json?q={NEAR_SEARCH}")
    assert set(keys(ids, [r["article_id"] for r in rows])) == NEAR_SEARCH_HITS
    assert all("<mark>" in r["snippet"] for r in rows)
    html = client.get(f"/archive/search_snippets?q={NEAR_SEARCH}").text
    assert "<mark>arming</mark>" in html  # highlighted, not escaped


def test_search_snippets_survive_the_fts5_snippet_bug(tmp_path):
    # docs/narratives.md: snippet() fails with "database disk image is malformed" on these rows.
    path = tmp_path / "archive.db"
    db = store.open_db(path)
    store.save_outlets(db, OUTLETS)
    texts = {"Officials on weapons": "officials said Russian weapons were smuggled to the Taliban",
             "Moscow and the Taliban": "Moscow weapons Taliban Russian."}
    for number, (title, text) in enumerate(texts.items()):
        store.save_article(db, {"url": f"https://tass.com/{number}", "title": title,
                                "text": text, "content_hash": str(number)}, "tass",
                           via="feed", fetched_at="2021-01-01T00:00:00Z")
    db.close()
    query = 'NEAR("russian weapons" taliban) OR NEAR(moscow taliban)'
    rows = Client(make_datasette(path)).rows(
        "/archive/search_snippets.json?" + urlencode({"q": query}))
    assert {row["title"]: row["snippet"] for row in rows} == {
        "Officials on weapons":
            "officials said <mark>Russian weapons</mark> were smuggled to the <mark>Taliban</mark>",
        "Moscow and the Taliban": "<mark>Moscow</mark> weapons <mark>Taliban</mark> Russian.",
    }


def test_marked_passage():
    plugin = load_plugin()
    words = [f"w{i}" for i in range(100)]
    words[50], words[52] = "<mark>Russia", "Taliban</mark>"
    passage = plugin.marked_passage(" ".join(words), 8)
    assert passage.startswith("… ") and passage.endswith(" …")
    assert "<mark>Russia w51 Taliban</mark>" in passage and len(passage.split()) == 10
    # A window that starts inside a highlight reopens it, one that ends inside closes it.
    assert plugin.marked_passage("a <mark>b c d</mark> e", 2) == "… <mark>b c</mark> …"
    assert plugin.marked_passage("no highlight here", 8) is None
    assert plugin.marked_passage(None, 8) is None


# --- the Atom feed ----------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def test_atom_feed_per_narrative(client):
    response = client.get(f"/archive/new_mentions_feed.atom?narrative={RB}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<script>" not in response.text
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert sorted(titles) == sorted([f"TASS: {XSS_TITLE}", "Reuters: " + ARTICLES["bounties"][3]])
    xss = entries[titles.index(f"TASS: {XSS_TITLE}")]
    assert xss.find(f"{ATOM}link").get("href") == "https://tass.com/xss"
    content = xss.findtext(f"{ATOM}content")  # HTML, once unescaped from XML
    assert "<script" not in content
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in content or \
        "&lt;script&gt;alert('x')&lt;/script&gt;" in content
    assert "<strong>bounty</strong>" in content
    assert "Russian bounties on US and coalition troops" in content


def test_atom_feed_of_every_narrative_and_of_none_yet(client, tmp_path):
    feed = ET.fromstring(client.get("/archive/new_mentions_feed.atom").content)
    assert len(feed.findall(f"{ATOM}entry")) == sum(len(v) for v in MENTIONS.values())
    # a narrative the archive does not have: 404, as its CSV export answers
    unknown = client.get("/archive/new_mentions_feed.atom?narrative=pakistan-backing-taliban")
    assert unknown.status_code == 404
    # one it has, with no mention yet: a feed to subscribe to, saying so
    path = tmp_path / "archive.db"
    build_archive(path)
    db = store.open_db(path)
    narratives.save_narratives(db, [*NARRATIVES, Narrative(
        id="pakistan-backing-taliban", title="Pakistan backs the Taliban",
        query="pakistan* AND safe haven*")])
    db.close()
    empty = Client(make_datasette(path)).get(
        "/archive/new_mentions_feed.atom?narrative=pakistan-backing-taliban")
    assert empty.status_code == 200
    entries = ET.fromstring(empty.content).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "No mentions yet of “Pakistan backs the Taliban”"]


# --- the article page ---------------------------------------------------------------------


def test_article_page(client, ids):
    html = client.get(f"/archive/articles/{ids['mattis']}").text
    assert '<h1 class="article-title">Mattis warns Russia over weapons for Taliban</h1>' in html
    assert ">Voice of America</a>" in html and "state-affiliated" in html
    for text in ("2017-04-24T18:30:00Z", "2017-04-24T19:00:00Z", "2017-04-25T07:00:00Z",
                 '<a href="https://www.voanews.com/mattis" rel="nofollow noopener noreferrer">',
                 "Narratives mentioned (1)", "Russia is arming the Taliban",
                 "<mark>Russia</mark>", "Versions (2)", "changed 1 time",
                 "<ins>Taliban, in violation of international law.</ins>",
                 "<del>Taliban.</del>"):
        assert text in html, text


def test_article_page_without_published_date_or_mentions(client, ids):
    html = client.get(f"/archive/articles/{ids['iran']}").text
    assert "not stated on the page" in html
    html = client.get(f"/archive/articles/{ids['weather']}").text
    assert "None of the tracked narratives matches this article." in html
    assert client.get("/archive/articles/9999").status_code == 404


def test_article_page_with_two_narratives(client, ids):
    html = client.get(f"/archive/articles/{ids['both']}").text
    assert "Narratives mentioned (2)" in html
    assert html.index("Iran is arming the Taliban") < html.index("Russia is arming the Taliban")


def test_archived_copies_on_the_article_page_and_as_a_facet(tmp_path):
    path = tmp_path / "archive.db"
    live_ids = build_archive(path)
    db = store.open_db(path)
    text = "Russia is supplying weapons to the Taliban, a US general told senators."
    wayback_url = ("https://web.archive.org/web/20171103000000/"
                   "https://tolonews.com/russia-arms?a=1&b=<b>x</b>")
    copies = {  # key: (outlet, url, archive)
        "wayback": ("tolo", "https://tolonews.com/russia-arms?a=1&b=<b>x</b>",
                    {"source": "wayback", "archived_at": "2017-11-03T00:00:00Z",
                     "url": wayback_url}),
        "commoncrawl": ("reuters", "https://www.reuters.com/russia-arms",
                        {"source": "commoncrawl", "archived_at": "2017-07-22T03:04:05Z",
                         "url": "https://data.commoncrawl.org/crawl-data/CC-MAIN-2017-30/"
                                "part-00001.warc.gz#offset=0&length=900"}),
    }
    ids = {}
    for key, (outlet, url, archive) in copies.items():
        ids[key], _ = store.save_article(
            db, {"url": url, "title": f"Archived {key}", "text": text, "content_hash": key,
                 "language": "en"}, outlet, via="archive",
            fetched_at="2026-01-05T00:00:00Z", archive=archive)
        narratives.match_article(db, ids[key], NARRATIVES)
    db.close()
    client = Client(make_datasette(path))

    html = client.get(f"/archive/articles/{ids['wayback']}").text
    assert ('archived copy, captured <time datetime="2017-11-03T00:00:00Z">2017-11-03T00:00:00Z'
            "</time> by the Wayback Machine") in html
    escaped = ("https://web.archive.org/web/20171103000000/"
               "https://tolonews.com/russia-arms?a=1&amp;b=&lt;b&gt;x&lt;/b&gt;")
    assert f'<a href="{escaped}" rel="nofollow noopener noreferrer">{escaped}</a>' in html
    assert "<b>x</b>" not in html
    assert "placed on timelines by its capture" in html
    html = client.get(f"/archive/articles/{ids['commoncrawl']}").text
    assert "2017-07-22T03:04:05Z</time> by Common Crawl" in html
    assert "part-00001.warc.gz#offset=0&amp;length=900" in html
    live = client.get(f"/archive/articles/{live_ids['mattis']}").text
    assert "article-archive" not in live and "Archived copy</dt>" not in live

    articles = client.json("/archive/articles.json?_facet=via")
    assert facet_counts(articles, "via") == {"feed": len(ARTICLES), "archive": 2}
    mentions = client.json("/archive/mention_articles.json?via=archive")
    assert facet_counts(mentions, "via") == {"archive": 2}
    dated = client.rows("/archive/mention_articles.json?via=archive&_sort=sorted_at")
    assert [(r["dated_at"], r["date_source"], r["archive_source"]) for r in dated] == [
        ("2017-07-22T03:04:05Z", "archived", "commoncrawl"),
        ("2017-11-03T00:00:00Z", "archived", "wayback")]
    html = client.get("/archive/backfill_captures").text
    assert "Every capture a web archive listed for a backfill" in html


def test_other_tables_keep_the_default_row_page(client, ids):
    html = client.get("/archive/outlets/tass").text
    assert "article-title" not in html and "TASS" in html


# --- scraped text is escaped everywhere -----------------------------------------------


@pytest.mark.parametrize("path", [
    "/archive/articles",
    "/archive/articles?_search=kremlin",
    "/archive/articles/{xss}",
    "/archive/mentions",
    "/archive/mention_articles",
    "/archive/article_versions",
    "/archive/new_mentions_since?since=2020-01-01",
    "/archive/search_snippets?q=kremlin",
    "/archive/first_appearance?narrative=russia-taliban-bounties",
])
def test_script_in_title_and_text_is_escaped(client, ids, path):
    html = client.get(path.format(xss=ids["xss"])).text
    assert XSS_ESCAPED in html, path
    assert "<script>alert(" not in html, path


def test_snippets_keep_only_their_mark_tags(client, ids):
    html = client.get(f"/archive/mentions?article_id={ids['xss']}").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<mark>Russia</mark>" in html and "&lt;mark&gt;" not in html


def test_snippet_html_and_url_filters():
    plugin = load_plugin()
    snippet = plugin.snippet_html(
        "<mark>Russia</mark> <b onclick=x>bold</b> &amp; <MARK>up</MARK> <mark class=x>")
    assert str(snippet) == ("<mark>Russia</mark> &lt;b onclick=x&gt;bold&lt;/b&gt; &amp;amp; "
                            "&lt;MARK&gt;up&lt;/MARK&gt; &lt;mark class=x&gt;")
    assert str(plugin.snippet_html(None)) == ""
    assert plugin.http_url("https://example.com/a") == "https://example.com/a"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil",
                None, 3):
        assert plugin.http_url(bad) is None


def test_article_page_diffs_long_versions_off_the_event_loop(tmp_path, monkeypatch):
    import asyncio

    from narrative_archive.publish import diff

    path = tmp_path / "archive.db"
    ids = build_archive(path)
    old, new = long_versions()
    db = store.open_db(path)
    for text, fetched_at in ((old, "2021-01-01T00:00:00Z"), (new, "2021-01-02T00:00:00Z")):
        store.save_article(db, {"url": "https://tass.com/long", "title": "Long read",
                                "text": text, "content_hash": str(hash(text))}, "tass",
                           via="feed", fetched_at=fetched_at)
    db.close()
    article_id = max(ids.values()) + 1
    on_loop = []
    original = diff.word_diff

    def recording_word_diff(old_text, new_text):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return original(old_text, new_text)

    monkeypatch.setattr(diff, "word_diff", recording_word_diff)
    html = Client(make_datasette(path)).get(f"/archive/articles/{article_id}").text
    assert '<h1 class="article-title">Long read</h1>' in html
    assert "<del>and</del> <ins>edit30</ins>" in html
    assert "more changed words not shown" in html
    assert on_loop == [False]


# --- the dashboard -------------------------------------------------------------------------


def test_dashboard_page(client):
    response = client.get("/-/dashboards/narratives")
    assert response.status_code == 200
    html = response.text
    for slug in ("articles", "mentions", "outlets", "first-mention", "timeline", "top-outlets",
                 "latest"):
        assert f'id="chart-{slug}"' in html
    for narrative in MENTIONS:
        assert f'<option value="{narrative}"' in html
    # The safe renderers load after the plugin's, and nothing comes from another host.
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts.index("/static/dashboards-safe.js") == \
        scripts.index("/-/static-plugins/datasette_dashboards/dashboards.js") + 1
    for url in scripts + re.findall(r'<link[^>]*href="([^"]+)"', html):
        assert url.startswith("/"), url
    assert not [url for url in scripts if "leaflet" in url]
    assert XSS_TITLE not in html


def test_single_chart_page_uses_the_safe_renderers_too(client):
    html = client.get("/-/dashboards/narratives/latest").text
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts[-1] == "/static/dashboards-safe.js"
    assert "dashboards.js" in scripts[-2]


def test_dashboard_static_files_served(client):
    js = client.get("/static/dashboards-safe.js")
    assert js.status_code == 200 and "function renderTableChart" in js.text
    assert "innerHTML" not in re.sub(r"/\*.*?\*/", "", js.text, flags=re.S)
    assert client.get("/static/narrative-archive.css").status_code == 200
    vega = client.get("/-/static-plugins/datasette_dashboards/vega-lite.min.js")
    assert vega.status_code == 200


def dashboard_charts():
    dashboard = serve.load_dashboards()["narratives"]
    return dashboard["charts"]


@pytest.mark.parametrize("filters", [{}, {"narrative": RA},
                                     {"since": "2020-01-01", "until": "2020-12-31"}])
def test_dashboard_chart_queries(client, filters):
    from datasette_dashboards import replace_opts_in_query

    results = {}
    for slug, chart in dashboard_charts().items():
        sql = replace_opts_in_query(chart["query"], filters)
        response = client.get("/archive.json", params={"sql": sql, "_shape": "objects",
                                                       **filters})
        assert response.status_code == 200, (slug, response.text)
        results[slug] = response.json()["rows"]
    mentions = {name: len(items) for name, items in MENTIONS.items()}
    if not filters:
        assert results["articles"] == [{"n": len(ARTICLES)}]
        assert sum(row["articles"] for row in results["timeline"]) == sum(mentions.values())
        assert results["first-mention"] == [{"day": "2017-03-23"}]
        assert results["latest"][0]["title"] == "Iran denies sending weapons"
        assert results["latest"][0]["article_path"].startswith("archive/articles/")
    elif "narrative" in filters:
        assert results["mentions"] == [{"n": mentions[RA]}]
        assert results["outlets"] == [{"n": 4}]
        assert results["top-outlets"][0] == {"outlet": "Reuters", "kind": "wire", "articles": 3}
    else:
        assert results["mentions"] == [{"n": 2}]  # bounties, xss (2020); iran is 2021
        assert {row["narrative"] for row in results["timeline"]} == {
            "Russia is arming the Taliban", "Russian bounties on US and coalition troops"}


# --- read-only, limits, export ---------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("POST", "/-/create"),
    ("POST", "/archive/-/create"),
    ("POST", "/archive/articles/-/insert"),
    ("POST", "/archive/articles/1/-/update"),
    ("POST", "/archive/articles/1/-/delete"),
    ("POST", "/archive/new_mentions_since"),
    ("POST", "/-/messages"),
    ("PUT", "/archive/articles/1"),
    ("DELETE", "/archive/articles/1"),
    ("PATCH", "/archive/articles"),
])
def test_write_requests_are_refused(client, method, path):
    import asyncio

    response = asyncio.run(client.datasette.client.request(method, path, json={"row": {}}))
    assert response.status_code == 405
    assert "read-only" in response.text


def test_sql_cannot_write(client, archive):
    for sql in ("delete from articles", "update articles set title = 'x'",
                "insert into outlets (id, name) values ('x', 'x')", "drop table articles",
                "select 1; delete from articles"):
        response = client.get("/archive.json", params={"sql": sql})
        assert response.status_code == 400, sql
    assert sqlite3.connect(archive[0]).execute("select count(*) from articles").fetchone()[0] \
        == len(ARTICLES)


def test_internal_database_is_private(client):
    assert client.get("/_internal").status_code == 403


def test_no_write_or_upload_plugins(client):
    # /-/plugins.json is off on the public instance (test_admission.py): ask Datasette itself
    names = [plugin["name"] for plugin in client.datasette._plugins()]
    assert "narrative_archive_site.py" in names
    assert not [n for n in names if re.search(r"write|insert|upload|edit|import|auth", n)]


def test_long_query_is_cut_off(client):
    sql = ("with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000)"
           " select count(*) from n")
    response = client.get("/archive.json", params={"sql": sql})
    assert response.status_code == 400
    assert "time limit" in response.json()["error"]


def sql_error(client, sql):
    response = client.get("/archive.json", params={"sql": sql})
    assert response.status_code == 400, (sql, response.text[:300])
    return response.json()["error"]


# Datasette turns on sqlite3 callback tracebacks: a refused printf() field is also logged.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_one_value_cannot_take_the_servers_memory(client):
    # 50 MB: more than any article; before the limit this came back as a 50 MB string.
    for sql in ("select length(printf('%.*c', 50000000, 'x'))",
                "select printf('%.*c', 900000000, 'x')",
                "select length(zeroblob(900000000))",
                "select printf('%900000000d', 1)", "select format('%*c', -900000000, 'x')",
                "select length(group_concat(printf('%.*c', 1000000, 'x'))) from "
                "(with recursive n(i) as (select 1 union all select i + 1 from n where i < 100)"
                " select i from n)"):
        assert "string or blob too big" in sql_error(client, sql), sql
    # Everything legitimate still fits: the longest article, and its highlighted text.
    rows = client.rows("/archive.json?sql=select+max(length(text))+as+n+from+articles")
    assert rows[0]["n"] > 0


def test_sql_text_length_is_limited(client):
    assert "too large" in sql_error(client, "select 1" + " " * 55_000)


def test_printf_still_formats(client):
    sql = ("select printf('%05d|%.2f|%-4s|%q|%%|%c', 42, 3.14159, 'ab', 'it''s', 'xyz') as a,"
           " format('%s-%s', 'x', null) as b, printf('%.*s', 3, 'abcdef') as c")
    rows = client.rows("/archive.json?" + urlencode({"sql": sql}))
    assert rows == [{"a": "00042|3.14|ab  |it''s|%|x", "b": "x-", "c": "abc"}]


@pytest.mark.parametrize("sql", [
    "select fts3_tokenizer('simple')",
    "select hex(FTS3_TOKENIZER('porter'))",
    "select fts3_tokenizer('x', zeroblob(8))",
])
def test_fts3_tokenizer_is_refused(client, sql):
    assert "not authorized" in sql_error(client, sql)


def test_the_servers_file_path_is_not_disclosed(client, archive):
    path = str(archive[0])
    names = [d["name"] for d in client.json("/-/databases.json")]
    assert names == ["archive"]
    for url in ("/-/databases.json", "/-/databases", "/archive.json", "/archive", "/",
                "/.json", "/-/settings.json", "/-/metadata.json"):  # /-/versions: 404
        response = client.get(url)
        assert response.status_code == 200, url
        assert path not in response.text and archive[0].name not in response.text, url
    for sql in ("select * from pragma_database_list", "select file from pragma_database_list()",
                "select group_concat(file) as file from PRAGMA_DATABASE_LIST"):
        rows = client.rows("/archive.json?" + urlencode({"sql": sql}))
        assert rows and all(not row["file"] for row in rows), sql
    assert path not in client.get("/archive.json", params={
        "sql": "select * from pragma_database_list"}).text


def test_csv_streams_every_row(client):
    response = client.get("/archive/articles.csv?_stream=on&_size=max")
    assert response.status_code == 200
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(ARTICLES)


def test_readme_says_which_exports_stream_every_row(archive):
    small = Client(make_datasette(archive[0], max_returned_rows=3, default_page_size=2))

    def csv_rows(path):
        import csv
        import io

        response = small.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        return list(csv.DictReader(io.StringIO(response.text)))

    # _size under this small max_returned_rows (articles pages hold 25 rows)
    assert len(csv_rows("/archive/articles.csv?_stream=on&_size=2")) == len(ARTICLES)
    assert len(csv_rows("/archive/mention_articles.csv?_stream=on")) == sum(
        len(hits) for hits in MENTIONS.values())
    # Canned queries and ?sql= stop at max_returned_rows, _stream or not.
    assert len(csv_rows("/archive/new_mentions_since.csv?since=2000-01-01&narrative="
                        "&_stream=on")) == 3
    assert len(csv_rows("/archive.csv?sql=select+id+from+articles&_stream=on")) == 3
    docs = (serve.DATASETTE_DIR.parent / "docs" / "publishing.md").read_text()
    claims = [" ".join(p.split()) for p in docs.split("\n\n") if "_stream=on" in p]
    assert claims, "docs/publishing.md no longer says how to export every row"
    for claim in claims:
        assert "tables and views" in claim.lower() and "stop at 1,000 rows" in claim, claim


def test_titles_link_to_the_article_page(client, ids):
    html = client.get(f"/archive/mention_articles?narrative_id={RB}").text
    assert f'<a href="/archive/articles/{ids["bounties"]}">Russia offered bounties' in html
    html = client.get("/archive/changed_articles").text
    assert f'<a href="/archive/articles/{ids["mattis"]}">{ids["mattis"]}</a>' in html


def test_robots_txt(client):
    text = client.get("/robots.txt").text
    assert "Disallow: /archive" in text


def test_any_file_name_is_published_as_archive(tmp_path):
    path = tmp_path / "news-2021.db"
    build_archive(path)
    other = Client(make_datasette(path))
    assert [d["name"] for d in other.json("/-/databases.json")] == ["archive"]
    assert other.rows("/archive/changed_articles.json")[0]["title"].startswith("Mattis")


# --- serve --------------------------------------------------------------------------------


def test_datasette_args(archive):
    args = serve.datasette_args(archive[0], "0.0.0.0", 9000,
                                settings={"sql_time_limit_ms": 500, "base_url": "/x/"})
    assert args[:4] == [args[0], "-m", "datasette", "serve"]
    assert "--immutable" not in args and "-i" not in args
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--port") + 1] == "9000"
    for option in ("--metadata", "--template-dir", "--plugins-dir"):
        assert (serve.DATASETTE_DIR / args[args.index(option) + 1]).exists(), option
    settings = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--setting"}
    assert settings["sql_time_limit_ms"] == "500"
    assert settings["base_url"] == "/x/"
    assert settings["suggest_facets"] == "off"
    assert f"static:{serve.DATASETTE_DIR / 'static'}" in args


def test_serve_print_command(archive):
    result = CliRunner().invoke(cli, ["serve", "--db", str(archive[0]), "--port", "8123",
                                      "--setting", "default_page_size", "20",
                                      "--print-command"])
    assert result.exit_code == 0, result.output
    args = shlex.split(result.output)
    assert "8123" in args and "default_page_size" in args and str(archive[0]) in args


def test_serve_refuses_missing_or_old_archive(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code != 0 and "no archive here" in result.output
    old = tmp_path / "old.db"
    db = store.open_db(old, migrate=False)
    db.execute("PRAGMA user_version = 1")
    db.close()
    result = CliRunner().invoke(cli, ["serve", "--db", str(old)])
    assert result.exit_code != 0 and "run `narrative-archive init" in result.output
