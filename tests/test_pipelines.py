"""The pieces between a response and a row: the narrative matcher, the outlet index, failure
reasons, retry backoff, redirect loops, date hints and the extraction worker pool."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from narrative_archive import store
from narrative_archive.config import Outlet, load_narratives
from narrative_archive.crawl.middlewares import (
    BackoffRetryMiddleware,
    QuickMetaRefreshMiddleware,
    RedirectLoopMiddleware,
    retry_after,
)
from narrative_archive.crawl.workers import ExtractorPool
from narrative_archive.extract.article import ExtractError
from narrative_archive.extract.dates import is_date_warning, prefer_listed_date
from narrative_archive.fts import NarrativeMatcher
from narrative_archive.match import narratives
from narrative_archive.spiders.base import OutletIndex, describe_failure, skip_kind
from tests.fixture_server import (
    REPO,
    FixtureServer,
    Reply,
    crawl_command,
    crawl_env,
    query,
    run_crawl,
    write_config,
)
from tests.test_narratives import SNIPPET_BUG_QUERY

FILES = Path(__file__).parent / "files"
TEST_NARRATIVES = FILES / "crawl" / "narratives.yml"

TEXTS = [
    ("Russia arming Taliban", "A US general said Russia supplied weapons to the Taliban."),
    ("МИД", "МИД России опроверг сообщения о поставках оружия талибам."),
    ("عاجل", "اتهم قائد أميركي روسيا بتزويد طالبان بالأسلحة"),
    ("Moscow talks", "Russia hosted the Taliban for peace talks in Moscow."),
    ("Parade", "The Taliban showed off American weapons at a parade."),
    ("Ghosts", "Afghan ghost soldiers drained the payroll."),
    ("Nothing", "Cricket: Afghanistan beat Pakistan."),
    (None, ""),
]


@pytest.mark.parametrize("title, text", TEXTS)
def test_matcher_agrees_with_the_archive(tmp_path, title, text):
    """Matching before storing (in memory, where the article is extracted), by the archive's
    own index (rematch, Datasette's search box) and match_article are one semantics."""
    loaded = load_narratives(TEST_NARRATIVES, narratives.check_query)
    db = store.open_db(tmp_path / "a.db")
    narratives.save_narratives(db, loaded)
    article_id, _ = store.save_article(
        db, {"url": "https://x.test/a", "title": title, "text": text}, None)
    archive = [n.id for n in loaded if store.matches_article(db, n.match_query, article_id)]
    assert NarrativeMatcher(loaded).match(title, text) == archive
    assert narratives.match_article(db, article_id, loaded) == archive
    db.close()


def test_matcher_leaves_nothing_behind():
    matcher = NarrativeMatcher(load_narratives(TEST_NARRATIVES, narratives.check_query))
    assert matcher.match(*TEXTS[0]) == ["russia-arming-taliban"]
    assert matcher.match(*TEXTS[0]) == ["russia-arming-taliban"]  # no duplicate rowid error
    assert matcher.conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0


GATE_QUERIES = [
    'NEAR(russia* "arm the taliban", 25) OR (arm* AND taliban NOT peace)',
    'title:kremlin AND ("weapon* to the taliban" OR {title text}: ^moscow + taliban*)',
    'талиб* AND (росси* OR москв*)', 'happy*', SNIPPET_BUG_QUERY,
]


@pytest.mark.parametrize("query", GATE_QUERIES)
def test_the_matchers_gate_never_skips_a_query_that_matches(query):
    """The gate (a query's words must be in the article) is a necessary condition: with it
    the matcher finds what evaluating every query finds."""
    from narrative_archive.config import Narrative, load_config
    from narrative_archive.fts import query_gate

    assert query_gate(query) is not None
    narratives_ = [Narrative("q", "Q", query), *load_config(None).narratives]
    gated, ungated = NarrativeMatcher(narratives_), NarrativeMatcher(narratives_, gated=False)
    texts = [*TEXTS, ("Kremlin", "Moscow's weapons went to the Taliban, said a happy man."),
             ("Талибы", "Россия поставляет оружие талибам"), ("Peace", "arms taliban peace")]
    for title, text in texts:
        assert gated.snippets(title, text) == ungated.snippets(title, text), text
    assert gated.match("Nothing here", "Cricket scores") == []


def test_the_gate_gives_up_on_a_query_it_cannot_read():
    from narrative_archive.fts import query_gate

    assert query_gate('taliban AND (russia') is None  # FTS5 itself refuses it
    assert query_gate("a OR b)") is None


def test_outlet_index_matches_subdomains_and_www():
    index = OutletIndex([
        Outlet("bbc", "BBC", "https://www.bbc.co.uk/", ("bbc.co.uk", "bbc.com")),
        Outlet("bbc-russian", "BBC Russian", "https://www.bbc.com/russian", ("russian.bbc.com",)),
    ])
    assert index.for_url("https://www.bbc.co.uk/news/world-1").id == "bbc"
    assert index.for_url("https://feeds.bbci.co.uk/news/rss.xml") is None
    assert index.for_url("https://russian.bbc.com/x").id == "bbc-russian"  # the closest domain
    assert index.for_url("https://news.russian.bbc.com/x").id == "bbc-russian"
    assert index.for_url("https://BBC.COM./x").id == "bbc"
    assert index.for_url("https://notbbc.com/x") is None
    assert index.for_url("not a url") is None


def failure_of(error: Exception, url: str = "https://x.test/a") -> Failure:
    failure = Failure(error)
    failure.request = Request(url)
    return failure


@pytest.mark.parametrize("error, reason", [
    (HttpError(Response("https://x.test/a", status=404), "Ignoring"), "HTTP 404"),
    (HttpError(Response("https://x.test/a", status=503), "Ignoring"), "HTTP 503"),
    (IgnoreRequest("max redirections reached"), "too many redirects"),
    (IgnoreRequest("redirect loop: a -> b"), "redirect loop: a -> b"),
    (DownloadCancelledError("Expected to receive 300 bytes which is larger than download max size"
                            " (262144) in request <GET x>."),
     "too big: larger than the download limit (256 KiB)"),
    (DownloadTimeoutError("took longer than 30.0 seconds"), "timed out"),
    (CannotResolveHostError("x.test"), "DNS lookup failed"),
    (DownloadConnectionRefusedError("refused"), "connection refused"),
    (IgnoreRequest("Forbidden by robots.txt"), None),
    (IgnoreRequest("Filtered offsite request to 'y.test'"), None),
    (ValueError("odd"), "ValueError: odd"),
])
def test_failure_reasons(error, reason):
    assert describe_failure(failure_of(error)) == reason


def test_deliberate_skips():
    assert skip_kind(failure_of(IgnoreRequest("Forbidden by robots.txt"))) == "robots"
    assert skip_kind(failure_of(IgnoreRequest("Filtered offsite request to 'y'"))) == "offsite"
    assert skip_kind(failure_of(IgnoreRequest("max redirections reached"))) is None


def test_retry_after_header():
    def response(value):
        return Response("https://x.test/", status=429, headers={"Retry-After": value})

    assert retry_after(response("120")) == 120
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= retry_after(response(later)) <= 90
    assert retry_after(response("soon")) is None
    assert retry_after(Response("https://x.test/")) is None


def test_backoff_doubles_and_is_capped():
    middleware = BackoffRetryMiddleware(Settings({"RETRY_BACKOFF_BASE": 2, "RETRY_BACKOFF_MAX": 10}))
    first = middleware.backoff(Request("https://x.test/"))
    third = middleware.backoff(Request("https://x.test/", meta={"retry_times": 2}))
    assert 1 <= first <= 3 and 4 <= third <= 10
    assert middleware.backoff(Request("https://x.test/", meta={"retry_times": 9})) == 10
    asked = Response("https://x.test/", status=503, headers={"Retry-After": "3600"})
    assert middleware.backoff(Request("https://x.test/"), asked) == 10


def test_redirect_loop_is_an_error():
    middleware = RedirectLoopMiddleware()
    request = Request("https://x.test/b", meta={"redirect_urls": ["https://x.test/a"]})
    back = Response("https://x.test/b", status=302, headers={"Location": "/a"})
    with pytest.raises(IgnoreRequest, match="redirect loop"):
        middleware.process_response(request, back)
    onward = Response("https://x.test/b", status=302, headers={"Location": "/c"})
    assert middleware.process_response(request, onward) is onward


_REFRESH = '<meta http-equiv="{0}" content="0; url=/moved">'


@pytest.mark.parametrize("body, encoding", [
    ("<html><head><title>Plain</title></head><body>" + "<p>text</p>" * 3000, "utf-8"),
    ("<html><head>" + _REFRESH.format("refresh") + "</head><body>x</body></html>", "utf-8"),
    ("<html><head>" + _REFRESH.format("Refresh") + "</head><body>é</body></html>", "cp1252"),
    ("<html><head>" + _REFRESH.format("REFRESH") + "</head><body>x</body></html>", "utf-16"),
    ("<html><head><title>" + "ü" * 5000 + "</title>" + _REFRESH.format("refresh"), "utf-8"),
    ("<html><head><title>" + "x" * 3000 + "</title>" + _REFRESH.format("refresh"), "utf-8"),
])
def test_quick_meta_refresh_follows_what_scrapys_follows(body, encoding):
    crawler = get_crawler(settings_dict={"METAREFRESH_MAXDELAY": 100})
    request = Request("https://x.test/a")

    def outcome(middleware):
        response = HtmlResponse("https://x.test/a", body=body.encode(encoding),
                                headers={"Content-Type": f"text/html; charset={encoding}"})
        result = middleware.process_response(request, response)
        return result.url if isinstance(result, Request) else type(result).__name__

    expected = outcome(MetaRefreshMiddleware.from_crawler(crawler))
    assert outcome(QuickMetaRefreshMiddleware.from_crawler(crawler)) == expected
    assert (expected == "https://x.test/moved") == ("refresh" in body.lower()[:4096])


@pytest.mark.parametrize("extracted, listed, chosen", [
    ("2024-05-20T08:05:00Z", "2024-05-21T00:00:00Z", "2024-05-20T08:05:00Z"),  # the page's own
    ("2024-01-01", "2024-05-21T11:20:00Z", "2024-05-21T11:20:00Z"),  # a day-only guess loses
    (None, "2024-05-21T11:20:00Z", "2024-05-21T11:20:00Z"),
    ("2024-05-20", None, "2024-05-20"),
    (None, None, None),
])
def test_prefer_listed_date(extracted, listed, chosen):
    assert prefer_listed_date(extracted, listed) == chosen


def test_date_warnings():
    assert is_date_warning("unparsable date in JSON-LD datePublished: 'x'")
    assert is_date_warning("implausible date in meta date: '0001-01-01'")
    assert not is_date_warning("invalid JSON-LD block skipped")


def test_extractor_pool_off_the_event_loop():
    page = (FILES / "extract" / "jsonld_newsarticle.html").read_bytes()

    async def run(pool):
        article = await pool.extract(page, "https://example.com/a", "utf-8")
        with pytest.raises(ExtractError):
            await pool.extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "https://example.com/p", None)
        results = await asyncio.gather(*(pool.extract(page, f"https://example.com/{i}", None)
                                         for i in range(6)))
        return article, results

    pool = ExtractorPool(2)
    try:
        article, results = asyncio.run(run(pool))
    finally:
        pool.close()
    assert article["title"] == "US general says Russia is arming the Taliban"
    assert {r["content_hash"] for r in results} == {article["content_hash"]}


