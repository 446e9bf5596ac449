"""The learned narrative layer's readings (layer_readings) and the mentions it adds
(mentions.matched_by = 'layer'): which articles it has still to read, what it read, and
which mentions a query's rematch must leave to it (LAYER_CARRIES, in store.mentions and
store.rematch)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlite_utils

from narrative_archive.store.db import transaction
from narrative_archive.times import now

# A mention the layer still carries: its reading says so, of the article's text as it is now
# (a changed text is read again before the layer's word counts).
LAYER_CARRIES = (
    "EXISTS (SELECT 1 FROM layer_readings r JOIN articles a ON a.id = r.article_id"
    " WHERE r.article_id = mentions.article_id AND r.narrative_id = mentions.narrative_id"
    " AND r.carries AND r.content_hash IS a.content_hash)")


def layer_candidates(db: sqlite_utils.Database, query: str, weights: str,
                     limit: int) -> list[tuple]:
    """(id, title, text, language, content_hash) of up to `limit` articles the FTS5 `query`
    matches that the layer has not read with these `weights` in their current text, the
    most recently stored first."""
    return db.conn.execute(
        "SELECT a.id, a.title, a.text, a.language, a.content_hash"
        " FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH ? AND NOT EXISTS (SELECT 1 FROM layer_readings r"
        " WHERE r.article_id = a.id AND r.weights = ? AND r.content_hash IS a.content_hash)"
        " ORDER BY a.id DESC LIMIT ?", [query, weights, limit]).fetchall()


def count_layer_candidates(db: sqlite_utils.Database, query: str, weights: str) -> int:
    """How many articles layer_candidates would give with no limit."""
    return db.conn.execute(
        "SELECT count(*) FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH ? AND NOT EXISTS (SELECT 1 FROM layer_readings r"
        " WHERE r.article_id = a.id AND r.weights = ? AND r.content_hash IS a.content_hash)",
        [query, weights]).fetchone()[0]


def save_layer_readings(db: sqlite_utils.Database, weights: str, rows: Iterable[tuple],
                        versions: Mapping[str, int]) -> dict[str, int]:
    """Record the layer's readings, one transaction: rows of (article_id, content_hash,
    narrative_id, probability, carries, sentence, terms JSON). Where it carries a narrative of
    the archive (`versions`: id -> the narrative's version) that has no mention of the
    article, a mention is added (matched_by 'layer', the sentence as its snippet, its stance
    pending); a mention only the layer held goes where it no longer carries. Returns
    {"readings", "added", "removed"}."""
    timestamp, readings, added, removed = now(), 0, 0, 0
    with transaction(db):
        for article_id, content_hash, narrative_id, probability, carries, sentence, terms in rows:
            readings += 1
            db.conn.execute(
                "INSERT INTO layer_readings (article_id, narrative_id, weights, content_hash,"
                " probability, carries, sentence, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(article_id, narrative_id) DO UPDATE SET weights = excluded.weights,"
                " content_hash = excluded.content_hash, probability = excluded.probability,"
                " carries = excluded.carries, sentence = excluded.sentence,"
                " read_at = excluded.read_at",
                [article_id, narrative_id, weights, content_hash, probability, int(carries),
                 sentence, timestamp])
            if narrative_id not in versions:
                continue
            if carries:
                added += db.conn.execute(
                    "INSERT INTO mentions (article_id, narrative_id, narrative_version,"
                    " matched_at, snippet, terms, matched_by) VALUES (?, ?, ?, ?, ?, ?, 'layer')"
                    " ON CONFLICT(article_id, narrative_id) DO NOTHING",
                    [article_id, narrative_id, versions[narrative_id], timestamp, sentence,
                     terms]).rowcount
            else:
                removed += db.conn.execute(
                    "DELETE FROM mentions WHERE article_id = ? AND narrative_id = ?"
                    " AND matched_by = 'layer'", [article_id, narrative_id]).rowcount
    return {"readings": readings, "added": added, "removed": removed}


def layer_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Per narrative: the mentions the layer holds."""
    return dict(db.conn.execute(
        "SELECT narrative_id, count(*) FROM mentions WHERE matched_by = 'layer'"
        " GROUP BY narrative_id ORDER BY narrative_id").fetchall())
