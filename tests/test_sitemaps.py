"""The sitemaps spider: sitemap parsing, then date-filtered crawls of fixture outlets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from narrative_archive.spiders.sitemaps import parse_sitemap, robots_sitemaps
from tests.fixture_server import FixtureServer, Reply, query, run_crawl, write_config

FILES = Path(__file__).parent / "files" / "sitemaps"
BASE = "https://www.example.com/sitemap.xml"


def sitemap(name: str):
    return parse_sitemap((FILES / name).read_bytes(), BASE)


# --- parsing ------------------------------------------------------------------------------


def test_sitemap_index_with_lastmod_and_relative_loc():
    result = sitemap("index.xml")
    assert result.kind == "index"
    assert [(e.loc, e.lastmod) for e in result.entries] == [
        ("https://www.example.com/sitemap-news.xml", datetime(2024, 5, 21, 10, tzinfo=UTC)),
        ("https://www.example.com/sitemap-2019-06.xml.gz", datetime(2019, 6, 30, tzinfo=UTC)),
        ("https://www.example.com/sitemap-relative.xml", None),
    ]


def test_google_news_sitemap_fields():
    first, lastmod_only, undated, bad = sitemap("news.xml").entries
    assert first.loc == "https://www.example.com/world/2024/05/21/russia-taliban"
    assert first.published == datetime(2024, 5, 21, 5, 30, tzinfo=UTC)  # +05:00 → UTC
    assert first.title == "Russia & the Taliban: what the general said"
    assert first.language == "en"
    assert first.date == first.published  # the publication date wins over lastmod
    assert lastmod_only.date == datetime(2024, 5, 20, tzinfo=UTC)
    assert undated.date is None and bad.date is None  # "last Tuesday" is no date


def test_implausible_sitemap_dates_count_as_none():
    body = b"""<?xml version="1.0"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://www.example.com/future</loc><lastmod>2999-01-01</lastmod></url>
      <url><loc>https://www.example.com/epoch</loc><lastmod>1970-01-01T00:00:00Z</lastmod></url>
      <url><loc>https://www.example.com/fallback</loc><lastmod>2024-05-20</lastmod>
        <news:news><news:publication_date>2999-05-20T10:00:00Z</news:publication_date></news:news>
      </url>
    </urlset>"""
    future, epoch, fallback = parse_sitemap(body, BASE).entries
    assert future.date is None and epoch.date is None
    assert fallback.published is None and fallback.date == datetime(2024, 5, 20, tzinfo=UTC)


def test_wrong_namespace_and_short_w3c_times():
    a, b = sitemap("wrong_namespace.xml").entries
    assert a.loc == "https://www.example.com/a"
    assert a.lastmod == datetime(2024, 5, 19, 2, 30, tzinfo=UTC)
    assert b.lastmod is None


def test_plain_text_sitemap():
    result = sitemap("plain.txt")
    assert result.kind == "urlset"
    assert [e.loc for e in result.entries] == ["https://www.example.com/plain-1",
                                               "https://www.example.com/plain-2"]


def test_external_entities_are_not_resolved():
    [entry] = sitemap("entities.xml").entries
    assert "root:" not in entry.loc


@pytest.mark.parametrize("body", [b"<html><body>Not a sitemap</body></html>", b"no urls here",
                                  b""])
def test_not_a_sitemap(body):
    with pytest.raises(ValueError):
        parse_sitemap(body)


def test_a_truncated_sitemap_yields_what_arrived():
    body = (FILES / "news.xml").read_bytes()
    cut = body[:body.index(b"<url>", body.index(b"lastmod-only"))]
    assert [e.loc for e in parse_sitemap(cut).entries] == [
        "https://www.example.com/world/2024/05/21/russia-taliban",
        "https://www.example.com/world/2024/05/20/lastmod-only"]


def test_robots_txt_sitemap_lines():
    robots = "User-agent: *\nDisallow: /search\nSitemap: /news.xml\nsitemap:https://cdn.example.com/s.xml\n"
    assert robots_sitemaps(robots, "https://example.com/robots.txt") == [
        "https://example.com/news.xml", "https://cdn.example.com/s.xml"]


# --- end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with FixtureServer() as fixture:
        yield fixture


@pytest.fixture(scope="module")
def recent(server, tmp_path_factory):
    """sitemaps --since 2024-05-01: what the outlets published in May 2024."""
    tmp = tmp_path_factory.mktemp("sitemaps")
    config = write_config(tmp / "config")
    before = dict(server.hits)
    result = run_crawl(server, ["sitemaps"], tmp / "archive.db", config, "--since", "2024-05-01")
    hits = {key: count - before.get(key, 0) for key, count in server.hits.items()}
    return SimpleNamespace(result=result, db_path=tmp / "archive.db", hits=hits)


def test_recent_entries_are_fetched(recent):
    assert recent.result.returncode == 0, recent.result.stderr[-3000:]
    rows = query(recent.db_path, "SELECT canonical_url, outlet_id, via FROM articles")
    assert {row["canonical_url"] for row in rows} == {
        "http://dawn.test/news/1830001",
        "http://dawn.test/news/1830002",
        "http://dawn.test/news/1830004",
        "http://dawn.test/news/1830003",  # from the gzipped sitemap
        "http://dawn.test/news/1830005",  # from the gzipped sitemap
        "http://tolonews.test/afghanistan-190001",  # its sitemap came from robots.txt
    }
    assert {row["via"] for row in rows} == {"sitemap"}


def test_old_sitemaps_and_entries_are_not_fetched(recent):
    assert recent.hits.get(("dawn.test", "/sitemaps/2019-06.xml"), 0) == 0  # index lastmod 2019
    assert recent.hits.get(("dawn.test", "/news/1490001"), 0) == 0  # listed, published 2019
    assert recent.hits[("dawn.test", "/sitemaps/news.xml")] == 1


def test_news_sitemap_date_when_the_page_has_only_a_guess(recent):
    [row] = query(recent.db_path, "SELECT published_at, title FROM articles"
                                  " WHERE canonical_url = 'http://dawn.test/news/1830004'")
    # The page has no date of its own; the news sitemap's publication date is used.
    assert row == {"published_at": "2024-05-21T11:20:00Z",
                   "title": "Kabul denies receiving Russian weapons"}


def test_sitemap_run_and_mentions(recent):
    [run] = query(recent.db_path, "SELECT * FROM crawl_runs")
    assert (run["spider"], run["status"], run["new_articles"], run["errors"]) == (
        "sitemaps", "ok", 6, 0)
    assert '"since": "2024-05-01"' in run["args"]
    found = {(r["canonical_url"], r["narrative_id"]) for r in query(
        recent.db_path, "SELECT canonical_url, narrative_id FROM mentions"
                        " JOIN articles ON articles.id = article_id")}
    assert found == {("http://dawn.test/news/1830001", "russia-arming-taliban"),
                     ("http://dawn.test/news/1830004", "russia-arming-taliban"),  # a denial
                     ("http://tolonews.test/afghanistan-190001", "us-weapons-left-behind")}


def test_backfill_a_date_range(server, tmp_path):
    config = write_config(tmp_path / "config")
    result = run_crawl(server, ["sitemaps"], tmp_path / "archive.db", config,
                       "--outlet", "dawn", "--since", "2019-06-01", "--until", "2019-06-30")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = query(tmp_path / "archive.db", "SELECT canonical_url, published_at FROM articles")
    assert rows == [{"canonical_url": "http://dawn.test/news/1490001",
                     "published_at": "2019-06-10T04:00:00Z"}]
    errors = query(tmp_path / "archive.db", "SELECT url, reason FROM crawl_errors")
    assert errors == [{"url": "http://dawn.test/news/1490002", "reason": "HTTP 404"}]
    assert "skipped" in result.stdout  # the undated entry is skipped, and counted


# --- caps: one outlet cannot take the whole run ---------------------------------------------

HUGE = {"id": "huge", "name": "Huge (fixture)", "url": "http://huge.test/", "domains": ["huge.test"],
        "country": "US", "language": "en", "kind": "blog",
        "sitemaps": ["http://huge.test/sitemap-index.xml"]}


def huge_index(server: FixtureServer, children: int) -> None:
    """huge.test: a sitemap index listing `children` sitemaps, none of which exists."""
    entries = "".join(f"<sitemap><loc>http://huge.test/sitemaps/{n}.xml</loc>"
                      f"<lastmod>{datetime.now(UTC):%Y-%m-%d}</lastmod></sitemap>"
                      for n in range(children))
    body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</sitemapindex>").encode()
    server.add("huge.test", "/sitemap-index.xml", Reply(200, body, {"Content-Type": "text/xml"}))


def huge_hits(server: FixtureServer) -> int:
    return sum(n for (host, path), n in server.hits.items()
               if host == "huge.test" and path != "/robots.txt")


def test_requests_per_outlet_are_capped(tmp_path):
    with FixtureServer() as server:
        huge_index(server, 200)
        config = write_config(tmp_path / "config", [HUGE])
        result = run_crawl(server, ["sitemaps"], tmp_path / "archive.db", config, settings={
            "NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET": "20",
            "NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET": "0"})
        assert huge_hits(server) == 20  # the index and 19 of its sitemaps
    assert result.returncode == 0, result.stderr[-3000:]
    reasons = [row["reason"] for row in query(tmp_path / "archive.db",
                                              "SELECT reason FROM crawl_errors WHERE kind = 'error'")]
    assert reasons == ["HTTP 404"] * 19
    skipped = query(tmp_path / "archive.db", "SELECT DISTINCT reason FROM crawl_errors"
                                             " WHERE kind = 'skipped'")
    assert skipped == [{"reason": "request cap reached: 20 requests to huge in this run"
                        " (NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET); the rest waits for the"
                        " next run"}]
    [run] = query(tmp_path / "archive.db", "SELECT errors, skipped FROM crawl_runs")
    assert run == {"errors": 19, "skipped": 181}  # every sitemap not asked for has its row
    assert "huge: 181 requests not made in this run" in result.stderr


def test_an_outlet_that_keeps_failing_is_left_for_the_next_run(tmp_path):
    with FixtureServer() as server:
        huge_index(server, 200)
        config = write_config(tmp_path / "config", [HUGE])
        result = run_crawl(server, ["sitemaps"], tmp_path / "archive.db", config, settings={
            "NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET": "5", "CONCURRENT_REQUESTS": "1"})
        hits = huge_hits(server)
    assert result.returncode == 0, result.stderr[-3000:]
    reasons = [row["reason"] for row in query(tmp_path / "archive.db",
                                              "SELECT reason FROM crawl_errors WHERE kind = 'error'")]
    assert reasons == ["HTTP 404"] * (hits - 1) and hits - 1 == 5  # the index, 5 of 200 sitemaps
    skipped = query(tmp_path / "archive.db", "SELECT reason, count(*) AS n FROM crawl_errors"
                                             " WHERE kind = 'skipped' GROUP BY reason")
    assert skipped == [{"reason": "gave up on huge for this run after 5 failed requests"
                                  " (NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET); the rest waits"
                                  " for the next run", "n": 195}]