# --- end to end: crawls of local feeds ------------------------------------------------------


def feed_site(server: FixtureServer, host: str, pages: dict[str, bytes],
              dates: dict[str, str] | None = None) -> str:
    """Serve these article pages on `host` and an RSS feed listing them in order (with a
    pubDate from `dates`); the feed URL."""
    dates = dates or {}
    items = "".join(
        f"<item><title>{path}</title><link>http://{host}{path}</link>"
        + (f"<pubDate>{dates[path]}</pubDate>" if path in dates else "") + "</item>"
        for path in pages)
    for path, body in pages.items():
        server.add(host, path, Reply(200, body))
    server.add(host, "/feed.xml", Reply(
        200, f"<rss version='2.0'><channel><title>{host}</title>{items}</channel></rss>".encode(),
        {"Content-Type": "application/rss+xml"}))
    server.add(host, "/robots.txt", Reply(200, b"", {"Content-Type": "text/plain"}))
    return f"http://{host}/feed.xml"


def html_page(title: str, *paragraphs: str, head: str = "", h1: bool = False) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    heading = f"<h1>{title}</h1>" if h1 else ""
    return (f"<html><head><title>{title}</title>{head}</head><body><article>{heading}{body}"
            "</article></body></html>").encode()


def outlet(outlet_id: str, host: str, feed: str, **extra) -> dict:
    return {"id": outlet_id, "name": outlet_id, "url": f"http://{host}/", "domains": [host],
            "feeds": [feed], **extra}


