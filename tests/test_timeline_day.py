"""An article's place on a timeline has one definition: generated columns on articles
(timeline_date, timeline_at, timeline_day; a migration) that every view and trigger
reads. An archive made at v17 migrates to the same timelines, and keeps its day counts
as v17's triggers would have."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from narrative_archive import store
from narrative_archive.config import Narrative
from narrative_archive.match import narratives
from tests.conftest import migrated_to

ROOT = Path(__file__).resolve().parent.parent
# The archive just before the timeline columns (the migration that adds them is the last
# of this round; the released v17 had the same timelines, with the rule spelled out).
V17 = next(version for version, migration in enumerate(store.MIGRATIONS, 1)
           if "ADD COLUMN timeline_day TEXT" in migration) - 1
# The released v17 article_dates: the day expression spelled out in the view.
V17_ARTICLE_DATES = """CREATE VIEW article_dates AS
SELECT article_id, outlet_id, dated_at, substr(sorted_at, 1, 10) AS day, date_source,
               date_precision, sorted_at
        FROM (
            SELECT a.id AS article_id, a.outlet_id, coalesce(a.published_at, a.archived_at, a.first_seen_at) AS dated_at,
                   CASE WHEN a.published_at IS NOT NULL THEN 'published'
                        WHEN a.archived_at IS NOT NULL THEN 'archived'
                        ELSE 'first_seen' END AS date_source,
                   CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN 'day' ELSE 'second' END
                     AS date_precision,
                   CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10
                     THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z',
                              min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at))))
                     ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)),
                                   coalesce(a.published_at, a.archived_at, a.first_seen_at))
                   END AS sorted_at
            FROM articles a
        )"""

RA = Narrative(id="russia-arming-taliban", title="Russia is arming the Taliban",
               query="russia* AND taliban*")
OTHER = Narrative(id="taliban-finance", title="Who pays the Taliban", query="taliban* AND money")
OUTLETS = [{"id": "reuters", "name": "Reuters", "domains": ["reuters.com"]},
           {"id": "tass", "name": "TASS", "domains": ["tass.com"]},
           {"id": "dawn", "name": "Dawn", "domains": ["dawn.com"]}]
TEXT = "Russia is said to supply the Taliban, {}."
# key: (outlet, published_at, first seen (fetched_at), archived_at, extra text)
ARTICLES = {
    "second": ("reuters", "2017-03-23T17:05:00Z", "2017-03-23T18:00:00Z", None, "with money"),
    "offset": ("tass", "2017-03-23T23:30:00-05:00", "2017-03-24T06:00:00Z", None, ""),
    "day-seen-that-day": ("dawn", "2017-03-25", "2017-03-25T08:00:00Z", None, "money"),
    "day-seen-later": ("dawn", "2017-03-25", "2017-04-02T08:00:00Z", None, ""),
    "day-seen-before": ("tass", "2017-03-27", "2017-03-26T22:00:00Z", None, ""),
    "archived": ("reuters", None, "2026-01-05T00:00:00Z", "2017-03-26T10:00:00Z", ""),
    "day-archived": ("tass", "2017-03-24", "2026-01-05T00:00:00Z", "2017-03-24T07:00:00Z", ""),
    "seen-only": (None, None, "2017-03-28T12:00:00Z", None, "money"),
    "unreadable": ("reuters", "last Tuesday", "2017-03-29T12:00:00Z", None, ""),
}
TIMELINE_VIEWS = [name for name in store.VIEWS  # (they read the time of writing)
                  if name not in ("outlet_health", "mention_history")]


def save(db, key: str, published_at: str | None = None) -> int:
    outlet, published, seen, archived, extra = ARTICLES[key]
    article = {"url": f"https://{outlet or 'nowhere'}.test/{key}", "title": key,
               "text": TEXT.format(key) + " " + extra, "published_at": published_at or published,
               "language": "en"}
    archive = {"source": "wayback", "url": "https://web.archive.org/x", "archived_at": archived} \
        if archived else None
    article_id, _ = store.save_article(db, article, outlet, via="archive" if archived else "feed",
                                       fetched_at=seen, archive=archive)
    narratives.match_article(db, article_id, [RA, OTHER])
    return article_id


# Today's code writes the learned layer's columns (migrations 28 and 29): a v17 archive written
# by it has them for the while, and loses them again unless it stays a v17 that today's code writes.
LAYER_OBJECTS = "\n".join(store.MIGRATIONS[27:29])
DROP_LAYER_OBJECTS = ("ALTER TABLE mentions DROP COLUMN matched_by", "DROP TABLE layer_readings")


def v17_views(conn, without: str = "") -> None:
    """v17's views: today's, but for its article_dates (and `without` left out of each)."""
    for name in store.VIEWS:
        if name == "mention_history":  # v17's table, a view since migration 26
            continue
        sql = V17_ARTICLE_DATES if name == "article_dates" else store.view_sql(name)
        conn.execute(sql.replace(without, "") if without else sql)


def v17_archive(path: Path, written_by_today: bool = False) -> Path:
    """An archive as v17 made it: migrations 1-17, v17's views, and articles on every kind
    of date, matched by two narratives (`written_by_today`: with the columns today's code
    writes, for more writes to come)."""
    conn = migrated_to(path, V17)
    for statement in store._statements(LAYER_OBJECTS):
        conn.execute(statement)
    v17_views(conn)
    conn.commit()
    conn.close()
    db = store.open_db(path, migrate=False)
    store.save_outlets(db, OUTLETS)
    narratives.save_narratives(db, [RA, OTHER])
    for key in ARTICLES:
        save(db, key)
    db.execute("UPDATE articles SET story_id = (SELECT id FROM articles WHERE title = 'second')"
               " WHERE title = 'day-seen-that-day'")
    if not written_by_today:  # the views that show the column go with it, then come back
        for name in reversed(store.VIEWS):
            if name != "mention_history":  # v17's table
                db.execute(f"DROP VIEW IF EXISTS {name}")
        for statement in DROP_LAYER_OBJECTS:
            db.execute(statement)
        v17_views(db.conn, without=", m.matched_by")
    db.close()
    return path


def columns(db, name: str) -> str:
    """Every column of a table or view but the layer's matched_by (migration 28), which v17
    had not."""
    return ", ".join(row[1] for row in db.execute(f"PRAGMA table_info({name})") if row[1] != "matched_by")


def timelines(db) -> dict[str, list]:
    """Every timeline view's rows, the day counts, and what the timeline command reads."""
    rows: dict[str, list] = {name: sorted(map(repr, db.execute(f"SELECT {columns(db, name)} FROM {name}")))
                             for name in TIMELINE_VIEWS + ["narrative_day_counts"]}
    for narrative in (RA.id, OTHER.id):
        for by in ("day", "week", "month"):
            rows[f"{narrative} by {by}"] = store.narrative_timeline(db, narrative, by)
    rows["counts"] = store.narrative_counts(db)
    return rows


