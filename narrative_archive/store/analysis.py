"""Analysis rows: stance per mention, story clusters, citations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlite_utils

from narrative_archive.store.db import _json, transaction

# --- analysis: stance, stories, citations ------------------------------------


def mention_article(db: sqlite_utils.Database, article_id: int) -> tuple | None:
    """(title, text, language) of an article, as stance reads it."""
    return db.conn.execute(
        "SELECT title, text, language FROM articles WHERE id = ?", [article_id]
    ).fetchone()


def save_stance(db: sqlite_utils.Database, rows: Iterable[tuple]) -> int:
    """Set (article_id, narrative_id, stance, confidence, evidence mapping[, speaker,
    speaker name]) on mentions."""
    values = []
    for row in rows:
        article_id, narrative_id, stance, confidence, evidence, speaker, name = (*row, None, None)[:7]
        values.append((stance, confidence, _json(evidence), speaker, name, article_id, narrative_id))
    with transaction(db):
        db.conn.executemany(
            "UPDATE mentions SET stance = ?, stance_confidence = ?, stance_evidence = ?,"
            " stance_speaker = ?, stance_speaker_name = ?"
            " WHERE article_id = ? AND narrative_id = ?", values)
    return len(values)


def mentions_pending_stance(db: sqlite_utils.Database, narrative_ids: Iterable[str] | None = None,
                            limit: int = 500) -> list[tuple]:
    """Up to ``limit`` mentions whose stance is not computed yet (stance_confidence NULL):
    (article_id, narrative_id, terms, title, text, language)."""
    where, params = "m.stance_confidence IS NULL", []
    if narrative_ids is not None:
        narrative_ids = list(narrative_ids)
        where += f" AND m.narrative_id IN ({', '.join('?' * len(narrative_ids))})"
        params = narrative_ids
    return db.conn.execute(
        "SELECT m.article_id, m.narrative_id, m.terms, a.title, a.text, a.language"
        f" FROM mentions m JOIN articles a ON a.id = m.article_id WHERE {where}"
        " ORDER BY m.narrative_id, m.article_id LIMIT ?", [*params, limit]).fetchall()


def reset_stance(db: sqlite_utils.Database, narrative_ids: Iterable[str] | None = None,
                 unread_by: str | None = None) -> int:
    """Mark mentions' stance for recomputation (all, or those of these narratives);
    `unread_by`: only those whose stance no reader of that name has read (the evidence's
    `reader` names none, or another: "encoder" picks what the rules alone read)."""
    where, params = [], []
    if narrative_ids is not None:
        narrative_ids = list(narrative_ids)
        where.append(f"narrative_id IN ({', '.join('?' * len(narrative_ids))})")
        params += narrative_ids
    if unread_by is not None:
        where.append("CASE WHEN json_valid(stance_evidence) THEN coalesce(json_extract("
                     "stance_evidence, '$.reader'), '') ELSE '' END NOT LIKE ?")
        params.append(f"%{unread_by}")
    with transaction(db):
        return db.conn.execute(
            "UPDATE mentions SET stance_confidence = NULL"
            + (f" WHERE {' AND '.join(where)}" if where else ""), params).rowcount


def story_date(db: sqlite_utils.Database, article_id: int) -> str | None:
    """The date a story is rooted by: the article's timeline time (article_dates.sorted_at)."""
    row = db.conn.execute(
        "SELECT sorted_at FROM article_dates WHERE article_id = ?", [article_id]).fetchone()
    return row[0] if row else None


def story_candidates(db: sqlite_utils.Database, keys: Iterable[int]) -> set[int]:
    keys = list(keys)
    return {row[0] for row in db.conn.execute(
        f"SELECT DISTINCT article_id FROM story_buckets WHERE bucket IN ({', '.join('?' * len(keys))})",
        keys)}


def story_candidate_entries(db: sqlite_utils.Database, keys: Iterable[int]) -> dict[int, tuple]:
    """The indexed articles sharing a bucket with ``keys``, each with its (signature, date,
    story_id): one query where story_candidates + story_entry per candidate take many."""
    keys = list(keys)
    return {row[0]: row[1:] for row in db.conn.execute(
        "SELECT s.article_id, s.signature, s.date, s.story_id FROM story_signatures s"
        " WHERE s.article_id IN (SELECT article_id FROM story_buckets"
        f" WHERE bucket IN ({', '.join('?' * len(keys))}))", keys)}


