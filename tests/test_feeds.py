"""The feeds spider: feed parsing, then end to end against fixture outlets over HTTP."""

from __future__ import annotations

import gzip
import itertools
import json
import statistics
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.http import HtmlResponse

from narrative_archive.crawl.settings import USER_AGENT
from narrative_archive.spiders.feeds import discover_feeds, parse_feed
from tests.fixture_server import (
    FixtureServer,
    Reply,
    add_hostile_routes,
    copy_archive,
    query,
    run_crawl,
    write_config,
)

FILES = Path(__file__).parent / "files" / "feeds"


def feed(name: str, url: str = "https://news.example.com/world/rss"):
    return parse_feed((FILES / name).read_bytes(), url)


# --- parsing ------------------------------------------------------------------------------


def test_rss20_links_origlink_relative_and_guid():
    result = feed("rss20_feedburner.xml")
    assert result.version == "rss20" and result.error is None and result.malformed is None
    assert [(link.url, link.published_at) for link in result.links] == [
        ("https://news.example.com/world/russia-taliban-2024-05-20/", "2024-05-20T09:30:00Z"),
        ("https://news.example.com/world/relative-story", "2024-05-20T03:15:00Z"),  # EST
        ("https://news.example.com/world/guid-only", None),
    ]  # the item without any link is left out
    assert result.links[0].title == "Russia accused of arming the Taliban"


def test_atom_alternate_links_resolved_against_xml_base():
    result = feed("atom.xml")
    assert result.version == "atom10"
    assert [link.url for link in result.links] == [
        "https://blog.example.org/posts/weapons-left-behind",
        "https://blog.example.org/posts/updated-only",
    ]
    assert result.links[0].published_at == "2024-05-21T06:00:00Z"
    assert result.links[1].published_at == "2024-05-20T12:00:00Z"  # updated when not published
    assert result.links[0].title == "Taliban & the weapons left behind"


def test_rss10_in_latin1():
    result = feed("rss10.rdf")
    assert result.version == "rss10"
    assert [(link.title, link.published_at) for link in result.links] == [
        ("Café talks in Doha", "2024-05-18T07:00:00Z")]


def test_malformed_feed_is_read_anyway():
    result = feed("malformed.xml")
    assert result.error is None and result.malformed
    assert [link.url for link in result.links] == [
        "https://broken.example.com/a?x=1&y=2", "https://broken.example.com/b"]


@pytest.mark.parametrize("name, error", [
    ("not_a_feed.html", "not a feed (an HTML page)"),
    ("empty.xml", "not a feed"),
])
def test_documents_that_are_not_feeds(name, error):
    result = feed(name)
    assert result.error == error and result.links == []


def test_implausible_feed_dates_are_dropped_like_implausible_page_dates():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
    <item><title>Future</title><link>http://h.test/a</link>
      <pubDate>Tue, 01 Jan 2999 10:00:00 GMT</pubDate></item>
    <item><title>Epoch</title><link>http://h.test/b</link>
      <pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>
    <item><title>Fine</title><link>http://h.test/c</link>
      <pubDate>Mon, 20 May 2024 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    result = parse_feed(body, "http://h.test/rss")
    assert [link.published_at for link in result.links] == [None, None, "2024-05-20T10:00:00Z"]
    assert result.implausible_dates == ["http://h.test/a: 2999-01-01T10:00:00Z",
                                        "http://h.test/b: 1970-01-01T00:00:00Z"]


@pytest.mark.parametrize("body, error", [
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>\x00\x01 garbage',
     "malformed feed: not well-formed (invalid token) (no entry could be read)"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>a</title></item>'
     b"<item><title>b</title></item></channel></rss>",
     "no article links: none of its 2 entries has a URL"),
])
def test_a_feed_that_yields_nothing_is_an_error(body, error):
    result = parse_feed(body, "http://h.test/rss")
    assert result.links == [] and result.error == error


def test_an_empty_feed_is_not_an_error():
    result = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                        b"</channel></rss>", "http://h.test/rss")
    assert result.links == [] and result.error is None


def test_discover_feeds_from_link_alternate():
    response = HtmlResponse("https://example.com/news/", body=(FILES / "not_a_feed.html").read_bytes(),
                            encoding="utf-8")
    assert discover_feeds(response) == ["https://example.com/rss/news.xml",
                                        "https://example.com/atom.xml"]


