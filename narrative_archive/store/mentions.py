"""Narratives and their mentions: versions, matches, near misses, timelines
(the rematch over the whole archive is store.rematch)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from narrative_archive.store.claim_rules import keep_verdicts
from narrative_archive.store.db import transaction
from narrative_archive.store.layer import LAYER_CARRIES, layer_doubts
from narrative_archive.times import now, period_of, periods_between


def narrative_ids(db: sqlite_utils.Database) -> list[str]:
    """The ids of the archive's narratives, sorted."""
    return [row[0] for row in db.execute("SELECT id FROM narratives ORDER BY id")]


def get_narrative(db: sqlite_utils.Database, narrative_id: str) -> dict | None:
    """A narrative's row (title, description, query, queries, version, ...), or None."""
    rows = list(db.query("SELECT * FROM narratives WHERE id = ?", [narrative_id]))
    return rows[0] if rows else None


def near_misses(db: sqlite_utils.Database, candidates: str, query: str, limit: int = 20,
                snippet_tokens: int = 32) -> list[dict]:
    """Articles that FTS5 query `candidates` matches and `query` does not, newest first,
    each with the passage where the candidates' terms are closest (marked with [ ])."""
    return list(db.query(
        "SELECT a.id AS article_id, a.url, a.title, a.outlet_id, a.timeline_date AS dated_at,"
        f" snippet(articles_fts, -1, '[', ']', '…', {int(snippet_tokens)}) AS passage"
        " FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH :candidates AND articles_fts.rowid NOT IN"
        " (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :query)"
        " ORDER BY dated_at DESC LIMIT :limit",
        {"candidates": candidates, "query": query, "limit": limit},
    ))


def narrative_counts(db: sqlite_utils.Database) -> list[dict]:
    """Per narrative: its version, mentions, distinct outlets, first and last dated mention."""
    return list(db.query(
        "SELECT n.id AS narrative, n.version, count(m.article_id) AS mentions,"
        " count(DISTINCT a.outlet_id) AS outlets,"
        " min(a.dated_at) AS first, max(a.dated_at) AS last"
        " FROM narratives n LEFT JOIN mentions m ON m.narrative_id = n.id"
        " LEFT JOIN article_dates a ON a.article_id = m.article_id GROUP BY n.id ORDER BY n.id"
    ))


PERIOD_VIEWS = {"day": "narrative_daily", "week": "narrative_weekly", "month": "narrative_monthly"}


_PERIOD = {"day": re.compile(r"^\d{4}-\d{2}-\d{2}$"), "week": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
           "month": re.compile(r"^\d{4}-\d{2}$")}


def narrative_timeline(
    db: sqlite_utils.Database,
    narrative_id: str,
    by: str = "day",
    since: str | None = None,
    until: str | None = None,
) -> list[dict]:
    """Rows of {period, articles, stories, outlets} for one narrative, oldest first, every
    period from the first to the last (within since/until) with an empty one as zeros.

    A period is a day (YYYY-MM-DD), the Monday a week starts on, or a month
    (YYYY-MM). An article is dated by published_at, else first_seen_at.
    """
    view, column = PERIOD_VIEWS[by], by  # each view names its period column after it
    where, params = ["narrative = ?"], [narrative_id]
    if since:
        where.append(f"{column} >= ?")
        params.append(since[: len("YYYY-MM") if by == "month" else len("YYYY-MM-DD")])
    if until:
        where.append(f"{column} <= ?")
        params.append(until[: len("YYYY-MM") if by == "month" else len("YYYY-MM-DD")])
    found = {row[column]: row for row in db.query(
        f"SELECT {column}, articles, stories, outlets FROM {view} WHERE {' AND '.join(where)}"
        f" ORDER BY {column}", params)}
    readable = [period for period in found if _PERIOD[by].match(period or "")]
    periods = readable
    if readable:  # every period from the first to the last, empty ones as zero
        start = max(period_of(since, by), readable[0]) if since else readable[0]
        end = min(period_of(until, by), readable[-1]) if until else readable[-1]
        periods = periods_between(start, end, by)
    # a page's date that is no date ("last Tuesday"): listed as it stands, after the rest
    periods += [period for period in found if period not in readable]
    empty = {"articles": 0, "stories": 0, "outlets": 0}
    return [{by: period, **{key: (found.get(period) or empty)[key] for key in empty}}
            for period in periods]


def holds_articles(db: sqlite_utils.Database) -> bool:
    """Whether the archive holds an article (a new one holds none)."""
    return db.conn.execute("SELECT EXISTS (SELECT 1 FROM articles)").fetchone()[0] == 1


def rematch_empty(db: sqlite_utils.Database, narrative_id: str, rule: str | None) -> dict[str, int]:
    """rematch_mentions over an archive that holds no article (holds_articles): no hits,
    so the narrative keeps no mention, and its claim rule's key (`rule`, given when
    rematch_mentions would get a claim) is recorded as that would. Without spelling out
    the query or compiling the rule: ~0.07 s a narrative, a new archive's first crawl."""
    with transaction(db):
        if rule is not None:
            keep_verdicts(db, narrative_id, rule)
        removed = db.conn.execute("DELETE FROM mentions WHERE narrative_id = ?",
                                  [narrative_id]).rowcount
    return {"matched": 0, "added": 0, "removed": removed}