# One worker, one request at a time: pages reach the archive in a fixed order.
IN_ORDER = {"CONCURRENT_REQUESTS": "1", "NARRATIVE_ARCHIVE_EXTRACT_WORKERS": "1"}


@pytest.fixture(scope="module")
def server():
    with FixtureServer(sites=None) as fixture:
        yield fixture


def test_crawl_of_the_snippet_bug_articles_records_both_mentions(server, tmp_path):
    """The FTS5 snippet() bug (docs/narratives.md): crawled from a feed, the second article got
    no mention."""
    feed = feed_site(server, "bug.test", {  # Scrapy fetches the last listed first
        "/moscow": html_page("Moscow and the Taliban", "Moscow weapons Taliban Russian.",
                             "Moscow weapons Taliban Russian."),
        "/smuggled": html_page("Smuggled",
                               "officials said Russian weapons were smuggled to the Taliban",
                               h1=True),
    })
    config = write_config(tmp_path / "config", [outlet("bug", "bug.test", feed)])
    (config / "narratives.yml").write_text(
        "- id: bug\n  title: Bug\n  query: 'NEAR(\"russian weapons\" taliban) OR NEAR(moscow taliban)'\n")
    db_path = tmp_path / "a.db"
    result = run_crawl(server, ["feeds"], db_path, config, settings=IN_ORDER)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = query(db_path, "SELECT a.title, m.snippet FROM articles a"
                          " LEFT JOIN mentions m ON m.article_id = a.id ORDER BY a.id")
    assert [r["title"] for r in rows] == ["Smuggled", "Moscow and the Taliban"]
    assert all(r["snippet"] for r in rows), rows
    assert "<mark>Moscow</mark>" in rows[1]["snippet"]
    assert query(db_path, "SELECT errors FROM crawl_runs")[0]["errors"] == 0
    # The archive does reproduce the bug: a plain snippet() scan fails on it.
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        query(db_path, f"SELECT {narratives.SNIPPET_SQL} FROM articles_fts"
                       " WHERE articles_fts MATCH ?", [SNIPPET_BUG_QUERY])