def story_entry(db: sqlite_utils.Database, article_id: int) -> tuple | None:
    """(signature, date, story_id) of an indexed article."""
    return db.conn.execute(
        "SELECT signature, date, story_id FROM story_signatures WHERE article_id = ?",
        [article_id]).fetchone()


def story_put(db: sqlite_utils.Database, article_id: int, keys: Iterable[int],
              signature: bytes, date: str | None, story_id: int) -> None:
    """Index an article's signature under its band keys and set its story."""
    db.conn.executemany("INSERT INTO story_buckets (bucket, article_id) VALUES (?, ?)",
                        [(key, article_id) for key in keys])
    db.conn.execute(
        "INSERT OR REPLACE INTO story_signatures (article_id, signature, date, story_id)"
        " VALUES (?, ?, ?, ?)", [article_id, signature, date, story_id])
    set_story(db, article_id, story_id)


def story_remove(db: sqlite_utils.Database, article_id: int) -> None:
    if db.conn.execute("DELETE FROM story_signatures WHERE article_id = ?", [article_id]).rowcount:
        db.conn.execute("DELETE FROM story_buckets WHERE article_id = ?", [article_id])


def story_rename(db: sqlite_utils.Database, old: Iterable[int], new: int) -> None:
    """Members of the ``old`` stories now belong to story ``new``."""
    old = list(old)
    marks = ", ".join("?" * len(old))
    db.conn.execute(f"UPDATE story_signatures SET story_id = ? WHERE story_id IN ({marks})",
                    [new, *old])
    db.conn.execute(f"UPDATE articles SET story_id = ? WHERE story_id IN ({marks})", [new, *old])


def story_count(db: sqlite_utils.Database) -> int:
    """Stories in the archive: an article outside any cluster is a story of its own."""
    return db.execute("SELECT count(DISTINCT coalesce(story_id, id)) FROM articles").fetchone()[0]


def set_story(db: sqlite_utils.Database, article_id: int, story_id: int) -> None:
    db.conn.execute("UPDATE articles SET story_id = ? WHERE id = ? AND story_id IS NOT ?",
                    [story_id, article_id, story_id])


def clear_stories(db: sqlite_utils.Database) -> None:
    """Empty the story index (restory rebuilds it); articles keep their story_id meanwhile."""
    with transaction(db):
        db.conn.execute("DELETE FROM story_buckets")
        db.conn.execute("DELETE FROM story_signatures")


def articles_in_story_order(db: sqlite_utils.Database, batch: int = 500) -> Iterator[tuple]:
    """Every article as (id, text, story date), oldest first, read ``batch`` at a time.

    The order is fixed once in a temp table of ids (not texts), so memory stays bounded
    and writes made while reading do not move the cursor."""
    db.conn.execute("DROP TABLE IF EXISTS temp.story_order")
    db.conn.execute(
        "CREATE TEMP TABLE story_order AS SELECT article_id, sorted_at FROM article_dates"
        " ORDER BY sorted_at IS NULL, sorted_at, article_id")
    last = 0
    while True:
        rows = db.conn.execute(
            "SELECT o.rowid, o.article_id, a.text, o.sorted_at FROM temp.story_order o"
            " JOIN articles a ON a.id = o.article_id WHERE o.rowid > ? ORDER BY o.rowid LIMIT ?",
            [last, batch]).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for _, article_id, text, date in rows:
            yield article_id, text, date
    db.conn.execute("DROP TABLE IF EXISTS temp.story_order")


