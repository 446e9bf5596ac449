"""What the narrative page reads (/narratives and /narratives/NARRATIVE), on the views.

One narrow query gives every mention of a narrative (mention_articles: its date, outlet,
country, kind, language, stance, story); the page filters and counts those rows in
Python, then asks for the few articles each block shows by id. Nothing here reads an
article's text except the disputing sentences of the rows shown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import sqlite_utils

# The columns of one mention as narrative_rows reads them, in this order.
MENTION_COLUMNS = ("article_id", "stance", "outlet_id", "story_id", "language",
                   "published_at", "archived_at", "first_seen_at")


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def narratives_with_counts(db: sqlite_utils.Database) -> list[dict]:
    """Every narrative (title, description, query, version, since) with its mentions and
    outlets (from the day counts), oldest first mention, by id."""
    return list(db.query(
        "SELECT n.id, n.title, n.description, n.query, n.version, n.since, n.updated_at,"
        " coalesce(c.articles, 0) AS articles, coalesce(c.outlets, 0) AS outlets,"
        " c.first_day, c.last_day"
        " FROM narratives n LEFT JOIN ("
        "  SELECT narrative_id, sum(articles) AS articles,"
        "   count(DISTINCT nullif(outlet_id, '')) AS outlets, min(day) AS first_day,"
        "   max(day) AS last_day FROM narrative_day_counts GROUP BY narrative_id"
        " ) c ON c.narrative_id = n.id ORDER BY n.id"))


def monthly_counts(db: sqlite_utils.Database) -> list[tuple[str, str, int]]:
    """(narrative, month YYYY-MM, articles) of every narrative (narrative_monthly)."""
    return [tuple(row) for row in db.execute(
        "SELECT narrative, month, articles FROM narrative_monthly ORDER BY narrative, month")]


def narrative_rows(db: sqlite_utils.Database, narrative_id: str) -> list[tuple]:
    """Every mention of the narrative as a tuple: article id, stance, outlet, story,
    language, which date the article stands at (published, archived or first_seen), and
    its place on timelines (the generated timeline_date and timeline_at: the one rule). Reads
    mentions and articles only: at a million articles the mention_articles view costs twice
    as much for the same rows."""
    return db.execute(
        "SELECT m.article_id, m.stance, a.outlet_id, coalesce(a.story_id, a.id), a.language,"
        " CASE WHEN a.published_at IS NOT NULL THEN 'published'"
        " WHEN a.archived_at IS NOT NULL THEN 'archived' ELSE 'first_seen' END,"
        " a.timeline_date, a.timeline_at"
        " FROM mentions m JOIN articles a ON a.id = m.article_id WHERE m.narrative_id = ?",
        [narrative_id]).fetchall()


def all_outlets(db: sqlite_utils.Database) -> dict[str, tuple]:
    """Every outlet as (name, country, kind, state_affiliated), by id."""
    return {row[0]: tuple(row[1:]) for row in db.execute(
        "SELECT id, name, country, kind, state_affiliated FROM outlets")}


def mention_details(db: sqlite_utils.Database, narrative_id: str,
                    article_ids: Iterable[int]) -> dict[int, dict]:
    """The shown mentions, by article id: title, URL, dates, outlet, stance and its
    evidence, an archived copy's provenance and the earliest capture of the page."""
    ids = list(dict.fromkeys(int(i) for i in article_ids))
    if not ids:
        return {}
    rows = db.query(
        "SELECT m.article_id, m.title, m.url, m.outlet_id, m.outlet, m.country,"
        " m.outlet_kind, m.state_affiliated, m.language, m.published_at, m.first_seen_at,"
        " m.dated_at, m.sorted_at, m.date_source, m.date_precision, m.stance,"
        " m.stance_confidence, m.stance_evidence, m.story_id, m.archived_at, m.archive_url,"
        " m.archive_source, m.snippet FROM mention_articles m"
        f" WHERE m.narrative_id = ? AND m.article_id IN ({_marks(ids)})", [narrative_id, *ids])
    found = {row["article_id"]: row for row in rows}
    for capture in _first_captures(db, ids):
        if capture["article_id"] in found:
            found[capture["article_id"]].update(
                capture_id=capture["id"], captured_at=capture["fetched_at"])
    return found


