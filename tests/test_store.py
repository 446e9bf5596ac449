"""The archive schema: migrations, upserts, versions, crawl runs."""

import sqlite3
from pathlib import Path

import pytest

from narrative_archive import store
from tests.conftest import article, migrated_to


def test_migrates_from_empty_and_is_idempotent(db_path):
    db = store.open_db(db_path)
    assert store.schema_version(db) == store.SCHEMA_VERSION
    tables = set(db.table_names())
    assert {"outlets", "articles", "article_versions", "narratives", "narrative_versions",
            "mentions", "crawl_runs", "crawl_errors", "articles_fts"} <= tables
    assert {"narrative_daily", "narrative_first_seen", "outlet_health"} <= set(db.view_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()
    again = store.open_db(db_path)
    assert store.schema_version(again) == store.SCHEMA_VERSION


def test_older_archive_upgrades_in_place(db_path):
    conn = sqlite3.connect(db_path)
    for statement in store._statements(store.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO outlets (id, name) VALUES ('old', 'Old Outlet')")
    conn.commit()
    conn.close()
    db = store.open_db(db_path)
    assert store.schema_version(db) == store.SCHEMA_VERSION
    assert db["outlets"].get("old")["name"] == "Old Outlet"
    assert "narrative_daily" in db.view_names()


def test_save_article_new_unchanged_updated(db):
    first = article("https://example.com/a", "Original text about the Taliban.",
                    published_at="2017-12-22T09:35:00Z")
    article_id, outcome = store.save_article(db, first, "example-news", "feed",
                                             fetched_at="2026-01-01T00:00:00Z")
    assert outcome == "new"
    again_id, outcome = store.save_article(db, first, "example-news", "feed",
                                           fetched_at="2026-01-02T00:00:00Z")
    assert (again_id, outcome) == (article_id, "unchanged")
    row = db["articles"].get(article_id)
    assert row["first_seen_at"] == "2026-01-01T00:00:00Z"
    assert row["last_seen_at"] == "2026-01-02T00:00:00Z"
    assert db["article_versions"].count == 1

    edited = dict(first, text="Edited text: a correction was appended.", content_hash="h2")
    _, outcome = store.save_article(db, edited, "example-news", "feed",
                                    fetched_at="2026-01-03T00:00:00Z")
    assert outcome == "updated"
    row = db["articles"].get(article_id)
    assert row["text"].startswith("Edited") and row["first_seen_at"] == "2026-01-01T00:00:00Z"
    versions = [v["text"] for v in db["article_versions"].rows_where(order_by="id")]
    assert versions == ["Original text about the Taliban.", "Edited text: a correction was appended."]
    # The FTS index follows the edit.
    hits = db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'correction'")
    assert [r[0] for r in hits] == [article_id]
    assert not list(db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'original'"))


def test_upsert_is_on_canonical_url(db):
    a = article("https://example.com/a?utm_source=x", "Same story.",
                canonical_url="https://example.com/a")
    b = article("https://example.com/a?ref=home", "Same story.",
                canonical_url="https://example.com/a")
    assert store.save_article(db, a, "example-news")[0] == store.save_article(db, b, "example-news")[0]
    assert db["articles"].count == 1


def test_unknown_domain_gets_an_outlet_row(db):
    outlet_id = store.ensure_outlet_for_domain(db, "www.Unknown-Paper.net")
    assert outlet_id == "unknown-paper.net"
    row = db["outlets"].get(outlet_id)
    assert row["kind"] is None and row["configured"] == 0
    assert store.ensure_outlet_for_domain(db, "unknown-paper.net") == outlet_id


def test_crawl_runs_and_errors(db):
    run_id = store.start_run(db, "feeds", {"outlets": ["example-news"]}, pid=123)
    store.update_run(db, run_id, pages=3, new_articles=2)
    store.record_error(db, run_id, "https://example.com/x", "HTTP 404", "example-news")
    store.finish_run(db, run_id, "ok")
    run = db["crawl_runs"].get(run_id)
    assert (run["status"], run["pages"], run["new_articles"], run["errors"]) == ("ok", 3, 2, 1)
    assert run["finished_at"] is not None
    error = next(db["crawl_errors"].rows)
    assert (error["url"], error["reason"]) == ("https://example.com/x", "HTTP 404")
    with pytest.raises(ValueError):
        store.update_run(db, run_id, status="exploded")


def test_running_runs_are_abandoned(db):
    dead = store.start_run(db, "feeds", pid=999999)
    alive = store.start_run(db, "sitemaps", pid=1)
    assert store.mark_abandoned_runs(db, alive=lambda pid: pid == 1) == [dead]
    assert db["crawl_runs"].get(dead)["status"] == "abandoned"
    assert db["crawl_runs"].get(alive)["status"] == "running"


def test_recently_fetched(db):
    store.save_article(db, article("https://example.com/a", "x"), "example-news",
                       fetched_at="2026-01-05T00:00:00Z")
    urls = ["https://example.com/a", "https://example.com/b"]
    assert store.recently_fetched(db, urls, "2026-01-01T00:00:00Z") == {"https://example.com/a"}
    assert store.recently_fetched(db, urls, "2026-02-01T00:00:00Z") == set()


def test_recently_fetched_by_listed_url_and_recently_failed(db):
    listed = "https://example.com/a?utm_source=rss"
    store.save_article(db, article(listed, "x", canonical_url="https://example.com/a"),
                       "example-news", fetched_at="2026-01-05T00:00:00Z")
    assert store.recently_fetched(db, [listed], "2026-01-01T00:00:00Z") == {listed}
    run_id = store.start_run(db, "feeds")
    store.record_error(db, run_id, "https://example.com/gone", "HTTP 404", "example-news")
    urls = ["https://example.com/gone", "https://example.com/fine"]
    assert store.recently_failed(db, urls, "2000-01-01T00:00:00Z") == {"https://example.com/gone"}
    assert store.recently_failed(db, urls, "2999-01-01T00:00:00Z") == set()


def test_unmatched_search_results_count_as_recently_fetched(db):
    store.save_unmatched(db, ["https://other.example/cricket", None])
    urls = ["https://other.example/cricket", "https://other.example/new"]
    assert store.recently_fetched(db, urls, "2000-01-01T00:00:00Z") == {urls[0]}
    assert store.recently_fetched(db, urls, "2999-01-01T00:00:00Z") == set()
    assert db["articles"].count == 0


def test_a_day_only_date_does_not_sort_before_a_time_on_that_day(db):
    import yaml

    from narrative_archive.config import load_narratives
    from narrative_archive.match import narratives
    from narrative_archive.paths import DEFAULT_CONFIG_DIR

    [narrative] = [n for n in load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml",
                                              narratives.check_query)
                   if n.id == "russia-arming-taliban"]
    text = "Russia is arming the Taliban, a US general said."
    dated = {  # outlet: (published_at, first_seen_at)
        "example-news": ("2024-05-20", "2024-05-21T08:00:00Z"),  # a day: its end counts
        "example-state": ("2024-05-20T02:45:00Z", "2024-05-20T03:00:00Z"),
    }
    for outlet_id, (published_at, first_seen_at) in dated.items():
        article_id, _ = store.save_article(
            db, article(f"https://{outlet_id}.example/a", text, published_at=published_at),
            outlet_id, fetched_at=first_seen_at)
        narratives.match_article(db, article_id, [narrative])
    rows = list(db.query("SELECT outlet, first_dated_at, date_precision FROM narrative_first_seen"
                         " ORDER BY first_sorted_at"))
    assert rows == [
        {"outlet": "example-state", "first_dated_at": "2024-05-20T02:45:00Z",
         "date_precision": "second"},
        {"outlet": "example-news", "first_dated_at": "2024-05-20", "date_precision": "day"},
    ]
    metadata = yaml.safe_load((Path(__file__).parent.parent / "datasette" / "metadata.yml")
                              .read_text())
    sql = metadata["databases"]["archive"]["queries"]["first_appearance"]["sql"]
    picked = [(r["pickup_order"], r["outlet"]) for r in db.query(sql, {"narrative": ""})]
    assert picked == [(1, "example-state"), (2, "example-news")]

    # One outlet, both articles: its first is the timed one.
    db.execute("UPDATE articles SET outlet_id = 'example-news'")
    [first] = db.query("SELECT first_dated_at FROM narrative_first_seen")
    assert first["first_dated_at"] == "2024-05-20T02:45:00Z"
    [outlet] = db.query("SELECT first_dated_at, last_dated_at FROM narrative_outlets")
    assert outlet == {"first_dated_at": "2024-05-20T02:45:00Z", "last_dated_at": "2024-05-20"}


def test_archived_copies_are_dated_by_their_capture_on_timelines(db):
    from narrative_archive.config import load_narratives
    from narrative_archive.match import narratives
    from narrative_archive.paths import DEFAULT_CONFIG_DIR

    [narrative] = [n for n in load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml",
                                              narratives.check_query)
                   if n.id == "russia-arming-taliban"]
    text = "Russia is arming the Taliban, a US general said."
    saved = {  # outlet: (published_at, capture timestamp or None)
        "example-news": ("2017-03-15", "2017-03-15T12:00:00Z"),  # a day, captured at noon
        "example-state": ("2017-03-15T20:00:00Z", None),  # a time that day, fetched live
        None: (None, "2017-11-03T00:00:00Z"),  # no date on the page, a domain no outlet claims
    }
    for outlet_id, (published_at, archived_at) in saved.items():
        url = f"https://{outlet_id or 'other'}.example/a"
        archive = archived_at and {"source": "wayback", "archived_at": archived_at,
                                   "url": f"http://wayback.test/web/x/{url}"}
        article_id, _ = store.save_article(
            db, article(url, text, published_at=published_at), outlet_id,
            via="archive" if archive else "feed", fetched_at="2026-01-05T00:00:00Z",
            archive=archive)
        narratives.match_article(db, article_id, [narrative])
    rows = list(db.query(
        "SELECT outlet, first_dated_at, date_source, date_precision, first_sorted_at"
        " FROM narrative_first_seen ORDER BY first_sorted_at"))
    assert rows == [
        # The capture proves the page existed by noon: it was first, not at the day's end.
        {"outlet": "example-news", "first_dated_at": "2017-03-15", "date_source": "published",
         "date_precision": "day", "first_sorted_at": "2017-03-15T12:00:00Z"},
        {"outlet": "example-state", "first_dated_at": "2017-03-15T20:00:00Z",
         "date_source": "published", "date_precision": "second",
         "first_sorted_at": "2017-03-15T20:00:00Z"},
        {"outlet": None, "first_dated_at": "2017-11-03T00:00:00Z",
         "date_source": "archived", "date_precision": "second",
         "first_sorted_at": "2017-11-03T00:00:00Z"},
    ]
    other = db.execute("SELECT day, via, archive_source, archive_url FROM mention_articles"
                       " WHERE outlet_id IS NULL").fetchone()
    assert other == ("2017-11-03", "archive", "wayback",
                     "http://wayback.test/web/x/https://other.example/a")
    months = {r["month"]: r["articles"] for r in db.query(
        "SELECT month, articles FROM narrative_monthly")}
    assert months == {"2017-03": 2, "2017-11": 1}  # not January 2026, when we fetched them


def test_listed_again_moves_last_seen_at(db):
    listed = "https://example.com/a?utm_source=rss"
    store.save_article(db, article(listed, "x", canonical_url="https://example.com/a"),
                       "example-news", fetched_at="2026-01-05T00:00:00Z")
    store.save_article(db, article("https://example.com/b", "y"), "example-news",
                       fetched_at="2026-01-05T00:00:00Z")
    assert store.mark_seen(db, [listed, "https://example.com/new"], "2026-01-06T00:00:00Z") == 1
    assert store.mark_seen(db, ["https://example.com/a"], "2026-01-04T00:00:00Z") == 0  # never back
    seen = {r["canonical_url"]: (r["last_seen_at"], r["fetched_at"]) for r in db["articles"].rows}
    assert seen == {"https://example.com/a": ("2026-01-06T00:00:00Z", "2026-01-05T00:00:00Z"),
                    "https://example.com/b": ("2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z")}


def test_consecutive_failures_count_an_error_in_the_same_second_as_a_stored_article(db):
    run_id = store.start_run(db, "feeds")
    store.record_error(db, run_id, "https://example.com/before", "HTTP 500", "example-news")
    store.save_article(db, article("https://example.com/a", "x"), "example-news")
    store.record_error(db, run_id, "https://example.com/after", "HTTP 404", "example-news")
    # All in one second, as a fast crawl writes them.
    db.execute("UPDATE crawl_errors SET at = '2026-01-05T00:00:00Z'")
    db.execute("UPDATE articles SET fetched_at = '2026-01-05T00:00:00Z'")
    [health] = db.query("SELECT consecutive_failures, last_error FROM outlet_health"
                        " WHERE outlet = 'example-news'")
    assert health == {"consecutive_failures": 1, "last_error": "HTTP 404"}


def test_views_come_from_one_registry_and_are_recreated_when_one_changes(db_path, monkeypatch):
    db = store.open_db(db_path)
    stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
    assert stored == {name: store.view_sql(name) for name in store.VIEWS}
    assert not store.ensure_views(db.conn)  # nothing to do on the next start
    db.close()
    changed = dict(store.VIEWS, narrative_daily="SELECT 1 AS narrative, 2 AS day")
    monkeypatch.setattr(store.views, "VIEWS", changed)
    db = store.open_db(db_path)
    assert db.execute("SELECT narrative, day FROM narrative_daily").fetchall() == [(1, 2)]
    assert db.execute("SELECT count(*) FROM narrative_first_seen").fetchone() == (0,)


def test_an_archive_made_by_the_released_migrations_gets_the_registry_views(db_path):
    conn = sqlite3.connect(db_path)
    for statement in store._statements(store.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("CREATE VIEW narrative_daily AS SELECT 'old' AS narrative")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    db = store.open_db(db_path)
    assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'narrative_daily'"
                      ).fetchone()[0] == store.view_sql("narrative_daily")


def test_a_run_of_a_scheduled_job_keeps_its_job_in_a_column(db_path):
    conn = migrated_to(db_path, 16)
    conn.execute("INSERT INTO crawl_runs (spider, args, started_at) VALUES"
                 " ('feeds', '{\"job\": \"feeds\"}', '2026-01-01T00:00:00Z'),"
                 " ('search', '{}', '2026-01-02T00:00:00Z'), ('feeds', 'oops', '2026-01-03T00:00:00Z')")
    conn.commit()
    conn.close()
    db = store.open_db(db_path)
    assert [run["job"] for run in store.last_runs(db)] == [None, None, "feeds"]
    later = store.start_run(db, "feeds", {"crawl": ["feeds"]}, job="nightly")
    assert store.last_run_per_job(db)["nightly"]["id"] == later
    assert store.last_started(db)["feeds"] == "2026-01-01T00:00:00Z"


def test_a_large_bulk_save_indexes_every_article_and_keeps_the_insert_trigger(db_path):
    db = store.open_db(db_path)
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_ai'").fetchone()
    store.save_article(db, article("https://x.example/0", "an older walrus story"), None)
    many = [article(f"https://x.example/{n}", f"story {n} about a walrus") for n in range(1, 601)]
    assert len(many) >= store.articles.BULK_FTS_ROWS
    schema = db.execute("PRAGMA schema_version").fetchone()
    assert store.save_articles_bulk(db, many)["new"] == 600
    # no trigger dropped and made again: a Datasette serving the archive keeps its schema
    assert db.execute("PRAGMA schema_version").fetchone() == schema
    assert db.execute("SELECT count(*) FROM fts_deferred").fetchone() == (0,)
    assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_ai'").fetchone() == trigger
    found = db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'walrus'")
    assert found.fetchone()[0] == 601
    store.save_article(db, article("https://x.example/new", "a later walrus story"), None)
    found = db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'walrus'")
    assert found.fetchone()[0] == 602  # the trigger indexes single saves again
    db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")


def test_a_failed_bulk_save_leaves_the_trigger_and_the_index_as_they_were(db_path):
    db = store.open_db(db_path)
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_ai'").fetchone()
    many = [article(f"https://x.example/{n}", f"story {n} about a walrus") for n in range(600)]
    many.append({**article("https://x.example/bad", "walrus"), "url": None})  # NOT NULL fails
    with pytest.raises(sqlite3.IntegrityError):
        store.save_articles_bulk(db, many)
    assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_ai'").fetchone() == trigger
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'walrus'"
                      ).fetchone()[0] == 0