def save_citations(db: sqlite_utils.Database, article_id: int, citations: Iterable[Any]) -> int:
    """Replace an article's citations (analysis.citations.Citation or mappings); a link's
    target_article_id is the archived article with that canonical URL, if any."""
    rows = []
    for citation in citations:
        get = citation.get if isinstance(citation, Mapping) else lambda k, c=citation: getattr(c, k)
        rows.append((article_id, get("kind"), get("target_url"), get("source_name"),
                     get("outlet_id"), get("sentence")))
    with transaction(db):
        db.conn.execute("DELETE FROM citations WHERE article_id = ?", [article_id])
        db.conn.executemany(
            "INSERT INTO citations (article_id, kind, target_url, source_name, outlet_id,"
            " sentence, target_article_id) VALUES (?, ?, ?, ?, ?, ?,"
            " (SELECT id FROM articles WHERE canonical_url = ?3))", rows)
    return len(rows)


def resolve_citations_to(db: sqlite_utils.Database, article_id: int) -> int:
    """Citations of this article's URL (canonical or as fetched) now point at it."""
    with transaction(db):
        return db.conn.execute(
            "UPDATE citations SET target_article_id = :id"
            " WHERE target_article_id IS NULL AND target_url IN"
            " (SELECT canonical_url FROM articles WHERE id = :id"
            "  UNION SELECT url FROM articles WHERE id = :id)", {"id": article_id}).rowcount


def article_outlet(db: sqlite_utils.Database, article_id: int) -> str | None:
    """The outlet an article belongs to (None when unknown)."""
    row = db.conn.execute("SELECT outlet_id FROM articles WHERE id = ?", [article_id]).fetchone()
    return row[0] if row else None


def articles_for_citations(db: sqlite_utils.Database, batch: int = 500) -> Iterator[tuple]:
    """Every article as (id, text, links JSON, language, outlet id), by id, ``batch`` at a
    time."""
    last = 0
    while True:
        rows = db.conn.execute(
            "SELECT id, text, links, language, outlet_id FROM articles WHERE id > ?"
            " ORDER BY id LIMIT ?",
            [last, batch]).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        yield from rows


def resolve_all_citations(db: sqlite_utils.Database) -> int:
    """Point every link citation at the archived article with its URL (after a recite);
    returns how many point at one."""
    with transaction(db):
        db.conn.execute(
            "UPDATE citations SET target_article_id = coalesce("
            " (SELECT id FROM articles WHERE canonical_url = citations.target_url),"
            " (SELECT min(id) FROM articles WHERE url = citations.target_url))"
            " WHERE target_url IS NOT NULL")
    return db.conn.execute(
        "SELECT count(*) FROM citations WHERE target_article_id IS NOT NULL").fetchone()[0]


def article_analysis(db: sqlite_utils.Database, article_id: int) -> dict[str, list[dict]]:
    """What the article page shows: the other copies of its story, what it cites and who cites it."""
    copies = list(db.query(
        "SELECT c.id AS article_id, c.title, c.url, c.outlet_id, o.name AS outlet,"
        " d.dated_at, c.id = c.story_id AS original"
        " FROM articles a JOIN articles c ON c.story_id = a.story_id AND c.id != a.id"
        " JOIN article_dates d ON d.article_id = c.id LEFT JOIN outlets o ON o.id = c.outlet_id"
        " WHERE a.id = ? ORDER BY d.sorted_at, c.id LIMIT 100", [article_id]))
    cites = list(db.query(
        "SELECT c.kind, c.source_name, c.outlet_id, c.target_url, c.target_article_id,"
        " t.title AS target_title, c.sentence FROM citations c"
        " LEFT JOIN articles t ON t.id = c.target_article_id"
        " WHERE c.article_id = ? ORDER BY c.target_article_id IS NULL, c.id LIMIT 200",
        [article_id]))
    cited_by = list(db.query(
        "SELECT c.article_id, a.title, a.url, o.name AS outlet, d.dated_at, c.kind, c.sentence"
        " FROM citations c JOIN articles a ON a.id = c.article_id"
        " JOIN article_dates d ON d.article_id = a.id LEFT JOIN outlets o ON o.id = a.outlet_id"
        " WHERE c.target_article_id = ? ORDER BY d.sorted_at, a.id LIMIT 200", [article_id]))
    return {"copies": copies, "cites": cites, "cited_by": cited_by}


def stance_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Mentions per stance ("none" for a mention no cue could label)."""
    return dict(db.conn.execute(
        "SELECT coalesce(stance, 'none'), count(*) FROM mentions GROUP BY 1").fetchall())
