"""The mention history (issue 21): kept as spans of versions (migration 26), read by the
view mention_history as one row per narrative version a mention held in, as the table of
that name held them before."""

from __future__ import annotations

import sqlite3

from narrative_archive import store
from narrative_archive.store.migrations import MIGRATIONS
from narrative_archive.store.schema import _statements

SPANS = 26  # the migration that keeps the history as spans
ROWS = ("SELECT article_id, narrative_id, narrative_version, snippet, removed_at IS NOT NULL,"
        " removed_in_version, stance FROM mention_history ORDER BY 1, 2, 3")


def _archive_before_spans(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:SPANS - 1]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SPANS - 1}")
    return _narrative_and_articles(conn)


def _narrative_and_articles(conn) -> sqlite3.Connection:
    """Narrative n at version 1 and five articles, 1 to 5."""
    conn.execute("INSERT INTO narratives (id, title, query, queries, version, updated_at)"
                 " VALUES ('n', 'n', 'q', '{}', 1, 't')")
    for article_id in range(1, 6):
        conn.execute("INSERT INTO articles (id, url, canonical_url, first_seen_at, last_seen_at,"
                     " fetched_at) VALUES (?, ?, ?, 't', 't', 't')",
                     [article_id, f"u{article_id}", f"u{article_id}"])
    return conn


def _version(conn, version: int) -> None:
    """A new version of narrative n's query, as save_narratives records it."""
    conn.execute("UPDATE narratives SET version = ? WHERE id = 'n'", [version])
    conn.execute("INSERT INTO narrative_versions (narrative_id, version, query, created_at)"
                 " VALUES ('n', ?, 'q', 't')", [version])


def _history_of_each_kind(conn) -> None:
    """Mentions that are kept, re-snipped, re-read, removed and matched again across four
    versions, each change made as the rematch and the crawl make it."""
    add = ("INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
           " snippet, stance) VALUES (?, 'n', ?, 't', ?, ?)")
    bump = "UPDATE mentions SET narrative_version = ?, snippet = coalesce(?, snippet) WHERE article_id = ?"
    _version(conn, 1)
    conn.execute(add, [1, 1, "kept <mark>a</mark>", "reports"])
    conn.execute(add, [2, 1, "goes <mark>b</mark>", "asserts"])
    conn.execute(add, [4, 1, "back <mark>d</mark>", None])
    conn.execute("DELETE FROM mentions WHERE article_id = 4")  # an edit loses it in version 1
    _version(conn, 2)
    for article_id in (1, 2):
        conn.execute(bump, [2, None, article_id])
    conn.execute(add, [3, 2, "read <mark>c</mark>", "reports"])
    conn.execute("UPDATE mentions SET stance = 'disputes' WHERE article_id = 3")  # read again
    _version(conn, 3)
    conn.execute(bump, [3, None, 1])
    conn.execute(bump, [3, None, 3])
    conn.execute("UPDATE mentions SET stance = 'reports' WHERE article_id = 3")  # cues changed
    conn.execute("DELETE FROM mentions WHERE article_id = 2")  # the narrower query
    conn.execute(add, [4, 3, "back <mark>d</mark>", "reports"])
    conn.execute(add, [5, 3, "edited <mark>e</mark>", "reports"])
    conn.execute("DELETE FROM mentions WHERE article_id = 5")  # edited away, and back
    conn.execute(add, [5, 3, "edited <mark>e</mark>", "reports"])
    _version(conn, 4)
    conn.execute(bump, [4, "kept, cut again <mark>a</mark>", 1])
    for article_id in (3, 4, 5):
        conn.execute(bump, [4, None, article_id])


def test_the_spans_read_as_the_rows_the_history_table_held(tmp_path):
    path = tmp_path / "old.db"
    conn = _archive_before_spans(path)
    _history_of_each_kind(conn)
    before = conn.execute(ROWS).fetchall()
    rows_before = conn.execute("SELECT count(*) FROM mention_history").fetchone()[0]
    conn.close()

    db = store.open_db(path)
    assert db.execute(ROWS).fetchall() == before
    spans = db.execute("SELECT count(*) FROM mention_spans").fetchone()[0]
    assert (rows_before, spans) == (14, 8)  # four versions of article 1 are two spans

    # the same history made on the spans: the triggers write what the migration reads
    path = tmp_path / "new.db"
    store.open_db(path).close()
    conn = _narrative_and_articles(sqlite3.connect(path, isolation_level=None))
    _history_of_each_kind(conn)
    assert conn.execute(ROWS).fetchall() == before
    assert conn.execute("SELECT count(*) FROM mention_spans").fetchone()[0] == spans


def test_a_version_that_keeps_a_mention_as_it_was_writes_no_history(db):
    db.execute("INSERT INTO articles (id, url, canonical_url, first_seen_at, last_seen_at,"
               " fetched_at) VALUES (1, 'u', 'u', 't', 't', 't')")
    narrative = db.execute("SELECT id, version FROM narratives").fetchone()
    db.execute("INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
               " snippet, stance) VALUES (1, ?, ?, 't', 's', 'reports')", narrative)
    for version in range(narrative[1] + 1, narrative[1] + 30):
        db.execute("INSERT INTO narrative_versions (narrative_id, version, query, created_at)"
                   " VALUES (?, ?, 'q', 't')", [narrative[0], version])
        db.execute("UPDATE narratives SET version = ? WHERE id = ?", [version, narrative[0]])
        db.execute("UPDATE mentions SET narrative_version = ?", [version])
    assert db.execute("SELECT count(*) FROM mention_spans").fetchone()[0] == 1
    assert [row[0] for row in db.execute(
        "SELECT narrative_version FROM mention_history WHERE narrative_id = ?"
        " ORDER BY narrative_version", [narrative[0]])] == list(range(narrative[1], narrative[1] + 30))
    # an edit re-read within the version: that version's row says what the mention says now
    db.execute("UPDATE mentions SET snippet = 'edited'")
    rows = db.execute("SELECT narrative_version, snippet FROM mention_history"
                      " WHERE narrative_id = ? ORDER BY narrative_version", [narrative[0]]).fetchall()
    assert rows[-1] == (narrative[1] + 29, "edited")
    assert {snippet for _, snippet in rows[:-1]} == {"s"}
    assert db.execute("SELECT count(*) FROM mention_spans").fetchone()[0] == 2
