"""Narratives and their mentions: versions, matches, rematches, near misses."""

from __future__ import annotations

import sqlite_utils

from narrative_archive.store.views import TIMELINE_DATE

# --- narrative coverage ----------------------------------------------------


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