def _first_captures(db: sqlite_utils.Database, ids: list[int]) -> list[dict]:
    """The earliest kept 2xx capture of each article (none before migration 15)."""
    try:
        return list(db.query(
            "SELECT article_id, id, fetched_at FROM ("
            " SELECT c.article_id, c.id, c.fetched_at, row_number() OVER ("
            "  PARTITION BY c.article_id ORDER BY c.fetched_at, c.id) AS rank"
            f" FROM captures c WHERE c.article_id IN ({_marks(ids)}) AND c.pruned_at IS NULL"
            "  AND c.status BETWEEN 200 AND 299) WHERE rank = 1", ids))
    except sqlite3.OperationalError:
        return []


def story_members(db: sqlite_utils.Database, story_ids: Iterable[int]) -> list[dict]:
    """Every article of these stories (story_copies: the original and its copies), each
    with its outlet and date, in story order."""
    ids = list(dict.fromkeys(int(i) for i in story_ids))
    if not ids:
        return []
    return list(db.query(
        "SELECT story_id, article_id, original, outlet_id, outlet, title, url, dated_at,"
        f" sorted_at FROM story_copies WHERE story_id IN ({_marks(ids)})"
        " ORDER BY story_id, sorted_at, article_id", ids))


def outlet_rows(db: sqlite_utils.Database,
                outlet_ids: Iterable[str | None]) -> dict[str, dict]:
    """The outlets' rows (name, country, kind, owner, state affiliation), by id."""
    ids = [i for i in dict.fromkeys(outlet_ids) if i]
    if not ids:
        return {}
    return {row["id"]: row for row in db.query(
        "SELECT id, name, url, country, language, kind, owner, state_affiliated, configured"
        f" FROM outlets WHERE id IN ({_marks(ids)})", ids)}


def citation_edges(db: sqlite_utils.Database, narrative_id: str,
                   limit: int = 5000) -> list[dict]:
    """Citations made by articles on the narrative: links to an archived article that also
    mentions it, and attributions naming a known outlet (resolved by the caller to that
    outlet's latest earlier article on the narrative, as narrative_citations does). Each:
    citing and cited article id (None for an attribution), kind, the outlet and name
    cited, the sentence."""
    try:
        return list(db.query(
            "SELECT c.article_id AS citing_article_id, c.target_article_id AS cited_article_id,"
            " c.kind, c.source_name, c.outlet_id AS cited_outlet_id, c.sentence"
            " FROM mentions m JOIN citations c ON c.article_id = m.article_id"
            " WHERE m.narrative_id = :narrative AND c.target_article_id IS NOT NULL"
            "  AND c.target_article_id != c.article_id AND EXISTS (SELECT 1 FROM mentions t"
            "   WHERE t.article_id = c.target_article_id AND t.narrative_id = :narrative)"
            " UNION ALL"
            " SELECT c.article_id, NULL, c.kind, c.source_name, c.outlet_id, c.sentence"
            " FROM mentions m JOIN citations c ON c.article_id = m.article_id"
            " WHERE m.narrative_id = :narrative AND c.kind = 'attribution'"
            "  AND c.outlet_id IS NOT NULL LIMIT :limit",
            {"narrative": narrative_id, "limit": limit}))
    except sqlite3.OperationalError:  # an archive from before the analysis tables
        return []


def has_column(db: sqlite_utils.Database, table: str, column: str) -> bool:
    """Whether the archive's table has this column (a later migration's, perhaps)."""
    return any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})"))


def mention_columns(db: sqlite_utils.Database, narrative_id: str, columns: Iterable[str],
                    article_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Those of these mentions' columns the archive has (e.g. stance_speaker and
    stance_speaker_name, from a later migration), by article id; {} when it has none."""
    ids = list(dict.fromkeys(int(i) for i in article_ids))
    present = [c for c in columns if has_column(db, "mentions", c)]
    if not ids or not present:
        return {}
    return {row["article_id"]: row for row in db.query(
        f"SELECT article_id, {', '.join(f'[{c}]' for c in present)} FROM mentions"
        f" WHERE narrative_id = ? AND article_id IN ({_marks(ids)})", [narrative_id, *ids])}


def narrative_titles(conn: sqlite3.Connection) -> list[str]:
    """The narratives' titles in id order (the order their colours follow)."""
    return [row[0] for row in conn.execute("SELECT title FROM narratives ORDER BY id")]
