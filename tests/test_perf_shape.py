"""What keeps the published archive fast, asserted as behaviour and query-plan shape.

Timings live in benchmarks/datasette.py; here: the day-count summary equals the
timeline computed from scratch after every kind of write, the export streams every
mention with its outlet columns, search counts are right, and plans use the indexes.
"""

from __future__ import annotations

import csv
import io

import pytest

from narrative_archive import store
from narrative_archive.match import narratives
from tests.datasette_fixtures import (
    NARRATIVES,
    OUTLETS,
    Client,
    build_archive,
    make_datasette,
)

RA = "russia-arming-taliban"

FROM_SCRATCH = """
    SELECT m.narrative_id, substr(d.sorted_at, 1, 10) AS day, coalesce(a.outlet_id, '') AS outlet,
           coalesce(a.story_id, a.id) AS story, count(*) AS articles
    FROM mentions m JOIN articles a ON a.id = m.article_id
    JOIN article_dates d ON d.article_id = a.id
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
FIRST_FROM_SCRATCH = """
    SELECT narrative_id, outlet_id, article_id, sorted_at, story_id FROM (
        SELECT *, row_number() OVER (PARTITION BY narrative_id, outlet_id
                                     ORDER BY sorted_at, article_id) AS rank
        FROM mention_articles) WHERE rank = 1 ORDER BY 1, 2
