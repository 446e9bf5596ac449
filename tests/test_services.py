"""The external services as they really are: each fixture refuses what the real service
refuses, the way it refuses it (tests/services.py), and the clients keep within every
limit. Each test's docstring names the source of the constraint it holds the client to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.archives import CLOCK, RANGE, Archives, backfill
from tests.fixture_server import query, write_config
from tests.services import Clock, NewsSearch, most_in_window

KEY = {"NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": "test-key"}


@pytest.fixture
def archives():
    with Archives() as fixture:
        yield fixture


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path / "config")


def scope(config: Path, narrative: str, line: str) -> None:
    """Give a narrative of the test config a key (e.g. its Media Cloud collections)."""
    path = config / "narratives.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"- id: {narrative}\n", f"- id: {narrative}\n  {line}\n", 1),
                    encoding="utf-8")


def errors(db: Path) -> list[str]:
    return [row["reason"] for row in query(db, "SELECT reason FROM crawl_errors ORDER BY id")]


# --- Media Cloud ---------------------------------------------------------------------------


def test_media_cloud_without_collections_or_sources_is_a_config_error(archives, config,
                                                                        tmp_path):
    """mediacloud/web-search mcweb/backend/search/utils.py parse_query_params: a non-staff
    key's query with neither `cs` nor `ss` is refused (422 "Must have at least one of 'ss'
    or 'cs' parameters"). So asking for Media Cloud without them is a config error that
    names the narrative and its line, before any request."""
    db = tmp_path / "archive.db"
    result = backfill(archives, db, config, "russia-arming-taliban", *RANGE,
                      "--source", "mediacloud", environ=KEY)
    assert result.returncode == 1, result.stderr[-2000:]
    assert (f"{config / 'narratives.yml'}: narrative 'russia-arming-taliban': mediacloud: "
            "Media Cloud searches only within collections or sources") in result.stderr
    assert "(line 3)" in result.stderr
    assert archives.media_cloud.times == []


def test_media_cloud_asks_within_collections_or_sources_two_a_minute(archives, config,
                                                                       tmp_path):
    """mcweb/util/ratelimit_callables.py query_rate: "2/m" for a normal user's key (the
    official client's RATE_LIMIT_PER_MINUTE = 2); utils.py: `cs`/`ss` are comma-separated
    ids. Two narratives of two pages each: four requests, never three within a minute, no
    429, each naming the narrative's own collections or the global sources."""
    db = tmp_path / "archive.db"
    scope(config, "russia-arming-taliban", "mediacloud: {collections: [34412234, 38379429]}")
    result = backfill(archives, db, config, "russia-arming-taliban", "afghan-ghost-soldiers",
                      *RANGE, "--source", "mediacloud", "--mediacloud-sources", "2,3",
                      environ=KEY)
    assert result.returncode == 0, result.stderr[-3000:]
    service = archives.media_cloud
    assert service.statuses == [200] * 4
    assert most_in_window(service.times, CLOCK.minute) <= 2
    scopes = sorted(((q.get("cs"), q.get("ss")) for q in service.asked), key=str)
    assert scopes == [("34412234,38379429", None)] * 2 + [(None, "2,3")] * 2
    assert all(q["start"] == "2017-01-01" and q["end"] == "2018-12-31" for q in service.asked)


def test_media_cloud_refusals_are_recorded_with_its_own_message(archives, config, tmp_path):
    """mcweb views.error_response: a refusal says why in "note" (422, e.g. utils.py
    _validate_sources_or_collections: "invalid Collection(s): 999"); DRF answers a wrong
    key 401 {"detail": "Invalid token."}. Neither is asked again; each is a crawl error
    with the service's words, and the command exits 1 having fetched nothing."""
    db = tmp_path / "archive.db"
    scope(config, "russia-arming-taliban", "mediacloud: {collections: [999]}")
    wrong_key = backfill(archives, db, config, "russia-arming-taliban", *RANGE,
                         "--source", "mediacloud",
                         environ={"NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": "wrong-key"})
    assert wrong_key.returncode == 1
    assert errors(db) == ["Media Cloud refused the API key (HTTP 401): Invalid token."]
    assert "Invalid token." in wrong_key.stdout

    unknown = backfill(archives, db, config, "russia-arming-taliban", *RANGE,
                       "--source", "mediacloud", environ=KEY)
    assert unknown.returncode == 1
    assert errors(db)[-1] == "Media Cloud refused the query (HTTP 422): invalid Collection(s): 999"
    assert archives.media_cloud.statuses == [401, 422]  # each asked once