# --- end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One feeds crawl of the fixture outlets into a fresh archive."""
    tmp = tmp_path_factory.mktemp("feeds")
    with FixtureServer() as server:
        add_hostile_routes(server)
        config = write_config(tmp / "config")
        db_path = tmp / "archive.db"
        result = run_crawl(server, ["feeds"], db_path, config)
        yield SimpleNamespace(server=server, tmp=tmp, config=config, db_path=db_path,
                              result=result, hits=Counter(server.hits))


def articles(world) -> dict[str, dict]:
    return {row["canonical_url"]: row for row in query(world.db_path, "SELECT * FROM articles")}


def test_crawl_succeeds_with_a_summary(world):
    assert world.result.returncode == 0, world.result.stderr[-3000:]
    assert "Crawl summary" in world.result.stdout
    assert "DeprecationWarning" not in world.result.stderr
    assert "Traceback" not in world.result.stderr


def test_every_article_from_the_feeds_is_stored(world):
    stored = articles(world)
    assert set(stored) == {
        "http://tass.test/politika/100001",
        "http://tass.test/mezhdunarodnaya-panorama/100002",
        "http://tass.test/ekonomika/100003",
        "http://dawn.test/news/1830001",
        "http://dawn.test/news/1830002",
        "http://dawn.test/news/1830003",
        "http://aljazeera.test/news/2024/5/20/russia-taliban-weapons",
        "http://aljazeera.test/news/2024/5/20/qatar-weather",
        "http://antiwar.test/2024/05/20/us-general-russia-taliban/",
        "http://antiwar.test/2024/05/21/bad-date/",
        "http://antiwar.test/2024/05/21/wire-copy/",
        "http://antiwar.test/2024/05/22/flaky/",
        "http://khaama.test/moscow-format-talks/",  # its feed came from the home page
    }
    assert {row["via"] for row in stored.values()} == {"feed"}
    tass = stored["http://tass.test/politika/100001"]
    assert tass["outlet_id"] == "tass" and tass["language"] == "ru"
    assert tass["title"] == "МИД России опроверг сообщения о поставках оружия талибам"
    assert tass["published_at"] == "2024-05-20T08:05:00Z"  # JSON-LD, in UTC
    assert json.loads(tass["authors"]) == ["ТАСС"]
    assert stored["http://aljazeera.test/news/2024/5/20/russia-taliban-weapons"]["language"] == "ar"
    assert stored["http://dawn.test/news/1830001"]["title"].startswith("Russia is arming the Taliban")


def test_windows_1251_page_without_charset_header(world):
    page = articles(world)["http://tass.test/mezhdunarodnaya-panorama/100002"]
    assert page["title"] == "Кабулов: обвинения в поставках оружия талибам - ложь"
    assert "Специальный представитель президента России" in page["text"]


def test_mentions_in_three_languages_and_none_for_the_rest(world):
    rows = query(world.db_path, "SELECT a.canonical_url, m.narrative_id FROM mentions m"
                                " JOIN articles a ON a.id = m.article_id")
    found = {(row["canonical_url"], row["narrative_id"]) for row in rows}
    assert found == {
        ("http://tass.test/politika/100001", "russia-arming-taliban"),
        ("http://tass.test/mezhdunarodnaya-panorama/100002", "russia-arming-taliban"),
        ("http://aljazeera.test/news/2024/5/20/russia-taliban-weapons", "russia-arming-taliban"),
        ("http://dawn.test/news/1830001", "russia-arming-taliban"),
        ("http://antiwar.test/2024/05/20/us-general-russia-taliban/", "russia-arming-taliban"),
        ("http://antiwar.test/2024/05/21/bad-date/", "us-weapons-left-behind"),
        ("http://antiwar.test/2024/05/22/flaky/", "us-weapons-left-behind"),
    }
    snippet = query(world.db_path, "SELECT snippet FROM mentions m JOIN articles a ON a.id ="
                                   " m.article_id WHERE a.canonical_url = ?",
                    ["http://dawn.test/news/1830001"])[0]["snippet"]
    assert "<mark>" in snippet