"""
FIRST = ("SELECT narrative, outlet, article_id, first_sorted_at, story_id FROM narrative_first_seen "
         "ORDER BY 1, 2")
SUMMARY = ("SELECT narrative_id, day, outlet_id, story_id, articles FROM narrative_day_counts "
           "ORDER BY 1, 2, 3, 4")


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "archive.db"
    ids = build_archive(path)
    return path, ids


def summary_matches(db) -> list:
    expected = [tuple(row) for row in db.execute(FROM_SCRATCH)]
    assert [tuple(row) for row in db.execute(SUMMARY)] == expected
    # who said it first, read through the summary, is who said it first
    assert [tuple(row) for row in db.execute(FIRST)] == [
        tuple(row) for row in db.execute(FIRST_FROM_SCRATCH)]
    return expected


def test_day_counts_follow_every_write(archive):
    path, ids = archive
    db = store.open_db(path)
    assert summary_matches(db)  # after ingest (save_article + match_article)

    # a mentioned article's date moves to another day, then its outlet changes
    mentioned = db.execute("SELECT article_id FROM mentions LIMIT 1").fetchone()[0]
    with store.transaction(db):
        db.execute("UPDATE articles SET published_at = '2001-02-03T04:05:06Z' WHERE id = ?",
                   [mentioned])
    assert ("2001-02-03",) in [(row[1],) for row in summary_matches(db)]
    with store.transaction(db):
        db.execute("UPDATE articles SET outlet_id = NULL WHERE id = ?", [mentioned])
    summary_matches(db)
    # a backfill dates another mentioned article by its capture (the page gave only a day)
    with store.transaction(db):
        db.execute("UPDATE articles SET published_at = '2002-03-04', "
                   "archived_at = '2002-03-04T05:06:07Z' WHERE id = (SELECT max(article_id) "
                   "FROM mentions)")
    summary_matches(db)
    # story clustering joins it to another mentioned article's story, then parts them
    with store.transaction(db):
        db.execute("UPDATE articles SET story_id = (SELECT max(article_id) FROM mentions) "
                   "WHERE id = ?", [mentioned])
    summary_matches(db)
    with store.transaction(db):
        db.execute("UPDATE articles SET story_id = NULL WHERE id = ?", [mentioned])
    summary_matches(db)

    # an article is deleted (its mentions go with it)
    other = db.execute("SELECT article_id FROM mentions WHERE article_id != ? LIMIT 1",
                       [mentioned]).fetchone()[0]
    with store.transaction(db):
        db.execute("DELETE FROM articles WHERE id = ?", [other])
    summary_matches(db)

    # a narrower query: rematch deletes mentions; the old query again: it adds them back
    narrowed = [n if n.id != RA else type(n)(**{**n.__dict__, "query": "taliban AND kremlin"})
                for n in NARRATIVES]
    before = db.execute("SELECT count(*) FROM mentions WHERE narrative_id = ?", [RA]).fetchone()
    narratives.save_narratives(db, narrowed)
    narratives.rematch(db, next(n for n in narrowed if n.id == RA))
    summary_matches(db)
    narratives.save_narratives(db, NARRATIVES)
    narratives.rematch(db, next(n for n in NARRATIVES if n.id == RA))
    assert db.execute("SELECT count(*) FROM mentions WHERE narrative_id = ?",
                      [RA]).fetchone() == before
    summary_matches(db)

    # the timeline views read the summary and say what they said before
    daily = db.execute("SELECT sum(articles) FROM narrative_daily WHERE narrative = ?",
                       [RA]).fetchone()[0]
    assert daily == before[0]
    db.close()


def test_removing_a_mention_reads_its_own_day_count_not_the_narratives_others(archive):
    # A rematch that drops many mentions of a large narrative must stay linear: each
    # mention removed touches its own day count, however many days the narrative has.
    path, _ids = archive
    db = store.open_db(path)

    def steps_to_remove_one_mention() -> int:
        article_id, = db.execute("SELECT article_id FROM mentions WHERE narrative_id = ? "
                                 "LIMIT 1", [RA]).fetchone()
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0
        db.conn.set_progress_handler(count, 1)
        with store.transaction(db):
            db.execute("DELETE FROM mentions WHERE narrative_id = ? AND article_id = ?",
                       [RA, article_id])
        db.conn.set_progress_handler(None, 1)
        return steps[0]

    few = steps_to_remove_one_mention()
    with store.transaction(db):  # 5,000 more days of the same narrative
        db.conn.executemany("INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, "
                       "story_id, articles) VALUES (?, ?, 'elsewhere', ?, 1)",
                       [(RA, f"1990-01-{i % 28 + 1:02d}", i) for i in range(5000)])
    many = steps_to_remove_one_mention()
    assert many < few * 2, (few, many)
    db.execute("DELETE FROM narrative_day_counts WHERE outlet_id = 'elsewhere'")
    summary_matches(db)
    db.close()


def test_export_streams_every_mention_with_outlet_columns(archive):
    path, _ids = archive
    db = store.open_db(path)
    expected = {row[0] for row in db.execute(
        "SELECT article_id FROM mentions WHERE narrative_id = ?", [RA])}
    outlets = dict(db.execute("SELECT id, country FROM outlets"))
    db.close()
    client = Client(make_datasette(path, max_returned_rows=1))  # no row limit applies
    response = client.get(f"/-/export/{RA}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {int(row["article_id"]) for row in rows} == expected and len(rows) == len(expected)
    for column in ("title", "url", "dated_at", "published_at", "first_seen_at", "outlet",
                   "country", "outlet_kind", "owner", "state_affiliated", "article_language",
                   "stance", "story_id"):
        assert column in rows[0]
    assert all(row["country"] == (outlets[row["outlet_id"]] or "") for row in rows)
    assert client.get("/-/export/no-such-narrative.csv").status_code == 404


def test_search_count_is_the_number_of_matching_articles(archive):
    path, _ids = archive
    db = store.open_db(path)
    matching = db.execute("SELECT count(*) FROM articles WHERE id IN (SELECT rowid FROM "
                          "articles_fts WHERE articles_fts MATCH 'taliban')").fetchone()[0]
    db.close()
    assert matching > 1
    client = Client(make_datasette(path))
    data = client.json("/archive/articles.json?_search=taliban&_size=max")
    assert data["filtered_table_rows_count"] == matching == len(data["rows"])
    # with another filter the count is Datasette's own, and still right
    filtered = client.json("/archive/articles.json?_search=taliban&language=ru")
    assert filtered["filtered_table_rows_count"] == len(filtered["rows"])


def test_datasettes_search_sql_is_the_sql_the_perf_plugin_rewrites(archive):
    """The perf plugin's SearchDatabase recognises the SQL Datasette 0.65's table view
    writes for ?_search= on articles (its count, and its newest-first page). That SQL is
    Datasette's own, not its documented API: a Datasette that writes it differently must
    fail here, not silently serve every search the slow way."""
    import datasette

    assert datasette.__version__.startswith("0.65."), (
        f"Datasette {datasette.__version__}: check SEARCH_COUNT and SEARCH_PAGE in "
        "datasette/plugins/narrative_archive_perf.py against its table view's SQL")
    client = Client(make_datasette(archive[0]))
    client.json("/archive/articles.json?_search=taliban")
    db = client.datasette.get_database("archive")
    assert type(db).__name__ == "SearchDatabase"
    assert db.recognised == {"count": 1, "page": 1}
    client.json("/archive/articles.json?_search=taliban&_nocount=1")
    client.json("/archive/articles.json")  # no search: nothing to recognise
    assert db.recognised == {"count": 1, "page": 2}


def test_search_counts_and_query_results_are_kept_until_the_archive_changes(
        archive, monkeypatch):
    """A search's count, a table page's count and a canned query's rows are counted once
    while the archive file is unchanged, and counted again (right) after a write."""
    monkeypatch.setenv("NARRATIVE_ARCHIVE_PAGE_STALE", "0")
    path, _ids = archive
    client = Client(make_datasette(path))
    timeline = f"/archive/timeline.json?narrative={RA}&_shape=array"
    for _ in range(3):
        count = client.json("/archive/articles.json?_search=taliban")["filtered_table_rows_count"]
        days = client.get(timeline).json()
        total = client.json("/archive/articles.json?_size=1")["filtered_table_rows_count"]
    db = client.datasette.get_database("archive")
    assert (db.search_sizes.counted, db.results.counted, db.kept_counts.counted) == (1, 1, 1)
    client.json(f"/archive/timeline.json?narrative={RA}&by=week")  # other parameters
    assert db.results.counted == 2

    writer = store.open_db(path)
    article_id, _status = store.save_article(writer, {
        "url": "https://tass.com/new", "title": "Taliban", "content_hash": "new",
        "text": "Russia is arming the Taliban, officials said of the new weapons."},
        "tass", via="feed", fetched_at="2031-01-01T00:00:00Z")
    narratives.match_article(writer, article_id, [n for n in NARRATIVES if n.id == RA])
    writer.close()
    assert client.json("/archive/articles.json?_search=taliban")[
        "filtered_table_rows_count"] == count + 1
    assert len(client.get(timeline).json()) == len(days) + 1
    assert client.json("/archive/articles.json?_size=1")["filtered_table_rows_count"] == total + 1
    assert (db.search_sizes.counted, db.results.counted, db.kept_counts.counted) == (2, 3, 2)


def test_search_snippets_ranks_the_newest_2000_matches(tmp_path):
    """search_snippets shows the best 50 (bm25) of the 2,000 matches the archive stored
    last: a better match stored before them is left out, the best among them comes first."""
    path = tmp_path / "archive.db"
    db = store.open_db(path)
    store.save_outlets(db, OUTLETS)

    def article(number: int, text: str) -> dict:
        return {"url": f"https://tass.com/{number}", "title": f"Report {number}",
                "text": text, "content_hash": str(number), "outlet_id": "tass"}

    plain = "The council met to discuss water, roads and the kabul budget among other items."
    best = "Kabul kabul kabul: kabul."
    store.save_articles_bulk(db, [article(0, best)] + [article(n, plain) for n in range(1, 2001)]
                             + [article(2001, best + " Again.")], via="feed")
    db.close()
    rows = Client(make_datasette(path)).rows("/archive/search_snippets.json?q=kabul")
    assert len(rows) == 50
    assert rows[0]["title"] == "Report 2001" and "<mark>" in rows[0]["snippet"]
    assert "Report 0" not in {row["title"] for row in rows}


def plan(db, sql: str, params=()) -> str:
    return " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_plans_use_the_indexes_and_the_summary(archive):
    path, _ids = archive
    db = store.open_db(path)
    for column in ("language", "via", "outlet_id"):
        shape = plan(db, f"SELECT {column}, count(*) FROM articles GROUP BY {column}")
        assert "COVERING INDEX" in shape, shape
    for view in ("narrative_daily", "narrative_weekly", "narrative_monthly"):
        shape = plan(db, f"SELECT * FROM {view} WHERE narrative = ?", [RA])
        assert "narrative_day_counts" in shape and "mentions" not in shape, shape
    shape = plan(db, "SELECT * FROM narrative_first_seen WHERE narrative = ?", [RA])
    assert "narrative_day_counts" in shape and "SCAN m " not in shape + " ", shape
    shape = plan(db, "SELECT * FROM export_mentions WHERE narrative_id = ?", [RA])
    assert "SEARCH m USING INDEX mentions_narrative" in shape and "TEMP B-TREE" not in shape
    db.close()


@pytest.mark.parametrize("search", ["taliban", "kremlin", "taliban NOT kremlin"])
def test_search_pages_are_newest_first_and_page_through_every_hit(archive, search):
    path, _ids = archive
    db = store.open_db(path)
    expected = [row[0] for row in db.execute(
        "SELECT id FROM articles WHERE id IN (SELECT rowid FROM articles_fts WHERE "
        "articles_fts MATCH ?) ORDER BY published_at DESC, id", [search])]
    db.close()
    client = Client(make_datasette(path))
    assert [row["id"] for row in client.json(
        f"/archive/articles.json?_search={search}&_size=max&_shape=objects")["rows"]] == expected
    seen, url = [], f"/archive/articles.json?_search={search}&_size=2&_shape=objects"
    while url:
        data = client.json(url)
        seen += [row["id"] for row in data["rows"]]
        url = data["next_url"] and data["next_url"].split("://", 1)[-1].split("/", 1)[-1]
        url = url and "/" + url
    assert seen == expected