def test_media_cloud_429_waits_a_minute_and_a_second_one_stops_it(archives, config, tmp_path):
    """mcweb views.handle_429: over the rate, 429 {"note": "rate limited", "temporary":
    true} and no Retry-After: the client leaves Media Cloud alone for the rate's minute,
    then asks again; when the next answer is a 429 too it stops asking for this run and
    says so (the listing resumes next run)."""
    db = tmp_path / "archive.db"
    service = archives.media_cloud
    service.refuse_first = 1  # another client of the key used this minute's allowance
    result = backfill(archives, db, config, "russia-arming-taliban", *RANGE,
                      "--source", "mediacloud", "--mediacloud-collections", "34412234",
                      environ=KEY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert service.statuses == [429, 200, 200]
    assert service.times[1] - service.times[0] >= CLOCK.minute
    assert "http://khaama.test/russia-taliban-weapons-claim" in {
        row["url"] for row in query(db, "SELECT url FROM articles")}

    again = tmp_path / "again.db"
    service.times.clear()
    service.statuses.clear()
    service.refuse_first = 2
    stopped = backfill(archives, again, config, "russia-arming-taliban", *RANGE,
                       "--source", "mediacloud", "--mediacloud-collections", "34412234",
                       environ=KEY)
    assert service.statuses == [429, 429]
    assert stopped.returncode == 1
    assert any(reason.startswith("Media Cloud kept answering 429") for reason in errors(again))


@pytest.mark.parametrize("mediacloud, message", [
    ("  mediacloud:\n    collections: [34412234, '38379429']\n    sources: 7\n", None),
    ("  mediacloud:\n    collections: [abc]\n",
     "mediacloud.collections: expected Media Cloud collection ids (numbers like 34412234),"
     " got 'abc' (line 5)"),
    ("  mediacloud:\n    collection: [1]\n",
     "mediacloud.collection: unknown key (expected one of: collections, sources) (line 5)"),
    ("  mediacloud:\n    collections: []\n",
     "mediacloud: give collections and/or sources: Media Cloud searches only within them"
     " (line 4)"),
])
def test_a_narratives_media_cloud_scope_is_checked_at_load(tmp_path, mediacloud, message):
    """narratives.yml `mediacloud: {collections: [...], sources: [...]}`: Media Cloud's ids
    (mcweb `cs`/`ss` are comma-separated numbers); a mistake names the key and line."""
    from narrative_archive.config import ConfigError, load_narratives

    path = tmp_path / "narratives.yml"
    path.write_text("- id: n\n  title: N\n  query: taliban\n" + mediacloud, encoding="utf-8")
    if message is None:
        [narrative] = load_narratives(path, lambda query: None)
        assert narrative.mediacloud_collections == (34412234, 38379429)
        assert narrative.mediacloud_sources == (7,)
        return
    with pytest.raises(ConfigError) as error:
        load_narratives(path, lambda query: None)
    assert str(error.value).endswith(f"narrative 'n': {message}")


# --- Common Crawl's index (pywb) -----------------------------------------------------------

CC_RECORDS = [
    {"url": "https://www.dawn.com/news/1320001/russia-arming-taliban", "status": "200",
     "mime": "text/html"},
    {"url": "https://www.dawn.com/news/1320002/Taliban-talks", "status": "200",
     "mime": "text/html"},
    {"url": "https://www.dawn.com/news/1320003/cricket", "status": "200", "mime": "text/html"},
    {"url": "https://www.dawn.com/news/1320004/taliban.pdf", "status": "200",
     "mime": "application/pdf"},
    {"url": "https://www.dawn.com/news/1320005/taliban-gone", "status": "404",
     "mime": "text/html"},
    {"url": "https://www.dawn.com/news/1320006/taliban-moved", "status": "2001",
     "mime": "text/html"},
]


@pytest.mark.parametrize("expression, kept", [
    ("url:taliban", [0, 3, 4, 5]),  # no modifier: a substring test, case and all
    ("status:200", [0, 1, 2, 3, 5]),  # substring: 2001 contains 200
    ("=status:200", [0, 1, 2, 3]),  # = exact
    ("~url:(?i).*taliban", [0, 1, 3, 4, 5]),  # ~ a regex, matched from the start
    ("~url:taliban", []),  # re.match: anchored at the start of the URL
    ("!=mime:text/html", [3]),  # ! negates
    ("!~url:.*taliban", [1, 2]),
    ("url:(?i).*(taliban).*", []),  # a regex without ~ is text to look for: nothing has it
])
def test_the_fixture_index_filters_as_pywb_does(expression, kept):
    """webrecorder/pywb pywb/warcserver/index/cdxops.py CDXFilter: no modifier is `in`,
    `=` is ==, `~` is re.match, `!` negates (cdx_toolkit README, "Filter syntax")."""
    from tests.services import pywb_filter

    test = pywb_filter(expression)
    assert [i for i, record in enumerate(CC_RECORDS) if test(record)] == kept


def test_common_crawl_index_queries_select_with_pywb_filters():
    """The index query's own filters, read as pywb reads them, keep the HTML 200 captures
    whose URL carries a slug term, whatever its case: `=status:200`, `=mime:text/html`,
    `~url:(?i).*(...).*`. The old `url:(?i).*(...).*` would have kept none."""
    from urllib.parse import parse_qsl, urlsplit

    from narrative_archive.sources import commoncrawl, terms
    from tests.services import pywb_select

    url = commoncrawl.index_url("http://cc-index.test", "CC-MAIN-2017-30", "dawn.com",
                                since=None, until=None, url_regex=terms.url_regex(["taliban"]))
    params = parse_qsl(urlsplit(url).query)
    assert [v for k, v in params if k == "filter"] == [
        "=status:200", "=mime:text/html", "~url:(?i).*(taliban).*"]
    kept = pywb_select(CC_RECORDS, params)
    assert [record["url"].rsplit("/", 1)[1] for record in kept] == [
        "russia-arming-taliban", "Taliban-talks"]
    old = [(k, v.replace("~url:", "url:")) for k, v in params]
    assert pywb_select(CC_RECORDS, old) == []


# --- the Wayback Machine's CDX server ------------------------------------------------------

KHAAMA_ROWS = [(f"2017{month:02d}{day:02d}120000", f"http://khaama.test/{month}-{day}/taliban",
                "text/html", "200") for month in range(1, 4) for day in range(1, 13)]
SLOW = Clock(speed=20)  # a minute lasts 3 s: a client that does not pace itself is refused


def cdx_run(archives, db, config, **settings):
    archives.extra_rows = KHAAMA_ROWS  # 36 listed captures: 36 CDX pages of one row
    return backfill(archives, db, config, *RANGE, "--outlet", "khaama", "--limit", "1",
                    NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE="1", **settings)


def test_wayback_cdx_keeps_under_30_requests_a_minute_without_jitter(config, tmp_path):
    """The CDX server's hard limit is about 30 requests a minute (edgi-govdata-archiving/
    wayback _client.py DEFAULT_CDX_RATE_LIMIT = 0.8 * 30/60; its release v0.5.1 notes).
    36 listing pages: never more than 24 in a minute (the 80% the Internet Archive asked
    that client to keep to), each request at least 2.5 s after the answer before it,
    none refused. The same run without the pacing is refused."""
    with Archives(SLOW) as archives:
        db = tmp_path / "archive.db"
        result = cdx_run(archives, db, config)
        assert result.returncode == 0, result.stderr[-3000:]
        cdx = archives.cdx_limit
        assert len(cdx.times) == 36 and cdx.refused == [] and cdx.blocked_at is None
        assert most_in_window(cdx.times, SLOW.minute) <= 24
        gaps = [later - earlier for earlier, later in zip(cdx.times, cdx.times[1:], strict=False)]
        assert min(gaps) >= SLOW.seconds(2.5)

        archives.cdx_limit = type(cdx)(SLOW)
        cdx_run(archives, tmp_path / "unpaced.db", config,
                NARRATIVE_ARCHIVE_WAYBACK_CDX_PER_MINUTE="100000")
        assert archives.cdx_limit.refused  # the fixture refuses a client that asks too often


def test_a_cdx_429_pauses_a_minute_then_the_listing_goes_on(archives, config, tmp_path):
    """A CDX 429 carries no Retry-After; edgi's client pauses DEFAULT_RATE_LIMIT_DELAY =
    60 s. The next request comes a minute later at the earliest, and the listing goes on."""
    db = tmp_path / "archive.db"
    archives.cdx_limit.refuse_first = 1  # another client on this IP used the allowance
    result = cdx_run(archives, db, config)
    assert result.returncode == 0, result.stderr[-3000:]
    cdx = archives.cdx_limit
    assert len(cdx.refused) == 1 and cdx.blocked_at is None
    assert cdx.times[1] - cdx.times[0] >= CLOCK.minute
    assert len(cdx.times) == 37  # the refused page asked again, then all 36


def test_cdx_429s_that_go_on_stop_the_wayback_machine_for_the_run(archives, config, tmp_path):
    """"If 429s are ignored for more than a minute we block the IP at the firewall for 1
    hour", doubling each time (the Internet Archive, in edgi-govdata-archiving/wayback
    issue #137). After a 429, a minute's pause; a second 429 stops every CDX request of
    the run, recorded, and the IP is never blocked. The next run resumes the listing."""
    db = tmp_path / "archive.db"
    archives.cdx_limit.refuse_first = 1000  # the server refuses whatever the client does
    result = cdx_run(archives, db, config)
    cdx = archives.cdx_limit
    assert len(cdx.times) == 2 and cdx.blocked_at is None
    assert result.returncode == 1
    assert any(reason.startswith("the Wayback CDX server kept answering 429")
               and "the next run goes on from here" in reason for reason in errors(db))

    archives.cdx_limit = type(cdx)(CLOCK)
    again = cdx_run(archives, db, config)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(archives.cdx_limit.times) == 36
    assert query(db, "SELECT done FROM backfill_cursors WHERE domain = 'khaama.test'") == [
        {"done": 1}]


def test_the_fixture_cdx_server_blocks_a_client_that_ignores_429s():
    """The block the pacing avoids, as the fixture enforces it: 429s that go on for over a
    minute, each less than a minute after the last, close the door; a client that pauses
    a minute after each 429 is refused, not blocked."""
    from tests.services import BLOCKED, Clock, WaybackCdx

    clock = Clock()
    hammering = WaybackCdx(clock, refuse_first=1000)
    answers = [hammering.answer(at) for at in range(0, 90, 2)]
    assert answers[0][0] == 429 and BLOCKED in answers and hammering.blocked_at == 62
    patient = WaybackCdx(clock, refuse_first=1000)
    assert all(patient.answer(at)[0] == 429 for at in (0, 61, 122, 183))
    assert patient.blocked_at is None
    fast = WaybackCdx(clock)
    assert [fast.answer(at / 10) for at in range(31)][-1][0] == 429  # 31 within 3 s


# --- GDELT DOC 2.0 -------------------------------------------------------------------------

GDELT_URL = "http://api.gdelt.test/api/v2/doc/doc"
NEWS_SEARCH = "http://news.search.test/rss.xml?q={query}&format=rss&setlang={lang}"


def search_run(tmp_path, service, news=None, **settings):
    """`crawl search` for the shipped russia-arming-taliban (a long query, ten variants)
    against the fixture GDELT service and a news-search endpoint limited as Bing is."""
    from narrative_archive.paths import DEFAULT_CONFIG_DIR
    from tests.fixture_server import FixtureServer, run_crawl

    news = news or NewsSearch()
    config = write_config(tmp_path / "config")
    (config / "narratives.yml").write_text(
        (DEFAULT_CONFIG_DIR / "narratives.yml").read_text(encoding="utf-8"), encoding="utf-8")
    with FixtureServer() as server:
        server.services[("api.gdelt.test", "/api/v2/doc/doc")] = \
            lambda params, headers, at, url: service.answer(params, at)
        server.services[("news.search.test", "/rss.xml")] = \
            lambda params, headers, at, url: news.answer(url)
        return run_crawl(server, ["search"], tmp_path / "archive.db", config,
                         "--narrative", "russia-arming-taliban", settings={
                             "NARRATIVE_ARCHIVE_GDELT_URL": GDELT_URL,
                             "NARRATIVE_ARCHIVE_SEARCH_FEEDS": NEWS_SEARCH,
                             "NARRATIVE_ARCHIVE_CLOCK_SPEED": str(CLOCK.speed), **settings})


def test_gdelt_requests_keep_within_its_length_and_pace(tmp_path):
    """GDELT DOC 2.0 refuses, as plain text with HTTP 200, a query over ~250 characters
    ("Your query was too short or too long.", seen at 257 and 288) and a second request
    within 5 s ("Please limit requests to one every 5 seconds"); it searches English
    translations and its sourcelang: names come from its language list (no Pashto: GDELT
    blog "Updates To The DOC 2.0 API"; RBozydar/py-gdelt languages.json). A narrative of
    2,706 characters becomes requests of at most 250, English words only, 5 s apart."""
    from narrative_archive.sources.gdelt import LANGUAGES
    from tests.services import Gdelt

    service = Gdelt(CLOCK)
    result = search_run(tmp_path, service)
    assert result.returncode == 0, result.stderr[-3000:]
    assert service.refusals == [] and len(service.queries) > 10
    assert max(len(query) for query in service.queries) <= 250
    assert all(query.isascii() for query in service.queries)  # English terms
    names = {query.rpartition("sourcelang:")[2] for query in service.queries
             if "sourcelang:" in query}
    assert names and names <= set(LANGUAGES.values()) and "pashto" not in names
    gaps = [b - a for a, b in zip(service.times, service.times[1:], strict=False)]
    assert min(gaps) >= CLOCK.seconds(5)


def test_gdelt_refusals_are_recorded_with_gdelts_words(tmp_path):
    """GDELT's errors come back as text with HTTP 200: each is a crawl error in GDELT's
    words. A client that does not keep GDELT's 5 s (here: paced at 0.1 s) is refused."""
    from tests.services import GDELT_TOO_SOON, Gdelt

    service = Gdelt(CLOCK)
    result = search_run(tmp_path, service, NARRATIVE_ARCHIVE_GDELT_INTERVAL="0.1")
    assert GDELT_TOO_SOON in service.refusals
    assert f"GDELT answered: {GDELT_TOO_SOON}" in errors(tmp_path / "archive.db")
    assert result.returncode in (0, 1)


def test_the_fixture_gdelt_refuses_what_gdelt_refuses():
    from tests.services import GDELT_PARENTHESES, GDELT_TOO_LONG, GDELT_TOO_SOON, Gdelt

    service = Gdelt(Clock())
    assert service.answer([("query", "taliban " * 31 + "xyz")], at=0)[2].decode().strip() == (
        GDELT_TOO_LONG)  # 251 characters
    assert service.answer([("query", "taliban")], at=4.9)[2].decode().strip() == GDELT_TOO_SOON
    assert service.answer([("query", "(taliban russia)")], at=10)[2].decode().strip() == (
        GDELT_PARENTHESES)
    assert service.answer([("query", "(taliban OR taleban) russia")], at=15) is None


def _parts(query: str) -> list[set[str]]:
    import re

    return [set(group.split(" OR ")) if group else {word}
            for group, word in re.findall(r"\(([^()]*)\)|(\S+)", query)]


@pytest.mark.parametrize("limit", [40, 60, 120])
def test_a_split_query_finds_what_the_whole_query_finds(limit):
    """(a OR b) c = a c OR b c: every way of matching the whole query (one word of each
    clause) is a way of matching one of the split queries, each within the limit."""
    from itertools import product

    from narrative_archive.sources.query import split_query

    clauses = [[f"actor{i}" for i in range(7)], ["taliban", "taleban"],
               [f"weapon{i}" for i in range(9)]]
    queries = split_query(clauses, len, limit)
    assert all(len(query) <= limit for query in queries)
    parsed = [_parts(query) for query in queries]
    for words in product(*clauses):
        assert any(all(any(word in part for word in words) for part in parts)
                   for parts in parsed), words



# --- news-search RSS -----------------------------------------------------------------------


def test_news_search_urls_stay_within_2048_characters(tmp_path):
    """Bing's documented limit for a search URL is 2,048 characters (Bing News RSS itself
    is undocumented); a longer one is refused (414). The shipped narratives' queries,
    up to 3,152 characters as URLs before, become URLs of at most 2,048 whose union is
    the query, and none is refused."""
    from tests.services import Gdelt

    news = NewsSearch()
    result = search_run(tmp_path, Gdelt(CLOCK), news)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(news.lengths) > 11 and max(news.lengths) <= 2048
    assert "HTTP 414" not in " ".join(errors(tmp_path / "archive.db"))


def test_every_shipped_narrative_fits_both_news_search_providers():
    from narrative_archive.config import load_config
    from narrative_archive.sources import newsrss
    from narrative_archive.spiders.search import search_clauses

    for provider in newsrss.PROVIDERS:
        for narrative in load_config().narratives:
            for language, clauses in search_clauses(narrative):
                urls = newsrss.feed_urls(newsrss.template(provider), clauses, since=None,
                                         until=None, language=language)
                assert urls and max(map(len, urls)) <= 2048, (provider, narrative.id)


def test_google_news_editions_and_links():
    """Google News RSS search takes hl, gl and ceid (news.google.com/rss/search?q=…&hl=en-US
    &gl=US&ceid=US:en); a variant goes to its language's edition where there is one. Its
    old article links carry the article URL in base64; newer ones do not and are skipped."""
    import base64
    from urllib.parse import parse_qs, urlsplit

    from narrative_archive.sources import newsrss

    google = newsrss.template("google-news")
    russian = newsrss.feed_url(google, "талибов россия", since=None, until=None, language="ru")
    assert parse_qs(urlsplit(russian).query) == {
        "q": ["талибов россия"], "hl": ["ru"], "gl": ["RU"], "ceid": ["RU:ru"]}
    persian = newsrss.feed_url(google, "طالبان", since=None, until=None, language="fa")
    assert "hl=en-US&gl=US&ceid=US:en" in persian
    old = base64.urlsafe_b64encode(b'\x08\x13"+https://www.example.com/2017/taliban-arms\xd2'
                                   b"\x01\x00").decode().rstrip("=")
    assert newsrss.unwrap(f"https://news.google.com/rss/articles/{old}?oc=5") == (
        "https://www.example.com/2017/taliban-arms")
    new = "https://news.google.com/rss/articles/CBMiqwFBVV95cUxNMTRqdUZpNl9hQldXbGo2YVVL?oc=5"
    assert newsrss.is_aggregator_link(newsrss.unwrap(new))
    with pytest.raises(ValueError, match="not a news-search provider"):
        newsrss.template("yahoo")


# --- sources check ---------------------------------------------------------------------------

EMPTY_RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title>'
             b"<link>http://empty.test/</link></channel></rss>")
