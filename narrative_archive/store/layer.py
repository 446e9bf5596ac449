"""The learned narrative layer's readings (layer_readings), the mentions it adds
(mentions.matched_by = 'layer') and the query's matches it sets aside (a reading that
doubts): which articles it has still to read, what it read, which mentions a query's
rematch must leave to it (LAYER_CARRIES) and which matches it must not make again
(layer_doubts), in store.mentions and store.rematch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from narrative_archive.store.db import transaction
from narrative_archive.times import now

# A mention the layer still carries: its reading says so, of the article's text as it is now
# (a changed text is read again before the layer's word counts).
LAYER_CARRIES = (
    "EXISTS (SELECT 1 FROM layer_readings r JOIN articles a ON a.id = r.article_id"
    " WHERE r.article_id = mentions.article_id AND r.narrative_id = mentions.narrative_id"
    " AND r.carries AND r.content_hash IS a.content_hash)")


def layer_doubts(article: str, narrative: str) -> str:
    """SQL true where the layer doubts that the article (`article`: an SQL expression of its
    id) carries the narrative (`narrative`: of its id), in the article's text as it is now."""
    return ("EXISTS (SELECT 1 FROM layer_readings r JOIN articles a ON a.id = r.article_id"
            f" WHERE r.article_id = {article} AND r.narrative_id = {narrative}"
            " AND r.doubts AND r.content_hash IS a.content_hash)")


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
                        versions: Mapping[str, int]) -> dict[str, Any]:
    """Record the layer's readings, one transaction: rows of (article_id, content_hash,
    narrative_id, probability, carries, doubts, sentence, terms JSON). Where it carries a
    narrative of the archive (`versions`: id -> the narrative's version) that has no mention
    of the article, a mention is added (matched_by 'layer', the sentence as its snippet, its
    stance pending); a mention only the layer held goes where it no longer carries; where it
    doubts a match the query made, the query's mention is set aside (deleted: the reading
    records the doubt, and the article's page shows it). Returns {"readings", "added",
    "removed", "set_aside", "lifted": [(article_id, narrative_id) whose doubt about the same
    text is lifted: the query's match is to be made again]}."""
    timestamp, readings, added, removed, set_aside = now(), 0, 0, 0, 0
    lifted = []
    with transaction(db):
        for article_id, content_hash, narrative_id, probability, carries, doubts, sentence, terms in rows:
            readings += 1
            before = db.conn.execute(
                "SELECT doubts, content_hash FROM layer_readings WHERE article_id = ?"
                " AND narrative_id = ?", [article_id, narrative_id]).fetchone()
            doubted = bool(before and before[0] and before[1] == content_hash)
            if doubts and narrative_id in versions:
                # a doubt is of a match the query made (or of one set aside before)
                aside = db.conn.execute("DELETE FROM mentions WHERE article_id = ? AND narrative_id = ?",
                                        [article_id, narrative_id]).rowcount
                set_aside += aside
                doubts = bool(aside) or doubted
            else:
                doubts = False
            if doubted and not doubts and narrative_id in versions:
                lifted.append((article_id, narrative_id))
            db.conn.execute(
                "INSERT INTO layer_readings (article_id, narrative_id, weights, content_hash,"
                " probability, carries, doubts, sentence, read_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(article_id, narrative_id) DO UPDATE SET weights = excluded.weights,"
                " content_hash = excluded.content_hash, probability = excluded.probability,"
                " carries = excluded.carries, doubts = excluded.doubts,"
                " sentence = excluded.sentence, read_at = excluded.read_at",
                [article_id, narrative_id, weights, content_hash, probability, int(carries),
                 int(doubts), sentence, timestamp])
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
    return {"readings": readings, "added": added, "removed": removed, "set_aside": set_aside,
            "lifted": lifted}


def layer_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Per narrative: the mentions the layer holds."""
    return dict(db.conn.execute(
        "SELECT narrative_id, count(*) FROM mentions WHERE matched_by = 'layer'"
        " GROUP BY narrative_id ORDER BY narrative_id").fetchall())


def set_aside_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Per narrative: the articles whose query match the layer sets aside (readings that
    doubt, of the articles' texts as they are now)."""
    return dict(db.conn.execute(
        "SELECT r.narrative_id, count(*) FROM layer_readings r JOIN articles a"
        " ON a.id = r.article_id WHERE r.doubts AND r.content_hash IS a.content_hash"
        " GROUP BY r.narrative_id ORDER BY r.narrative_id").fetchall())
