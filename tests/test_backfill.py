"""`narrative-archive backfill` against fixture archives: a Wayback CDX server with raw
replay, a Common Crawl index with WARC records served by byte range, Media Cloud's
search API; plus the pure clients of narrative_archive.sources"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from narrative_archive.cli import cli
from narrative_archive.config import load_config
from narrative_archive.sources import commoncrawl, mediacloud, terms, wayback
from narrative_archive.spiders.archive import soft_404, sources_for
from tests.archives import CC_DATA, RANGE, RU_SLUG, Archives, backfill, cdx_rows, warc_file
from tests.fixture_server import query, write_config


@pytest.fixture
def archives():
    with Archives() as fixture:
        yield fixture


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path / "config")

# --- end to end ----------------------------------------------------------------------------


def test_wayback_backfill_stores_archived_copies_with_provenance(archives, config, tmp_path):
    db = tmp_path / "archive.db"
    # Page 2 of dawn's listing (resume key 3) answers 429 once, page 3 is truncated once.
    archives.failures = {"3": [429], "6": ["truncated"]}
    result = backfill(archives, db, config, "russia-arming-taliban", *RANGE)
    assert result.returncode == 0, result.stderr[-3000:]

    rows = query(db, "SELECT url, outlet_id, via, archive_source, archive_url, archived_at,"
                     " published_at FROM articles ORDER BY url")
    by_url = {row["url"]: row for row in rows}
    arming = by_url["http://dawn.test/news/1320001/russia-arming-taliban-says-us-general"]
    assert arming == {
        "url": "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
        "outlet_id": "dawn", "via": "archive", "archive_source": "wayback",
        "archive_url": "http://wayback.test/web/20170315120000/"
                       "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
        "archived_at": "2017-03-15T12:00:00Z", "published_at": "2017-03-15T09:00:00Z"}
    # The archived copy is evidence too: its WARC capture is the archive's response.
    [capture] = query(db, "SELECT c.url, c.source, c.status FROM captures c"
                          " JOIN articles a ON a.id = c.article_id WHERE a.url = ?",
                      [arming["url"]])
    assert capture["source"] == "wayback" and capture["status"] == 200
    assert "/web/20170315120000id_/" in capture["url"]
    # The capture that redirected to another capture was followed, once.
    denial = by_url["http://dawn.test/news/1330002/taliban-deny-russian-support"]
    assert denial["archived_at"] == "2017-11-03T00:00:00Z" and denial["published_at"] is None
    # Cyrillic slugs are found percent-encoded; the id-only URL is the strategy's blind spot.
    assert any("tass.test/world/" in url for url in by_url)
    assert "http://tass.test/politika/4123457" not in by_url
    assert "http://dawn.test/news/1400009/cricket-scores" not in by_url  # no slug term
    assert not any("taliban-later" in url for url in by_url)  # captured after --until
    assert set(by_url) == {
        "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
        "http://dawn.test/news/1330002/taliban-deny-russian-support",
        "http://dawn.test/news/1380007/taliban-talks",
        f"http://tass.test/world/{unquote(RU_SLUG)}-4123456",
    } or set(by_url) == {  # extraction may keep the URL percent-encoded
        "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
        "http://dawn.test/news/1330002/taliban-deny-russian-support",
        "http://dawn.test/news/1380007/taliban-talks",
        f"http://tass.test/world/{RU_SLUG}-4123456",
    }

    mentions = query(db, "SELECT a.url, d.dated_at, d.date_source FROM mentions m"
                         " JOIN articles a ON a.id = m.article_id"
                         " JOIN article_dates d ON d.article_id = a.id"
                         " WHERE m.narrative_id = 'russia-arming-taliban' ORDER BY a.url")
    dated = {row["url"].rsplit("/", 1)[-1]: (row["dated_at"], row["date_source"])
             for row in mentions}
    assert dated["russia-arming-taliban-says-us-general"] == ("2017-03-15T09:00:00Z", "published")
    # No date on the page: the timeline uses the capture's, not the day we fetched it.
    assert dated["taliban-deny-russian-support"] == ("2017-11-03T00:00:00Z", "archived")
    assert len(mentions) == 3  # the talks with elders are stored, but mention nothing

    # Every capture fetched once; the duplicate collapsed; skips and failures have reasons.
    assert max(archives.fetches().values()) == 1
    assert not any("20170316120000" in key for key in archives.fetches())
    states = {row["url"].rsplit("/", 1)[-1]: (row["state"], row["reason"]) for row in query(
        db, "SELECT url, state, reason FROM backfill_captures WHERE state != 'pending'")}
    assert states["taliban-photo"] == ("skipped", "not HTML (image/jpeg)")
    assert states["taliban-soft"] == ("skipped", "an error page served as 200 (soft 404)")
    assert states["taliban-removed"] == ("failed", "HTTP 404 from the archive")
    assert states["taliban-loop"] == ("failed", "the capture redirects more than once")

    run = query(db, "SELECT spider, status, args FROM crawl_runs")[0]
    assert run["spider"] == "backfill" and run["status"] == "ok"
    errors = {row["reason"] for row in query(db, "SELECT reason FROM crawl_errors")}
    assert "wayback: HTTP 404 from the archive" in errors
    # The 429 and the truncated page were asked again, and the listing went on.
    resume_keys = [q.get("resumeKey") for q in archives.cdx_queries if q["url"] == "dawn.test"]
    assert resume_keys.count("3") == 2 and resume_keys.count("6") == 2
    domains = [q for q in archives.cdx_queries if q.get("matchType") == "domain"]
    assert domains and all(q["collapse"] == "urlkey" and q["from"] == "20170101"
                           and q["to"] == "20181231" for q in domains)

    # Again: the listings are done and every capture is known: nothing is fetched twice.
    before = Counter(archives.hits)
    again = backfill(archives, db, config, "russia-arming-taliban", *RANGE)
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert archives.hits == before
    assert query(db, "SELECT count(*) AS n FROM articles")[0]["n"] == len(rows)


def test_an_interrupted_backfill_resumes_and_fetches_nothing_twice(archives, config, tmp_path):
    db = tmp_path / "archive.db"
    # The first run stops on a broken page (truncated three times) and after one capture
    # per outlet (--limit): what it listed but did not fetch, and the rest of the listing,
    # are left for the next run.
    archives.failures = {"3": ["truncated"] * 3}
    first = backfill(archives, db, config, *RANGE, "--limit", "1", "--outlet", "dawn")
    assert first.returncode == 0, first.stderr[-3000:]
    assert query(db, "SELECT count(*) AS n FROM articles")[0]["n"] == 1
    assert query(db, "SELECT count(*) AS n FROM crawl_errors WHERE reason LIKE "
                     "'truncated CDX answer%'")[0]["n"] == 1
    cursor = query(db, "SELECT resume_key, done FROM backfill_cursors WHERE domain = 'dawn.test'")
    assert cursor == [{"resume_key": "3", "done": 0}]

    queries_before = len(archives.cdx_queries)
    second = backfill(archives, db, config, *RANGE, "--outlet", "dawn")
    assert second.returncode == 0, second.stderr[-3000:]
    resumed = archives.cdx_queries[queries_before:]
    assert [q.get("resumeKey") for q in resumed] == ["3", "6"]  # not from the start
    assert max(archives.fetches().values()) == 1
    stored = {row["url"].rsplit("/", 1)[-1] for row in query(db, "SELECT url FROM articles")}
    assert stored == {"russia-arming-taliban-says-us-general", "taliban-deny-russian-support",
                      "taliban-talks"}


def test_a_capture_the_archive_cannot_serve_now_is_fetched_by_the_next_run(archives, config,
                                                                           tmp_path):
    db = tmp_path / "archive.db"
    arming = cdx_rows()[0][1]
    busy = f"/web/20170315120000id_/{arming}"
    archives.busy = {busy: 1}  # asks for an hour's wait: more than a run waits for
    first = backfill(archives, db, config, *RANGE, "--outlet", "dawn")
    assert first.returncode in (0, 1), first.stderr[-3000:]
    assert arming not in {row["url"] for row in query(db, "SELECT url FROM articles")}
    assert query(db, "SELECT state FROM backfill_captures WHERE url = ?", [arming]) == [
        {"state": "pending"}]
    assert any("HTTP 429" in row["reason"] for row in query(db, "SELECT reason FROM crawl_errors"))

    second = backfill(archives, db, config, *RANGE, "--outlet", "dawn")
    assert second.returncode == 0, second.stderr[-3000:]
    assert arming in {row["url"] for row in query(db, "SELECT url FROM articles")}
    fetched = archives.fetches()
    assert fetched[f"wayback.test {busy}"] == 2  # the 429, then the capture
    assert max(count for key, count in fetched.items() if key != f"wayback.test {busy}") == 1


def test_common_crawl_records_by_byte_range(archives, config, tmp_path):
    db = tmp_path / "archive.db"
    result = backfill(archives, db, config, *RANGE, "--source", "commoncrawl")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = query(db, "SELECT url, outlet_id, archive_source, archive_url, archived_at"
                     " FROM articles")
    assert len(rows) == 1
    row = rows[0]
    assert row["outlet_id"] == "aljazeera" and row["archive_source"] == "commoncrawl"
    assert row["archived_at"] == "2017-07-22T03:04:05Z"
    assert row["archive_url"].startswith(
        f"{CC_DATA}/crawl-data/CC-MAIN-2017-30/part-00001.warc.gz#offset=0&length=")
    assert query(db, "SELECT count(*) AS n FROM mentions")[0]["n"] == 1
    # Only the crawl overlapping the range was asked.
    asked = {key.split(" ")[1] for key in archives.hits if key.startswith("cc-index.test")}
    assert "/CC-MAIN-2016-50-index" not in asked and "/CC-MAIN-2019-10-index" not in asked
    assert "/CC-MAIN-2017-30-index" in asked
    # Each record fetched once, by its byte range; the PDF is skipped with its reason.
    assert archives.hits["cc-data.test /crawl-data/CC-MAIN-2017-30/part-00001.warc.gz"] == 2
    assert query(db, "SELECT state, reason FROM backfill_captures WHERE url LIKE '%.pdf'") == [
        {"state": "skipped", "reason": "not HTML (application/pdf)"}]


def test_media_cloud_stories_fetched_live_else_from_the_wayback_machine(archives, config,
                                                                         tmp_path):
    db = tmp_path / "archive.db"
    captures = tmp_path / "captures"  # with WARC capture on, whose files may be published
    result = backfill(archives, db, config, "russia-arming-taliban", *RANGE, "--source",
                      "mediacloud", environ={"NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": "test-key"},
                      NARRATIVE_ARCHIVE_MEDIACLOUD_COLLECTIONS="34412234",
                      NARRATIVE_ARCHIVE_CAPTURES=str(captures))
    assert result.returncode == 0, result.stderr[-3000:]
    # The key is read from the environment, and kept out of the WARC request records.
    warcs = b"".join(gzip.decompress(path.read_bytes()) for path in captures.rglob("*.warc.gz"))
    assert b"mediacloud.test" in warcs and b"story-list" in warcs
    assert b"test-key" not in warcs and b"test-key" not in db.read_bytes()
    rows = {row["url"]: row for row in query(
        db, "SELECT url, outlet_id, archive_source, archived_at FROM articles")}
    assert rows["http://khaama.test/russia-taliban-weapons-claim"]["archive_source"] is None
    gone = rows["http://tolonews.test/afghanistan/taliban-russian-arms"]
    assert gone["archive_source"] == "wayback" and gone["archived_at"] == "2017-06-02T10:10:10Z"
    assert "http://khaama.test/old-story" not in rows  # published before --since
    assert archives.hits["khaama.test /old-story"] == 0


def test_all_urls_lists_id_only_urls_after_a_size_warning(archives, config, tmp_path):
    db = tmp_path / "archive.db"
    result = backfill(archives, db, config, *RANGE, "--outlet", "tass", "--all-urls")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--all-urls: the Wayback index holds 2 page(s) of captures for tass.test" in (
        result.stderr)
    urls = {row["url"] for row in query(db, "SELECT url FROM articles")}
    assert "http://tass.test/politika/4123457" in urls
    listing = [q for q in archives.cdx_queries if "showNumPages" not in q]
    assert listing and not any(f.startswith("original:") for q in listing
                               for f in [q.get("filter", "")])


# --- bad input: clear errors before anything is fetched --------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--source", "archive-today"], "Invalid value for '--source'"),
    (["--source", "mediacloud"], "needs a Media Cloud API key"),
    (["no-such-narrative"], "unknown narrative: no-such-narrative"),
    (["--outlet", "nope"], "unknown outlet: nope"),
])
def test_bad_arguments_exit_2_before_fetching(tmp_path, config, args, message):
    result = CliRunner().invoke(cli, ["backfill", *args, *RANGE, "--db", str(tmp_path / "a.db"),
                                      "--config", str(config)], env={
                                          "NARRATIVE_ARCHIVE_MEDIACLOUD_KEY": ""})
    assert result.exit_code == 2, result.output
    assert message in result.output
    if (tmp_path / "a.db").exists():
        assert query(tmp_path / "a.db", "SELECT count(*) AS n FROM crawl_runs")[0]["n"] == 0


def test_sources():
    assert sources_for(None, None) == ["wayback"]
    assert sources_for(None, "key") == ["wayback", "mediacloud"]
    assert sources_for("all", None) == ["wayback", "commoncrawl", "mediacloud", "gdelt"]
    with pytest.raises(ValueError, match="unknown source 'bing'"):
        sources_for("bing", None)


# --- the clients -------------------------------------------------------------------------------


def test_slug_terms_cover_every_language_variant():
    narratives = {n.id: n for n in load_config(Path(__file__).parent / "files" / "crawl").narratives}
    found = terms.narrative_terms([narratives["russia-arming-taliban"]])
    assert set(found) == {"taliban", "талиб", "طالبان"}
    assert terms.narrative_terms([narratives["afghan-ghost-soldiers"]]) == ["soldier"]
    regex = terms.url_regex(found)
    assert re.fullmatch(regex, "https://tass.ru/world/%D1%82%D0%B0%D0%BB%D0%B8%D0%B1%D1%8B-1")
    assert re.fullmatch(regex, "https://dawn.com/news/1/Taliban-deny")
    assert re.fullmatch(regex, "https://aljazeera.net/news/لطالبان-1")
    assert not re.fullmatch(regex, "https://tass.ru/politika/4123457")


def test_cdx_answers():
    page = wayback.parse_cdx(json.dumps([
        list(wayback.FIELDS), ["k", "20170315120000", "http://a.test/x", "text/html", "200", "D",
                               "12"], [], ["next key"]]).encode())
    assert page.resume_key == "next key"
    assert page.captures == [wayback.Capture("http://a.test/x", "20170315120000", "text/html",
                                             "200", "D", 12)]
    assert wayback.parse_cdx(b"").captures == []
    with pytest.raises(ValueError, match="truncated CDX answer"):
        wayback.parse_cdx(b'[["urlkey"],["a')
    with pytest.raises(ValueError, match="not a CDX answer: <html>"):
        wayback.parse_cdx(b"<html><body>Service Unavailable</body></html>")
    assert wayback.capture_of("https://web.archive.org", "/web/20170101000000id_/http://a.test/b?c=1"
                              ) == ("20170101000000", "http://a.test/b?c=1")
    assert wayback.capture_of("https://web.archive.org", "http://a.test/b") is None
    url = wayback.cdx_url("https://web.archive.org", "dawn.com", num_pages=True,
                          since=datetime(2017, 1, 1, tzinfo=UTC), until=None)
    assert "showNumPages=true" in url and "output=json" not in url


def test_common_crawl_clients():
    crawls = commoncrawl.parse_collinfo(json.dumps([
        {"id": "CC-MAIN-2017-04", "from": "2017-01-16T00:00:00", "to": "2017-01-24T00:00:00"},
        {"id": "CC-MAIN-2018-51", "from": "2018-12-09T00:00:00", "to": "2018-12-19T00:00:00"},
        {"id": "CC-MAIN-2019-04", "from": "2019-01-15T00:00:00", "to": "2019-01-24T00:00:00"},
    ]).encode())
    chosen = commoncrawl.crawls_between(crawls, datetime(2017, 1, 20, tzinfo=UTC),
                                        datetime(2018, 12, 31, tzinfo=UTC))
    assert [c.id for c in chosen] == ["CC-MAIN-2017-04", "CC-MAIN-2018-51"]
    record = commoncrawl.Record("http://a.test/", "20170120000000", "f.warc.gz", 100, 50)
    assert commoncrawl.byte_range(record) == "bytes=100-149"
    data, where = warc_file()
    offset, length = next(iter(where.values()))
    response = commoncrawl.read_record(data[offset:offset + length])
    assert response.status == 200 and response.content_type == "text/html"
    assert "روسيا".encode() in response.body
    with pytest.raises(ValueError, match="unreadable WARC record|no HTTP response"):
        commoncrawl.read_record(b"not a warc record")


def test_media_cloud_query_and_answers():
    narratives = {n.id: n for n in load_config(Path(__file__).parent / "files" / "crawl").narratives}
    assert mediacloud.narrative_query(narratives["afghan-ghost-soldiers"]) == (
        "ghost AND soldier* AND afghan*")
    assert mediacloud.narrative_query(narratives["russia-arming-taliban"]).startswith(
        "(russia* AND taliban* AND (arm OR weapon* OR supplie*)) OR (росси* AND талиб*")
    stories, token = mediacloud.parse_story_list(json.dumps({"stories": [
        {"url": "http://a.test/1", "title": "T", "publish_date": "2017-04-04 10:00:00"}],
        "pagination_token": "next"}).encode())
    assert token == "next" and stories[0].published_at == "2017-04-04T10:00:00Z"
    with pytest.raises(ValueError, match="Media Cloud answered: <html>"):
        mediacloud.parse_story_list(b"<html>Bad gateway</html>")


def test_soft_404():
    assert soft_404(b"<html><head><title>404 - Page not found</title></head></html>")
    assert soft_404("<title>Страница не найдена</title>".encode())
    assert not soft_404(b"<title>Taliban deny Russian support</title>")


def test_pages_whose_url_names_nothing_are_found_through_archived_feeds_and_sitemaps(
        archives, config, tmp_path):
    """Archived copies of the outlets' feeds and sitemaps (one CDX query each, a copy a day)
    name pages whose URL is only an id: an entry whose title carries a narrative's term is
    looked up by its replay URL (the archive redirects to its nearest copy; no CDX query
    per page), or fetched live when the archive has none."""
    from tests.archives import DAWN_NEWS, ID_ONLY_ARCHIVED, ID_ONLY_LIVE, add_archived_listings

    db = tmp_path / "archive.db"
    add_archived_listings(archives)
    result = backfill(archives, db, config, "russia-arming-taliban", *RANGE)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row["url"]: row for row in query(
        db, "SELECT url, archive_source, archived_at, published_at FROM articles")}
    assert rows[ID_ONLY_ARCHIVED]["archive_source"] == "wayback"
    assert rows[ID_ONLY_ARCHIVED]["archived_at"] == "2017-05-06T00:00:00Z"
    assert rows[ID_ONLY_LIVE]["archive_source"] is None  # not archived: the live page
    assert rows[ID_ONLY_LIVE]["published_at"] == "2017-11-30T09:00:00Z"
    assert "http://tass.test/sport/4123999" not in rows  # its title names nothing
    assert "http://dawn.test/news/1360100" not in rows
    asked = {q["url"] for q in archives.cdx_queries}
    assert ID_ONLY_ARCHIVED not in asked and ID_ONLY_LIVE not in asked  # no CDX per page
    assert archives.fetches()[f"wayback.test /web/20171201000000id_/{DAWN_NEWS}"] == 1
    read = query(db, "SELECT url, reason FROM backfill_captures WHERE state = 'read'")
    assert {row["url"] for row in read} == {"http://tass.test/rss/v2.xml", DAWN_NEWS,
                                            "http://dawn.test/sitemap-index.xml"}

    before = Counter(archives.hits)
    again = backfill(archives, db, config, "russia-arming-taliban", *RANGE)
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert archives.hits == before  # read copies and fetched candidates: not asked again


def test_gdelt_articles_of_the_last_three_months_are_candidates(archives, config, tmp_path):
    """GDELT DOC 2.0 searches the last three months only: for a range that reaches into
    them, its articles (English query, requests of at most 250 characters, 5 s apart on
    the test clock) are looked up in the Wayback Machine, and fetched live when it has
    no copy."""
    from datetime import timedelta

    db = tmp_path / "archive.db"
    archives.gdelt_articles = [
        {"url": "http://khaama.test/russia-taliban-weapons-claim", "title": "Claim"},
        {"url": "http://elsewhere.test/story", "title": "Not an outlet of the config"}]
    since = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%d")
    result = backfill(archives, db, config, "russia-arming-taliban", "--since", since,
                      "--until", datetime.now(UTC).strftime("%Y-%m-%d"), "--outlet", "khaama")
    assert result.returncode == 0, result.stderr[-3000:]
    assert archives.gdelt.queries and archives.gdelt.refusals == []
    assert all(len(q) <= 250 and q.isascii() for q in archives.gdelt.queries)
    rows = query(db, "SELECT url, archive_source FROM articles")
    assert rows == [{"url": "http://khaama.test/russia-taliban-weapons-claim",
                     "archive_source": None}]
    assert archives.hits["elsewhere.test /story"] == 0  # --outlet khaama: not its page