CHECKED_OUTLETS = [
    {"id": "dawn", "name": "Dawn", "url": "http://dawn.test/", "feeds": [
        "http://dawn.test/feeds/home"], "sitemaps": ["http://dawn.test/sitemap-index.xml"]},
    {"id": "gone", "name": "Gone", "url": "http://gone.test/",
     "feeds": ["http://gone.test/rss.xml"]},
    {"id": "khaama", "name": "Khaama", "url": "http://khaama.test/",
     "feeds": ["http://khaama.test/"]},  # a page, not a feed
    {"id": "walled", "name": "Walled", "url": "http://walled.test/",
     "feeds": ["http://walled.test/feed/rss.xml"]},
    {"id": "empty", "name": "Empty", "url": "http://empty.test/",
     "feeds": ["http://empty.test/rss.xml"]},
]


def sources_check(server, config: Path, *args: str, key: str = ""):
    import subprocess
    import sys

    from tests.fixture_server import REPO, crawl_env

    command = [sys.executable, "-m", "narrative_archive", "sources", "check", "--config",
               str(config), *args]
    for name, value in {"NARRATIVE_ARCHIVE_WAYBACK_URL": "http://wayback.test",
                        "NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL": "http://cc-index.test",
                        "NARRATIVE_ARCHIVE_MEDIACLOUD_URL": "http://mediacloud.test/api",
                        "NARRATIVE_ARCHIVE_GDELT_URL": GDELT_URL,
                        "NARRATIVE_ARCHIVE_SEARCH_FEEDS": NEWS_SEARCH,
                        "NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": key}.items():
        command += ["-s", f"{name}={value}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env=crawl_env(server), cwd=REPO)


def lines_of(output: str) -> dict[tuple[str, str, str], str]:
    """(name, what, url) → the line's level and detail."""
    found = {}
    for line in output.splitlines():
        level, name, what, rest = line.split(None, 3)
        detail, _, url = rest.rpartition("  ")
        found[(name, what, url.strip())] = f"{level} {detail.strip()}"
    return found


def test_sources_check_says_what_works_and_why_the_rest_fails(tmp_path):
    """One request per outlet feed, sitemap and robots.txt and per API, each answered as
    its kind of server answers: a 404, an HTML page where a feed should be, a robots.txt
    that disallows the feed, an empty feed, Media Cloud refusing the key (DRF's 401
    "Invalid token."). Exit 1 when anything fails; warnings alone exit 0."""
    from tests.fixture_server import FixtureServer, Reply

    config = write_config(tmp_path / "config", CHECKED_OUTLETS)
    with FixtureServer() as server:
        server.add("walled.test", "/robots.txt", Reply(200, b"User-agent: *\nDisallow: /feed/\n",
                                                       {"Content-Type": "text/plain"}))
        server.add("empty.test", "/rss.xml", Reply(200, EMPTY_RSS,
                                                   {"Content-Type": "application/rss+xml"}))
        server.add("wayback.test", "/cdx/search/cdx", Reply(200, json_rows(),
                                                            {"Content-Type": "application/json"}))
        server.add("cc-index.test", "/collinfo.json", Reply(200, COLLINFO,
                                                           {"Content-Type": "application/json"}))
        server.add("mediacloud.test", "/api/auth/profile",
                   Reply(401, b'{"detail": "Invalid token."}', {"Content-Type": "application/json"}))
        everything = sources_check(server, config, "--source", "all", key="wrong-key")
        only_dawn = sources_check(server, config, "--outlet", "dawn")
        asked = [(host, path) for host, path, _ in server.queries]

    assert everything.returncode == 1, everything.stderr[-2000:]
    found = lines_of(everything.stdout)
    assert found[("dawn", "feed", "http://dawn.test/feeds/home")].startswith(
        "WARN atom10: 3 entries, newest 2024-05-21T05:00:00Z (stale)")
    assert found[("dawn", "sitemap", "http://dawn.test/sitemap-index.xml")].startswith(
        "WARN sitemap index: 3 sitemaps, newest 2024-05-21T05:00:00Z")
    assert found[("dawn", "robots.txt", "http://dawn.test/robots.txt")] == "ok HTTP 200"
    assert found[("gone", "feed", "http://gone.test/rss.xml")] == "FAIL HTTP 404"
    assert found[("khaama", "feed", "http://khaama.test/")] == "FAIL not a feed (an HTML page)"
    assert found[("walled", "feed", "http://walled.test/feed/rss.xml")] == (
        "FAIL robots.txt disallows it for our user agent")
    assert found[("empty", "feed", "http://empty.test/rss.xml")] == "WARN rss20: empty, no entries"
    assert found[("mediacloud", "key", "http://mediacloud.test/api/auth/profile")] == (
        "FAIL Media Cloud refused the API key (HTTP 401): Invalid token.")
    apis = {(name, what): line for (name, what, _), line in found.items()
            if name in ("wayback", "commoncrawl", "gdelt", "news-search")}
    assert apis == {("wayback", "cdx"): "ok CDX answers (1 of 1 row)",
                    ("commoncrawl", "collinfo"): "ok 2 crawls, newest CC-MAIN-2024-18",
                    ("gdelt", "search"): "ok ArtList answers (3 articles)",
                    ("news-search", "search"): "ok rss20: 1 results"}
    assert "failures" in everything.stderr
    assert ("walled.test", "/feed/rss.xml") not in asked  # robots.txt said no: not asked

    assert only_dawn.returncode == 0, only_dawn.stdout + only_dawn.stderr
    assert {name for name, _, _ in lines_of(only_dawn.stdout)} == {"dawn"}


def json_rows() -> bytes:
    import json

    return json.dumps([["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest",
                        "length"], ["com,example)/", "20240101000000", "http://example.com/",
                                    "text/html", "200", "D", "100"]]).encode()


COLLINFO = (b'[{"id": "CC-MAIN-2024-18", "from": "2024-04-12T00:00:00", "to": "2024-04-25T00:00:00"},'
            b' {"id": "CC-MAIN-2017-30", "from": "2017-07-20T00:00:00", "to": "2017-07-28T00:00:00"}]')


def test_why_a_request_got_no_answer():
    """The reasons a failed request is given, as the crawl gives them."""
    import socket
    from urllib.error import URLError

    from narrative_archive.spiders.probe import why

    assert why(URLError(socket.gaierror(-2, "Name or service not known"))) == "DNS lookup failed"
    assert why(URLError(ConnectionRefusedError(111, "refused"))) == "connection refused"
    assert why(URLError(TimeoutError("timed out"))) == "timed out"