KILLED_BEFORE_MATCHING = """
import os, signal, sys
from narrative_archive.match import narratives
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 between storing an article and its mentions
narratives.match_article = killed
from narrative_archive.cli import cli
cli(sys.argv[1:])
"""


def test_kill_9_between_storing_and_matching_loses_no_mention(server, tmp_path):
    feed = feed_site(server, "kill.test", {"/arms": html_page(
        "Russia arming the Taliban", "A US general said Russia supplied weapons to the Taliban"
        " across the Tajik border, and Moscow denied it the next day.")})
    config = write_config(tmp_path / "config", [outlet("kill", "kill.test", feed)])
    db_path = tmp_path / "a.db"
    command = crawl_command(["feeds"], db_path, config)
    assert command[1:4] == ["-m", "narrative_archive", "crawl"]
    killed = subprocess.run([command[0], "-c", KILLED_BEFORE_MATCHING, *command[3:]],
                            env=crawl_env(server), cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"] == 0  # not half-stored

    resumed = run_crawl(server, ["feeds"], db_path, config)  # the next run, as the scheduler would
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = query(db_path, "SELECT a.url, m.narrative_id FROM articles a"
                          " LEFT JOIN mentions m ON m.article_id = a.id")
    assert rows == [{"url": "http://kill.test/arms", "narrative_id": "russia-arming-taliban"}]


REAL = html_page("US general: Russia is arming the Taliban",
                 "A US general said Russia supplied weapons to the Taliban across the Tajik"
                 " border; Moscow denied it the next day.")
HIJACK = html_page("Russia never armed anyone, says a blog",
                   "This page claims to be another outlet's article: its canonical link points"
                   " there, and its headline and text are not that article's at all.",
                   head='<link rel="canonical" href="http://real.test/story">')


@pytest.mark.parametrize("order", [("real", "hijack"), ("hijack", "real")])
def test_a_canonical_on_another_domain_cannot_take_over_an_article(server, tmp_path, order):
    outlets = [outlet("real", "real.test", feed_site(server, "real.test", {"/story": REAL})),
               outlet("hijack", "hijack.test", feed_site(server, "hijack.test", {"/copy": HIJACK}))]
    config = write_config(tmp_path / "config", outlets)
    db_path = tmp_path / "a.db"
    for outlet_id in order:
        result = run_crawl(server, ["feeds"], db_path, config, "--outlet", outlet_id)
        assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["outlet_id"]: r for r in query(
        db_path, "SELECT outlet_id, url, canonical_url, claimed_canonical_url, title FROM articles")}
    assert rows["real"] == {"outlet_id": "real", "url": "http://real.test/story",
                            "canonical_url": "http://real.test/story",
                            "claimed_canonical_url": None,
                            "title": "US general: Russia is arming the Taliban"}
    assert rows["hijack"]["canonical_url"] == "http://hijack.test/copy"  # keyed on where it is
    assert rows["hijack"]["claimed_canonical_url"] == "http://real.test/story"  # what it said
    assert query(db_path, "SELECT a.outlet_id FROM mentions m JOIN articles a"
                          " ON a.id = m.article_id") == [{"outlet_id": "real"}]