def more_writes(db) -> None:
    """Writes that move articles between days, outlets and stories, add and drop mentions."""
    ARTICLES["late"] = ("reuters", "2017-03-30", "2017-03-31T09:00:00Z", None, "money")
    try:
        save(db, "late")
        save(db, "day-seen-later", published_at="2017-03-20T10:00:00+03:00")  # unchanged
    finally:
        del ARTICLES["late"]
    for sql in (
        "UPDATE articles SET published_at = '2017-03-22' WHERE title = 'second'",
        "UPDATE articles SET published_at = NULL WHERE title = 'offset'",
        "UPDATE articles SET archived_at = '2017-03-23T01:00:00Z' WHERE title = 'archived'",
        "UPDATE articles SET first_seen_at = '2017-03-24T03:00:00Z' WHERE title = 'day-archived'",
        "UPDATE articles SET outlet_id = 'dawn' WHERE title = 'seen-only'",
        "UPDATE articles SET story_id = NULL WHERE title = 'day-seen-that-day'",
        "UPDATE mentions SET narrative_id = 'taliban-finance' WHERE article_id ="
        " (SELECT id FROM articles WHERE title = 'day-seen-before')",
        "DELETE FROM mentions WHERE narrative_id = 'taliban-finance' AND article_id ="
        " (SELECT id FROM articles WHERE title = 'seen-only')",
        "DELETE FROM articles WHERE title = 'day-seen-later'",
    ):
        db.execute(sql)
    db.conn.commit()


def recount(db) -> list:
    """The day counts counted afresh from mentions and the articles' timeline_day."""
    return sorted(map(repr, db.execute(
        "SELECT m.narrative_id, a.timeline_day, coalesce(a.outlet_id, ''),"
        " coalesce(a.story_id, a.id), count(*) FROM mentions m JOIN articles a"
        " ON a.id = m.article_id GROUP BY 1, 2, 3, 4")))


def test_a_v17_archive_migrates_to_the_same_timelines(tmp_path):
    path = v17_archive(tmp_path / "archive.db")
    old = store.open_db(path, migrate=False)
    before = timelines(old)
    old.close()
    assert len(before["article_dates"]) == len(ARTICLES)
    db = store.open_db(path)
    assert store.schema_version(db) == store.SCHEMA_VERSION > V17
    assert timelines(db) == before


