"""The revisit spider: stored articles fetched again on a decaying schedule, and what it found.

One real `crawl revisit` against fixture pages that, since the archive stored
them, went 404 or 410, moved (to the same site and to another one), were
edited, answer 304 to a conditional request, fall back to the home page or a
"not found" page (soft 404s), or stand behind a login page or a paywall.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from narrative_archive import store
from narrative_archive.capture import read_record
from narrative_archive.config import load_config
from narrative_archive.crawl.revisit import classify_page, classify_status, parse_schedule
from narrative_archive.extract.article import extract_article, extractor_version
from narrative_archive.match import narratives
from tests.fixture_server import SITES, FixtureServer, Reply, query, run_crawl, write_config

HOST = "dawn.test"
HTML = {"Content-Type": "text/html; charset=utf-8"}
TEMPLATE = (SITES / HOST / "news" / "1830001.html").read_text(encoding="utf-8")
EDIT = ("He did not present the evidence in the open session.",
        "He later withdrew the claim, saying the evidence had not been confirmed.")
PAYWALL = ('<p>WASHINGTON: A senior US commander told a Senate committee on Monday.</p>'
           '<p class="paywall">Subscribe to continue reading. Already a subscriber? Log in.</p>')
LOGIN = (b"<html><head><title>Sign in | DAWN.TEST</title></head><body><form action=/login>"
         b"<input name=user><input type=password name=pw><button>Sign in</button></form>"
         b"</body></html>")
NOT_FOUND = (b"<html><head><title>Page not found - DAWN.TEST</title></head><body><h1>Sorry"
             b"</h1><p>We could not find that page.</p><a href='/'>Home</a></body></html>")
EMPTY = b"<html><head><title>DAWN.TEST</title></head><body><div class=nav></div></body></html>"


def page(slug: str) -> str:
    """A Russia-arming-the-Taliban story at /news/<slug> (its own canonical URL)."""
    return TEMPLATE.replace("1830001", slug)


def url(slug: str, directory: str = "news") -> str:
    return f"http://{HOST}/{directory}/{slug}"


# slug → the replies of its URL (in turn); every one is stored and due unless noted.
CASES = {
    "unchanged": [Reply(200, page("unchanged").encode(),
                        {**HTML, "ETag": '"v1"', "Last-Modified": "Mon, 20 May 2024 08:00:00 GMT"}),
                  Reply(304, b"", {"ETag": '"v1"'})],
    "edited": [Reply(200, page("edited").replace(*EDIT).encode(), HTML)],
    "gone-404": [Reply(404, b"<h1>Not Found</h1>", HTML)],
    "gone-410": [Reply(410, b"<h1>Gone</h1>", HTML)],
    "moved": [Reply(301, b"", {"Location": "/news/moved-new-address"})],
    "offsite": [Reply(302, b"", {"Location": "http://elsewhere.test/story/1"})],
    "home": [Reply(301, b"", {"Location": "/"})],
    "not-found-page": [Reply(200, NOT_FOUND, HTML)],
    "empty": [Reply(200, EMPTY, HTML)],
    "login-redirect": [Reply(302, b"", {"Location": "/account/login?next=/news/login-redirect"})],
    "login-page": [Reply(200, LOGIN, HTML)],
    "paywall": [Reply(200, page("paywall").split('<div class="story__content">')[0].encode()
                      + PAYWALL.encode() + b"</article></div></body></html>", HTML)],
    "forbidden": [Reply(403, b"<h1>Forbidden</h1>", HTML)],
    "server-error": [Reply(503, b"<h1>Unavailable</h1>", HTML)],
}
EXPECTED = {
    "unchanged": ("unchanged", 200, "live"), "edited": ("edited", 200, "edited"),
    "gone-404": ("gone", 404, "gone"), "gone-410": ("gone", 410, "gone"),
    "moved": ("moved", 301, "moved"), "offsite": ("moved", 302, "moved"),
    "home": ("gone", 301, "gone"), "not-found-page": ("gone", 200, "gone"),
    "empty": ("gone", 200, "gone"), "login-redirect": ("blocked", 302, "live"),
    "login-page": ("blocked", 200, "live"), "paywall": ("blocked", 200, "live"),
    "forbidden": ("blocked", 403, "live"), "server-error": ("failing", 503, "live"),
    "robots": ("blocked", None, "live"),
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(db, config, slug: str, html: str, first_seen: datetime, directory: str = "news") -> int:
    """Store a page as a feed crawl would have, first seen at `first_seen`."""
    article = extract_article(html.encode(), url(slug, directory)).to_dict()
    article_id, _ = store.save_article(db, article, "dawn", via="feed", fetched_at=iso(first_seen))
    narratives.match_article(db, article_id, config.narratives)
    return article_id


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("revisit")
    config_dir = write_config(tmp / "config")
    config = load_config(config_dir)
    db_path = tmp / "archive.db"
    db = store.open_db(db_path)
    narratives.sync_config(db, config)
    now = datetime.now(UTC)
    ids = {slug: seed(db, config, slug, page(slug), now - timedelta(days=2)) for slug in CASES}
    # dawn.test's robots.txt disallows /search
    ids["robots"] = seed(db, config, "robots", page("robots"), now - timedelta(days=2), "search")
    ids["not-due"] = seed(db, config, "not-due", page("not-due"), now - timedelta(hours=3))
    quiet = page("no-mention").replace("Taliban", "committee").replace("Russia", "the agency")
    ids["no-mention"] = seed(db, config, "no-mention", quiet, now - timedelta(days=2))
    db.close()
    with FixtureServer() as server:
        for slug, replies in CASES.items():
            server.add(HOST, f"/news/{slug}", *replies)
        # 404s and 403s are a revisit's answers: they do not count against the outlet's cap
        first = run_crawl(server, ["revisit"], db_path, config_dir,
                          settings={"NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET": "2"})
        # The unchanged article's next check is its 7-day one: make it due now.
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE articles SET first_seen_at = ?, last_checked_at = ? WHERE id = ?",
                         [iso(now - timedelta(days=8)), iso(now - timedelta(days=7, hours=12)),
                          ids["unchanged"]])
        second = run_crawl(server, ["revisit"], db_path, config_dir)
        yield SimpleNamespace(db_path=db_path, ids=ids, server=server, first=first,
                              second=second, config_dir=config_dir)


def revisits(world, slug: str) -> list[dict]:
    return query(world.db_path, "SELECT * FROM revisits WHERE article_id = ? ORDER BY id",
                 [world.ids[slug]])


def article(world, slug: str) -> dict:
    return query(world.db_path, "SELECT * FROM articles WHERE id = ?", [world.ids[slug]])[0]


def test_the_revisit_crawls_succeed(world):
    for result in (world.first, world.second):
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
    runs = query(world.db_path, "SELECT spider, status, errors FROM crawl_runs ORDER BY id")
    assert [(r["spider"], r["status"]) for r in runs] == [("revisit", "ok"), ("revisit", "ok")]
    assert runs[0]["errors"] == 1  # the 503, retried and still failing
    errors = query(world.db_path, "SELECT url, reason FROM crawl_errors")
    assert errors == [{"url": url("server-error"), "reason": "revisit: HTTP 503"}]


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_revisit_outcome_is_recorded(world, slug):
    outcome, http_status, status = EXPECTED[slug]
    first = revisits(world, slug)[0]
    assert (first["outcome"], first["http_status"]) == (outcome, http_status), first
    assert first["run_id"] == 1 and first["detail"]
    row = article(world, slug)
    assert row["last_checked_at"] == revisits(world, slug)[-1]["checked_at"]
    assert row["status"] == status


def test_nothing_but_an_edit_becomes_a_new_version(world):
    versions = {slug: query(world.db_path, "SELECT text, origin FROM article_versions"
                            " WHERE article_id = ? ORDER BY id", [article_id])
                for slug, article_id in world.ids.items()}
    assert [v["origin"] for v in versions["edited"]] == ["crawl", "revisit"]
    assert EDIT[1] in versions["edited"][1]["text"] and EDIT[1] in article(world, "edited")["text"]
    for slug in set(EXPECTED) - {"edited"}:
        assert len(versions[slug]) == 1, slug
        assert "Russia is arming the Taliban" in article(world, slug)["text"]  # text kept
    # the edited article still carries its narrative
    mentions = query(world.db_path, "SELECT narrative_id FROM mentions WHERE article_id = ?",
                     [world.ids["edited"]])
    assert [m["narrative_id"] for m in mentions] == ["russia-arming-taliban"]


def test_every_revisit_answer_is_kept_as_the_articles_capture(world):
    """The edit's version points at the WARC record it was extracted from; a 404, a 301 or
    a 304 is kept as evidence on the article too."""
    [edit] = query(world.db_path, "SELECT * FROM article_versions WHERE article_id = ?"
                   " AND origin = 'revisit'", [world.ids["edited"]])
    [capture] = query(world.db_path, "SELECT * FROM captures WHERE id = ?", [edit["capture_id"]])
    assert capture["article_id"] == world.ids["edited"] and capture["status"] == 200
    record = read_record(world.db_path.parent / "captures", capture["warc_file"],
                         capture["offset"], capture["length"])
    assert EDIT[1].encode() in record.body
    assert edit["extractor"] == extractor_version()
    for slug, status in (("gone-404", 404), ("moved", 301), ("unchanged", 304),
                         ("login-page", 200)):
        rows = query(world.db_path, "SELECT status FROM captures WHERE article_id = ?",
                     [world.ids[slug]])
        assert status in [row["status"] for row in rows], slug


def test_moves_keep_the_article_and_record_the_new_address(world):
    moved, offsite = article(world, "moved"), article(world, "offsite")
    assert moved["moved_to"] == url("moved-new-address")
    assert offsite["moved_to"] == "http://elsewhere.test/story/1"
    assert revisits(world, "offsite")[0]["detail"] == "HTTP 302 to another site"
    assert moved["url"] == url("moved")  # same row, same id, old address kept
    assert world.server.fetched(HOST, "/news/moved-new-address") == 0  # never followed
    assert world.server.fetched("elsewhere.test", "/story/1") == 0
    assert article(world, "home")["moved_to"] is None  # the home page is no new address


def test_gone_articles_keep_their_text_and_date(world):
    for slug in ("gone-404", "gone-410", "home", "not-found-page", "empty"):
        row = article(world, slug)
        assert row["gone_at"] == revisits(world, slug)[0]["checked_at"], slug
        assert row["text"]
    assert "soft 404" in revisits(world, "home")[0]["detail"]
    assert "soft 404" in revisits(world, "not-found-page")[0]["detail"]


def test_conditional_revisit_with_the_stored_etag(world):
    row = article(world, "unchanged")
    assert row["etag"] == '"v1"' and row["last_modified"] == "Mon, 20 May 2024 08:00:00 GMT"
    first, second = world.server.request_headers[(HOST, "/news/unchanged")]
    assert "If-None-Match" not in first
    assert second["If-None-Match"] == '"v1"'
    assert second["If-Modified-Since"] == "Mon, 20 May 2024 08:00:00 GMT"
    assert [(r["outcome"], r["http_status"]) for r in revisits(world, "unchanged")] == [
        ("unchanged", 200), ("unchanged", 304)]
    assert row["status"] == "live"


def test_only_due_articles_that_mention_a_narrative_are_fetched(world):
    assert world.server.fetched(HOST, "/news/not-due") == 0
    assert world.server.fetched(HOST, "/news/no-mention") == 0
    assert world.server.fetched(HOST, "/search/robots") == 0
    assert revisits(world, "not-due") == revisits(world, "no-mention") == []
    # second run: only the unchanged article was due again
    assert world.server.fetched(HOST, "/news/edited") == 1
    assert len(revisits(world, "edited")) == 1


def test_a_run_with_nothing_due_is_ok(world, tmp_path):
    db_path = tmp_path / "empty.db"
    result = run_crawl(None, ["revisit"], db_path, world.config_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    [run] = query(db_path, "SELECT status, message FROM crawl_runs")
    assert run == {"status": "ok", "message": "no article was due for a revisit"}


# --- the schedule ---------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SCHEDULE = parse_schedule("1d,7d,30d,180d")


def due(db, at: datetime) -> list[str]:
    return [row["url"] for row in store.due_for_revisit(db, SCHEDULE, iso(at))]


def check(db, article_id: int, at: datetime) -> None:
    store.record_revisit(db, article_id, "unchanged", checked_at=iso(at))


def mention(db, article_id: int) -> None:
    with store.transaction(db):
        db.execute("INSERT INTO mentions (article_id, narrative_id, narrative_version,"
                   " matched_at) SELECT ?, id, version, ? FROM narratives LIMIT 1",
                   [article_id, iso(T0)])


def test_schedule_decays(db):
    stored, _ = store.save_article(
        db, {"url": "https://example.com/a", "title": "t", "text": "text"}, "example-news",
        fetched_at=iso(T0))
    mention(db, stored)
    hours = timedelta(hours=1)
    assert due(db, T0 + timedelta(days=1) - hours) == []
    assert due(db, T0 + timedelta(days=1)) == ["https://example.com/a"]
    check(db, stored, T0 + timedelta(days=1, hours=2))
    assert due(db, T0 + timedelta(days=6)) == []
    assert due(db, T0 + timedelta(days=7)) == ["https://example.com/a"]
    # a missed slot folds into the next check: nothing ran between day 7 and day 40
    check(db, stored, T0 + timedelta(days=40))
    assert due(db, T0 + timedelta(days=100)) == []
    assert due(db, T0 + timedelta(days=180)) == ["https://example.com/a"]
    check(db, stored, T0 + timedelta(days=181))
    assert due(db, T0 + timedelta(days=2000)) == []  # the schedule is over


def test_schedule_takes_only_mentioned_articles_most_overdue_first(db):
    for index, days_ago in enumerate((3, 40, 2)):
        article_id, _ = store.save_article(
            db, {"url": f"https://example.com/{index}", "title": "t", "text": f"text {index}"},
            "example-news", fetched_at=iso(T0 - timedelta(days=days_ago)))
        if index != 2:
            mention(db, article_id)
    assert due(db, T0) == ["https://example.com/1", "https://example.com/0"]
    assert [r["url"] for r in store.due_for_revisit(db, SCHEDULE, iso(T0), limit=1)] == [
        "https://example.com/1"]
    assert store.due_for_revisit(db, SCHEDULE, iso(T0), outlets=["example-state"]) == []


@pytest.mark.parametrize("value, error", [
    ("1d,7", "'7' is not a duration"), ("soon", "'soon' is not a duration"), (",", "is empty"),
])
def test_bad_schedules_are_refused(value, error):
    with pytest.raises(ValueError, match=error):
        parse_schedule(value)


# --- the rules, one by one -------------------------------------------------------------------

A = "https://www.example.com/world/2024/05/20/story"


@pytest.mark.parametrize("status, location, outcome", [
    (301, "/world/2024/05/21/story-renamed", "moved"),
    (308, "https://news.example.com/story", "moved"),  # a sister host of the same site
    (302, "https://other.example.org/story", "moved"),
    (301, "https://www.example.com/", "gone"),
    (302, "/en/", "gone"),
    (302, "https://other.example.org/", "moved"),  # another site's root is not a soft 404 here
    (302, "/users/sign-in?return=/world", "blocked"),
    (302, None, "failing"),
    (302, "javascript:alert(1)", "failing"),
    (304, None, "unchanged"),
    (404, None, "gone"), (410, None, "gone"),
    (401, None, "blocked"), (403, None, "blocked"), (451, None, "blocked"),
    (500, None, "failing"), (429, None, "failing"), (200, None, "page"),
])
def test_status_rules(status, location, outcome):
    assert classify_status(status, A, location).outcome == outcome


@pytest.mark.parametrize("title, password, outcome", [
    ("404 Not Found", False, "gone"), ("Page not found | Example", False, "gone"),
    ("Страница не найдена", False, "gone"),
    ("Weapons not found in Kabul, officials say", False, "page"),
    ("Flight 404 lands safely", False, "page"),
    ("Sign in", False, "blocked"), ("Example News", True, "blocked"),
    ("Russia arming the Taliban, says general", False, "page"),
])
def test_page_rules(title, password, outcome):
    assert classify_page(A, title, password).outcome == outcome


# --- the migration ------------------------------------------------------------------------


def test_migration_backfills_status(tmp_path):
    number = next(i for i, m in enumerate(store.MIGRATIONS, 1) if "CREATE TABLE revisits" in m)
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for version in range(1, number):
        for statement in store._statements(store.MIGRATIONS[version - 1]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {number - 1}")
    for article_id, versions in ((1, 1), (2, 2)):
        conn.execute("INSERT INTO articles (id, url, canonical_url, first_seen_at, last_seen_at,"
                     " fetched_at) VALUES (?, ?, ?, 'x', 'x', 'x')",
                     [article_id, f"u{article_id}", f"u{article_id}"])
        for _ in range(versions):
            conn.execute("INSERT INTO article_versions (article_id, fetched_at) VALUES (?, 'x')",
                         [article_id])
    conn.close()
    db = store.open_db(tmp_path / "old.db")
    assert [(r["id"], r["status"], r["last_checked_at"]) for r in
            db.query("SELECT id, status, last_checked_at FROM articles ORDER BY id")] == [
        (1, "live", None), (2, "edited", None)]


# --- publication ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(world, tmp_path_factory):
    from tests.datasette_fixtures import Client, make_datasette
    from tests.fixture_server import copy_archive

    path = copy_archive(world.db_path, tmp_path_factory.mktemp("site") / "archive.db")
    with sqlite3.connect(path) as conn:  # a hostile Location, as a server could send it
        conn.execute("UPDATE articles SET moved_to = ? WHERE id = ?",
                     ['http://evil.test/"><script>alert(1)</script>', world.ids["offsite"]])
    return Client(make_datasette(path))


def test_article_page_says_when_it_was_removed(world, site):
    gone = article(world, "gone-410")
    html = site.get(f"/archive/articles/{world.ids['gone-410']}").text
    assert f"Removed on <time datetime=\"{gone['gone_at']}\">{gone['gone_at'][:10]}</time>" in html
    assert "HTTP 410" in html and "Last checked" in html
    assert "Moved to" not in html


def test_article_page_says_where_it_moved(world, site):
    html = site.get(f"/archive/articles/{world.ids['moved']}").text
    assert f'<strong>Moved to</strong> <a href="{url("moved-new-address")}"' in html
    hostile = site.get(f"/archive/articles/{world.ids['offsite']}").text
    assert "<script>alert(1)</script>" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile


def test_article_page_shows_the_last_check_and_the_revisit_version(world, site):
    html = site.get(f"/archive/articles/{world.ids['edited']}").text
    assert "Removed on" not in html and "Moved to" not in html
    assert "(seen on a revisit)" in html and ": edited (HTTP 200)" in html
    never = site.get(f"/archive/articles/{world.ids['not-due']}").text
    assert "not revisited yet" in never and "Revisits (" not in never


def test_changed_articles_lists_edits_moves_and_removals(world, site):
    rows = site.rows("/archive/changed_articles.json")
    by_id = {row["article_id"]: row["status"] for row in rows}
    expected = {world.ids[slug]: status for slug, (_, _, status) in EXPECTED.items()
                if status != "live"}
    assert by_id == expected
    narrowed = site.rows("/archive/changed_articles.json?narrative=afghan-ghost-soldiers")
    assert narrowed == []