def test_which_canonical_urls_are_trusted():
    from narrative_archive.urls import registrable_domain, trusted_canonical

    assert registrable_domain("https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert registrable_domain("http://news.tass.test/a") == "tass.test"  # no public suffix
    assert registrable_domain("http://127.0.0.1:8000/a") == "127.0.0.1"
    assert registrable_domain("https://a.blogspot.com/") == "a.blogspot.com"  # private suffix
    page = "https://m.example.com/2024/story?amp=1"
    assert trusted_canonical(page, "https://www.example.com/2024/story")
    assert not trusted_canonical(page, "https://other.example.net/2024/story")
    assert not trusted_canonical("https://a.blogspot.com/x", "https://b.blogspot.com/x")
    # A domain the same outlet owns (outlets.yml `domains`) is trusted.
    assert trusted_canonical("https://www.bbc.com/news/1", "https://www.bbc.co.uk/news/1",
                             ("bbc.co.uk", "bbc.com"))
    assert not trusted_canonical("https://www.bbc.com/news/1", "https://evil.bbc.co.uk.test/x",
                                 ("bbc.co.uk", "bbc.com"))


def test_listed_again_is_seen_again_and_a_bad_date_is_a_warning(server, tmp_path):
    bad_date = html_page(
        "Russia arming the Taliban", "A US general said Russia supplied weapons to the Taliban"
        " across the Tajik border, and Moscow denied it the next day.",
        head='<script type="application/ld+json">{"@type": "NewsArticle",'
             ' "datePublished": "0001-01-01T00:00:00Z"}</script>')
    feed = feed_site(server, "seen.test", {"/a": bad_date},
                     dates={"/a": "Mon, 20 May 2024 08:05:00 GMT"})
    config = write_config(tmp_path / "config", [outlet("seen", "seen.test", feed)])
    db_path = tmp_path / "a.db"
    first = run_crawl(server, ["feeds"], db_path, config)
    assert first.returncode == 0, first.stderr[-2000:]
    [row] = query(db_path, "SELECT published_at, warnings FROM articles")
    assert row["published_at"] == "2024-05-20T08:05:00Z"  # the feed's date
    assert "implausible date" in row["warnings"]
    [run] = query(db_path, "SELECT errors, warnings, new_articles FROM crawl_runs")
    assert run == {"errors": 0, "warnings": 1, "new_articles": 1}
    assert query(db_path, "SELECT * FROM crawl_errors") == []
    assert query(db_path, "SELECT consecutive_failures FROM outlet_health") == [
        {"consecutive_failures": 0}]

    db = store.open_db(db_path)  # as if the first crawl was a day ago
    db.execute("UPDATE articles SET last_seen_at = '2024-05-20T09:00:00Z'")
    db.close()
    again = run_crawl(server, ["feeds"], db_path, config)  # listed again, not refetched
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert server.fetched("seen.test", "/a") == 1
    [row] = query(db_path, "SELECT last_seen_at, fetched_at FROM articles")
    assert row["last_seen_at"] > "2024-05-20T09:00:00Z"
    assert row["last_seen_at"] >= row["fetched_at"]