def test_after_the_migration_writes_keep_the_day_counts_v17_would_keep(tmp_path, monkeypatch):
    monkeypatch.setattr(narratives, "now", lambda: "2026-12-01T00:00:00Z")  # matched_at
    v17 = store.open_db(v17_archive(tmp_path / "v17.db", written_by_today=True), migrate=False)
    migrated = store.open_db(v17_archive(tmp_path / "migrated.db"))
    for db in (v17, migrated):
        more_writes(db)
    assert timelines(migrated) == timelines(v17)
    assert sorted(map(repr, migrated.execute("SELECT * FROM narrative_day_counts"))) \
        == recount(migrated)


def test_an_article_has_its_timeline_columns(db_path):
    db = store.open_db(db_path)
    store.save_outlets(db, OUTLETS)
    narratives.save_narratives(db, [RA, OTHER])
    ids = {key: save(db, key) for key in ARTICLES}
    row = db.execute("SELECT timeline_date, timeline_at, timeline_day FROM articles WHERE id = ?",
                     [ids["day-seen-that-day"]]).fetchone()
    assert row == ("2017-03-25", "2017-03-25T08:00:00Z", "2017-03-25")
    row = db.execute("SELECT timeline_date, timeline_at, timeline_day FROM articles WHERE id = ?",
                     [ids["offset"]]).fetchone()
    assert row == ("2017-03-23T23:30:00-05:00", "2017-03-24T04:30:00Z", "2017-03-24")
    assert db.execute("SELECT dated_at, day, sorted_at FROM article_dates WHERE article_id = ?",
                      [ids["archived"]]).fetchone() == (
        "2017-03-26T10:00:00Z", "2017-03-26", "2017-03-26T10:00:00Z")


def test_a_page_dated_now_is_stored_not_refused(db_path):
    """strftime() of 'now' is not allowed in a generated column: the column leaves such a
    date as written instead of failing every insert and read of the article."""
    db = store.open_db(db_path)
    store.save_outlets(db, OUTLETS)
    narratives.save_narratives(db, [RA, OTHER])
    ARTICLES["now"] = ("reuters", "now", "2017-03-29T12:00:00Z", None, "")
    try:
        article_id = save(db, "now")
    finally:
        del ARTICLES["now"]
    assert db.execute("SELECT day FROM article_dates WHERE article_id = ?",
                      [article_id]).fetchone() == ("now",)
    assert store.narrative_timeline(db, RA.id)[0]["articles"] == 1


# --- one definition ---------------------------------------------------------------------------

DAY_RULE = [re.compile(pattern) for pattern in (
    # which date: the page's, else an archived copy's capture, else when we first saw it
    r"coalesce\((\w+\.)?published_at,\s*(\w+\.)?archived_at,\s*(\w+\.)?first_seen_at\)",
    # a day-only date sorts at its latest possible moment
    r"T23:59:59Z",
)]


def occurrences(text: str) -> int:
    return sum(len(pattern.findall(text)) for pattern in DAY_RULE)


def test_the_day_rule_is_spelled_out_once_in_the_archive(db_path):
    db = store.open_db(db_path)
    schema = {name: sql for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")}
    assert {name: occurrences(sql) for name, sql in schema.items() if occurrences(sql)} \
        == {"articles": len(DAY_RULE)}
    for trigger in ("mentions_day_counts_ai", "mentions_day_counts_ad", "mentions_day_counts_au",
                    "articles_day_counts_bd", "articles_day_counts_au"):
        assert "timeline_day" in schema[trigger]
    assert "timeline_at" in schema["article_dates"]


def test_the_day_rule_is_spelled_out_once_in_the_code():
    """Once in the sources (the migration that adds the columns), besides the released
    migrations that spelled it out before (plain SQL text, never edited)."""
    released = sum(occurrences(migration) for migration in store.MIGRATIONS[:V17])
    sources = [path for top in ("narrative_archive", "datasette", "spiders", "scheduler")
               for path in sorted((ROOT / top).rglob("*")) if path.suffix in (".py", ".yml", ".html")]
    found = {path.relative_to(ROOT).as_posix(): occurrences(path.read_text(encoding="utf-8"))
             for path in sources}
    assert sum(found.values()) - released == len(DAY_RULE), \
        {name: count for name, count in found.items() if count}


@pytest.mark.parametrize("column", ["timeline_date", "timeline_at", "timeline_day"])
def test_the_timeline_columns_cannot_be_written(db_path, column):
    db = store.open_db(db_path)
    with pytest.raises(sqlite3.OperationalError, match="generated column"):
        db.execute(f"UPDATE articles SET {column} = 'x'")