def test_tracking_parameters_and_duplicates_are_fetched_once(world):
    # politika/100001 is listed twice (the second time with utm_* and a fragment)
    assert world.hits[("tass.test", "/politika/100001")] == 1
    assert articles(world)["http://tass.test/ekonomika/100003"]["url"] == (
        "http://tass.test/ekonomika/100003?utm_source=rss&utm_medium=feed")
    # antiwar's first story is listed again with ?utm_source=rss inside a broken item
    assert world.hits[("antiwar.test", "/2024/05/20/us-general-russia-taliban/")] == 1


def test_robots_txt_is_obeyed_and_other_domains_are_not_followed(world):
    assert world.hits[("tass.test", "/robots.txt")] == 1
    assert world.hits[("tass.test", "/private/100004")] == 0
    assert world.hits[("antiwar.test", "/private/members-only/")] == 0
    assert not any(host == "elsewhere.test" for host, _ in world.hits)
    skips = query(world.db_path, "SELECT url, reason, kind FROM crawl_errors"
                                 " WHERE url LIKE '%private%' ORDER BY url")
    assert skips == [  # a deliberate skip, not a failure, but recorded with its reason
        {"url": url, "reason": "not fetched: robots.txt disallows it", "kind": "skipped"}
        for url in ("http://antiwar.test/private/members-only/", "http://tass.test/private/100004")]


def test_every_failure_is_recorded_with_its_reason(world):
    errors = {row["url"]: row["reason"] for row in query(
        world.db_path, "SELECT url, reason, outlet_id FROM crawl_errors WHERE kind = 'error'")}
    assert errors == {
        "http://antiwar.test/2024/05/22/gone/": "HTTP 404",
        "http://antiwar.test/2024/05/22/loop-a/":
            "redirect loop: http://antiwar.test/2024/05/22/loop-b/ -> "
            "http://antiwar.test/2024/05/22/loop-a/",
        "http://antiwar.test/2024/05/22/photo/": "not HTML (binary content)",
        "http://antiwar.test/2024/05/22/huge/": "too big: larger than the download limit (256 KiB)",
        "http://antiwar.test/2024/05/22/report.pdf": "not HTML (application/pdf)",
        "http://antiwar.test/2024/05/22/empty/": "no article text",
    }
    # A bad date is a warning on a stored article, not an error.
    [bad_date] = query(world.db_path, "SELECT warnings FROM articles WHERE url = ?",
                       ["http://antiwar.test/2024/05/21/bad-date/"])
    assert json.loads(bad_date["warnings"]) == [
        "unparsable date in JSON-LD datePublished: 'next Tuesday-ish'"]
    outlets = {row["outlet_id"] for row in query(
        world.db_path, "SELECT outlet_id FROM crawl_errors WHERE kind = 'error'")}
    assert outlets == {"antiwar"}


def test_a_500_is_retried(world):
    assert world.hits[("antiwar.test", "/2024/05/22/flaky/")] == 2
    assert "http://antiwar.test/2024/05/22/flaky/" in articles(world)


def test_the_run_is_recorded_with_its_counters(world):
    [run] = query(world.db_path, "SELECT * FROM crawl_runs")
    errors = query(world.db_path, "SELECT count(*) AS n FROM crawl_errors WHERE run_id = ?"
                                  " AND kind = 'error'",
                   [run["id"]])[0]["n"]
    mentions = query(world.db_path, "SELECT count(*) AS n FROM mentions")[0]["n"]
    assert run["spider"] == "feeds" and run["status"] == "ok" and run["finished_at"]
    assert run["new_articles"] == 13 and run["updated_articles"] == 0
    assert run["pages"] == 15  # 13 stored + the binary photo and the empty page
    assert run["errors"] == errors == 6
    assert run["warnings"] == 1  # the bad date
    assert run["mentions"] == mentions == 7
    assert run["pid"] and run["message"].startswith("15 pages, 13 new")


def test_syndicated_copies_share_a_content_hash(world):
    stored = articles(world)
    wire = stored["http://dawn.test/news/1830002"]
    copy = stored["http://antiwar.test/2024/05/21/wire-copy/"]
    assert wire["content_hash"] == copy["content_hash"] and wire["outlet_id"] != copy["outlet_id"]
    [row] = query(world.db_path, "SELECT copies, outlets FROM syndicated_copies")
    assert row == {"copies": 2, "outlets": 2}