# --- narratives and their versions -------------------------------------------


def save_narratives(db: sqlite_utils.Database, narratives: Iterable[Any]) -> list[str]:
    """Store narratives (config.Narrative or alike: id, title, description, query,
    queries, since); a changed query bumps the version and records it in
    narrative_versions. Returns the ids whose query is new or changed."""
    changed = []
    timestamp = now()
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        for narrative in narratives:
            queries = json.dumps(dict(narrative.queries), ensure_ascii=False)
            row = db.conn.execute(
                "SELECT version, query, queries, updated_at FROM narratives WHERE id = ?", [narrative.id]
            ).fetchone()
            if row is None:
                version = 1
            elif (row[1], row[2]) != (narrative.query, queries):
                version = row[0] + 1
            else:
                version = None
            if version is not None:
                changed.append(narrative.id)
            db.conn.execute(
                "INSERT INTO narratives (id, title, description, query, queries, since, version,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
                " description = excluded.description, query = excluded.query,"
                " queries = excluded.queries, since = excluded.since,"
                " version = excluded.version, updated_at = excluded.updated_at",
                [narrative.id, narrative.title, narrative.description, narrative.query, queries,
                 narrative.since, version or row[0], timestamp if version else row[3]],
            )
            if version is not None:
                db.conn.execute(
                    "INSERT INTO narrative_versions (narrative_id, version, query, queries,"
                    " created_at) VALUES (?, ?, ?, ?, ?)",
                    [narrative.id, version, narrative.query, queries, timestamp],
                )
    return changed


def narrative_version(db: sqlite_utils.Database, narrative_id: str) -> int:
    """The narrative's current version; KeyError if it is not in the archive."""
    row = db.execute("SELECT version FROM narratives WHERE id = ?", [narrative_id]).fetchone()
    if row is None:
        raise KeyError(f"narrative {narrative_id!r} is not in the archive: run init")
    return row[0]


def earlier_queries(db: sqlite_utils.Database, narrative_id: str,
                    version: int) -> dict[int, tuple[str, str]]:
    """The query and language variants (JSON) of each version of the narrative other than
    `version` that one of its mentions still holds."""
    return {row[0]: (row[1], row[2]) for row in db.conn.execute(
        "SELECT version, query, queries FROM narrative_versions WHERE narrative_id = ?"
        " AND version != ? AND version IN"
        " (SELECT DISTINCT narrative_version FROM mentions WHERE narrative_id = ?)",
        [narrative_id, version, narrative_id])}


# --- matching one article ------------------------------------------------------


def matches_article(db: sqlite_utils.Database, query: str, article_id: int) -> bool:
    """Whether the FTS5 query matches this article in the archive's index."""
    return db.conn.execute(
        "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?",
        [query, article_id],
    ).fetchone() is not None


def save_mention(db: sqlite_utils.Database, article_id: int, narrative_id: str, version: int,
                 matched_at: str, snippet: str | None, terms: str, stance: tuple) -> None:
    """Upsert one mention with its snippet, matched terms (JSON) and (stance, confidence,
    evidence JSON[, speaker, speaker name]); a kept mention keeps its matched_at. Not where
    the learned layer set the query's match aside, in the article's text as it is now."""
    stance = (*stance, None, None)[:5]
    db.conn.execute(
        "INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
        " snippet, terms, stance, stance_confidence, stance_evidence, stance_speaker,"
        " stance_speaker_name, matched_by) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'query'"
        f" WHERE NOT {layer_doubts('?1', '?2')}"
        " ON CONFLICT(article_id, narrative_id) DO UPDATE SET"
        " narrative_version = excluded.narrative_version, snippet = excluded.snippet,"
        " matched_by = excluded.matched_by,"
        " terms = excluded.terms, stance = excluded.stance,"
        " stance_confidence = excluded.stance_confidence,"
        " stance_evidence = excluded.stance_evidence,"
        " stance_speaker = excluded.stance_speaker,"
        " stance_speaker_name = excluded.stance_speaker_name",
        [article_id, narrative_id, version, matched_at, snippet, terms, *stance],
    )


def delete_mention(db: sqlite_utils.Database, article_id: int, narrative_id: str) -> None:
    """The article no longer matches the narrative's query: its mention goes (into
    history), unless the learned layer still carries it in the article's text as it is now
    (store.layer), whose mention it then is."""
    db.conn.execute(f"DELETE FROM mentions WHERE article_id = ? AND narrative_id = ?"
                    f" AND NOT {LAYER_CARRIES}", [article_id, narrative_id])
    db.conn.execute("UPDATE mentions SET matched_by = 'layer' WHERE article_id = ?"
                    " AND narrative_id = ? AND matched_by != 'layer'", [article_id, narrative_id])


def export_mentions(conn: sqlite3.Connection, narrative_id: str) -> sqlite3.Cursor:
    """A cursor over every mention of the narrative as export_mentions has it (every
    column a researcher exports), for streaming in batches: fetchmany(), description."""
    return conn.execute("SELECT * FROM export_mentions WHERE narrative_id = ?", [narrative_id])
