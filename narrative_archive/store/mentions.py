"""Narratives and their mentions: versions, matches, rematches, near misses."""

from __future__ import annotations

import sqlite_utils

from narrative_archive.store.views import TIMELINE_DATE


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
        "SELECT a.id AS article_id, a.url, a.title, a.outlet_id, "
        f"{TIMELINE_DATE} AS dated_at,"
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


def narrative_timeline(
    db: sqlite_utils.Database,
    narrative_id: str,
    by: str = "day",
    since: str | None = None,
    until: str | None = None,
) -> list[dict]:
    """Rows of {period, articles, stories, outlets} for one narrative, oldest first.

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
    return [
        {by: row[column], "articles": row["articles"], "stories": row["stories"],
         "outlets": row["outlets"]}
        for row in db.query(
            f"SELECT {column}, articles, stories, outlets FROM {view} WHERE {' AND '.join(where)}"
            f" ORDER BY {column}",
            params,
        )
    ]