def test_robots_txt_crawl_delay_is_honoured(world):
    # khaama.test asks for Crawl-delay: 0.5 (Scrapy jitters a delay by 0.5-1.5x)
    times = [t for host, path, t in world.server.times
             if host == "khaama.test" and path != "/robots.txt"]
    assert len(times) >= 3
    # The server's clock stamps arrivals: a request queued behind a busy moment arrives
    # late, shortening the next gap by what it lengthened the one before, so the median
    # gap is what the crawler waited (without the delay it is a few milliseconds).
    assert statistics.median(b - a for a, b in itertools.pairwise(times)) >= 0.2


def test_polite_identity_through_the_proxy(world):
    assert world.server.user_agents == {USER_AGENT}
    assert world.server.proxied > 0  # http_proxy is honoured


def test_a_second_run_skips_recent_urls_then_refetch_records_versions(world):
    db_path = copy_archive(world.db_path, world.tmp / "second.db")
    before = Counter(world.server.hits)
    again = run_crawl(world.server, ["feeds"], db_path, world.config)
    assert again.returncode == 0, again.stderr[-2000:]
    fetched = Counter(world.server.hits) - before
    assert fetched[("tass.test", "/rss/v2.xml")] == 1
    assert fetched[("tass.test", "/politika/100001")] == 0  # fetched within the last day
    runs = query(db_path, "SELECT status, pages, new_articles FROM crawl_runs ORDER BY id")
    assert runs[-1] == {"status": "ok", "pages": 0, "new_articles": 0}

    # The outlet edits a story; with the refetch interval at zero it is fetched again.
    page = world.server.page("tass.test", "politika/100001.html").decode()
    edited = page.replace("Россия не вооружает талибов", "Россия не вооружает и не вооружала талибов")
    world.server.add("tass.test", "/politika/100001", Reply(200, edited.encode()))
    third = run_crawl(world.server, ["feeds"], db_path, world.config, "--outlet", "tass",
                      settings={"NARRATIVE_ARCHIVE_REFETCH_AFTER": "0"})
    assert third.returncode == 0, third.stderr[-2000:]
    [run] = query(db_path, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert (run["new_articles"], run["updated_articles"], run["pages"]) == (0, 1, 3)
    versions = query(db_path, "SELECT v.text FROM article_versions v JOIN articles a"
                              " ON a.id = v.article_id WHERE a.canonical_url = ? ORDER BY v.id",
                     ["http://tass.test/politika/100001"])
    assert len(versions) == 2 and "не вооружала" in versions[1]["text"]
    assert json.loads(run["args"]) == {"outlets": ["tass"]}
    count = query(db_path, "SELECT count(*) AS n, count(DISTINCT canonical_url) AS d FROM articles")
    assert count[0]["n"] == count[0]["d"] == 13


# --- a hostile outlet: what its feeds and pages get wrong is said, never stored as data ----

BROKEN = {"id": "broken", "name": "Broken (fixture)", "url": "http://broken.test/",
          "domains": ["broken.test"], "country": "US", "language": "en", "kind": "blog",
          "feeds": ["http://broken.test/rss/news.xml", "http://broken.test/rss/garbage.xml"]}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("broken")
    html = {"Content-Type": "text/html; charset=utf-8"}
    with FixtureServer() as server:
        cp1251 = (FILES.parent / "extract" / "russian_cp1251.html").read_bytes()
        server.add("broken.test", "/news/mislabelled", Reply(200, cp1251, html))
        server.add("broken.test", "/news/to-file", Reply(302, b"", {"Location": "file:///etc/passwd"}))
        server.add("broken.test", "/news/endless", Reply(200, b"<p>" + b"x" * 400_000, html,
                                                         length=False))
        bomb = gzip.compress(b" " * (4 * 1024 * 1024))
        server.add("broken.test", "/news/bomb",
                   Reply(200, bomb, {**html, "Content-Encoding": "gzip"}))
        server.add("broken.test", "/news/busy",
                   Reply(503, b"<h1>Busy</h1>", {**html, "Retry-After": "86400"}))
        long_read = "".join(f'<p>Part {n}: see <a href="http://other.test/{n}">story {n}</a>'
                            " on the arms trade in the region.</p>" for n in range(400))
        server.add("broken.test", "/news/long", Reply(200, (
            f"<html><body><article><h1>A long read</h1>{long_read}</article></body></html>"
        ).encode(), html))
        config = write_config(tmp / "config", [BROKEN])
        result = run_crawl(server, ["feeds"], tmp / "archive.db", config, settings={
            "NARRATIVE_ARCHIVE_MAX_TEXT_CHARS": "3000", "NARRATIVE_ARCHIVE_MAX_LINKS": "10"})
        yield SimpleNamespace(result=result, db_path=tmp / "archive.db", hits=Counter(server.hits))


def broken_errors(broken) -> dict[str, str]:
    return {row["url"]: row["reason"] for row in query(
        broken.db_path, "SELECT url, reason FROM crawl_errors WHERE outlet_id = 'broken'"
                        " AND kind = 'error'")}


def test_an_implausible_feed_date_is_not_the_published_date(broken):
    assert broken.result.returncode == 0, broken.result.stderr[-3000:]
    [row] = query(broken.db_path, "SELECT published_at FROM articles"
                                  " WHERE canonical_url = 'http://broken.test/news/future'")
    assert not (row["published_at"] or "").startswith("2999")


def test_a_mislabelled_charset_is_stored_readable(broken):
    [row] = query(broken.db_path, "SELECT title, text, language FROM articles"
                                  " WHERE canonical_url = 'http://broken.test/news/mislabelled'")
    assert "\ufffd" not in row["text"] and "Кабулов" in row["title"]
    assert row["language"] == "ru"


def test_a_feed_that_yields_nothing_is_an_error_of_its_outlet(broken):
    assert broken_errors(broken)["http://broken.test/rss/garbage.xml"].startswith(
        "malformed feed: ")


def test_failure_reasons_say_what_happened(broken):
    errors = broken_errors(broken)
    assert errors["http://broken.test/news/to-file"] == (
        "redirect to a non-HTTP URL: http://broken.test/news/to-file -> file:///etc/passwd")
    assert errors["http://broken.test/news/endless"] == (
        "too big: larger than the download limit (256 KiB)")
    assert errors["http://broken.test/news/bomb"] == (
        "too big: decompresses beyond the download limit (256 KiB)")


def test_a_long_retry_after_leaves_the_url_for_a_later_run(broken):
    assert broken.hits[("broken.test", "/news/busy")] == 1  # not retried, not waited for
    assert broken_errors(broken)["http://broken.test/news/busy"] == (
        "HTTP 503, asked to retry after 86400 s: left for a later run"
        " (NARRATIVE_ARCHIVE_RETRY_AFTER_MAX is 60 s)")


def test_with_dns_failing_the_run_fails_at_once_without_retries(tmp_path):
    # .invalid never resolves (RFC 6761); no proxy, so the lookup is the crawler's own.
    outlets = [{"id": f"gone{n}", "name": f"Gone {n}", "url": f"http://gone{n}.invalid/",
                "domains": [f"gone{n}.invalid"], "country": "US", "language": "en",
                "kind": "blog", "feeds": [f"http://gone{n}.invalid/rss.xml"]} for n in range(3)]
    config = write_config(tmp_path / "config", outlets)
    result = run_crawl(None, ["feeds"], tmp_path / "archive.db", config)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Gave up retrying" not in result.stderr  # a failed lookup is not retried
    [run] = query(tmp_path / "archive.db", "SELECT status, message FROM crawl_runs")
    assert run == {"status": "failed", "message": "nothing could be fetched: DNS lookup failed (3)"}


def test_text_and_links_are_cut_at_their_caps_and_the_cut_is_logged(broken):
    [row] = query(broken.db_path, "SELECT text, links FROM articles"
                                  " WHERE canonical_url = 'http://broken.test/news/long'")
    assert 2700 < len(row["text"]) <= 3000 and len(json.loads(row["links"])) == 10
    assert "http://broken.test/news/long: cut: 10 of its 400 links kept" in broken.result.stderr
    assert "http://broken.test/news/long: cut: the first 3000 of its " in broken.result.stderr
