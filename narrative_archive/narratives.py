"""Narratives are FTS5 queries: validate them, keep their versions, match them.

Matching always goes through the archive's own FTS index, at ingest (restricted
to the new article's rowid) and on rematch (one INSERT ... SELECT per narrative),
so a query behaves exactly as it does in Datasette's search box.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable

import sqlite_utils

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.config import Config, Narrative
from narrative_archive.store import FTS_TOKENIZER, now

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
SNIPPET_TOKENS = 32
SNIPPET_SQL = (
    f"snippet(articles_fts, -1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', {SNIPPET_TOKENS})"
)
_MARKED = re.compile(re.escape(MARK_OPEN) + r"(.*?)" + re.escape(MARK_CLOSE), re.DOTALL)
HIGHLIGHT_SQL = ", ".join(
    f"highlight(articles_fts, {column}, '{MARK_OPEN}', '{MARK_CLOSE}')" for column in (0, 1)
)

logger = logging.getLogger(__name__)

_checker: sqlite3.Connection | None = None


def check_query(query: str) -> str | None:
    """None if `query` is valid FTS5 for the archive's index, else SQLite's message."""
    global _checker
    if _checker is None:
        _checker = sqlite3.connect(":memory:", check_same_thread=False)
        _checker.execute(
            f"CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, tokenize='{FTS_TOKENIZER}')"
        )
    if not query or not query.strip():
        return "empty query"
    try:
        _checker.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [query]
        ).fetchone()
    except sqlite3.Error as error:
        message = str(error)
        return message if message.startswith("fts5") else f"fts5: {message}"
    return None


def marked_terms(snippet: str | None) -> str:
    """The distinct highlighted words of a snippet, as a JSON list (lowercase, sorted)."""
    if not snippet:
        return "[]"
    terms = sorted({term.strip().lower() for term in _MARKED.findall(snippet) if term.strip()})
    return json.dumps(terms, ensure_ascii=False)


def register_functions(db: sqlite_utils.Database) -> None:
    db.conn.create_function("marked_terms", 1, marked_terms, deterministic=True)


def save_narratives(db: sqlite_utils.Database, narratives: Iterable[Narrative]) -> list[str]:
    """Store configured narratives; a changed query bumps the version.

    Returns the ids whose query is new or changed: those need a rematch.
    """
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
    row = db.execute("SELECT version FROM narratives WHERE id = ?", [narrative_id]).fetchone()
    if row is None:
        raise KeyError(f"narrative {narrative_id!r} is not in the archive: run init")
    return row[0]


def article_snippet(db: sqlite_utils.Database, query: str, article_id: int) -> str | None:
    """The matched words of one article in context, as snippet() marks them.

    snippet() hits a live FTS5 bug on some rows (FIELD_NOTES: "database disk
    image is malformed" on an intact archive); highlight() of the same match
    works, so those rows get an excerpt cut around highlight()'s first mark.
    """
    try:
        row = db.conn.execute(
            f"SELECT {SNIPPET_SQL} FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?",
            [query, article_id],
        ).fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError as error:
        logger.debug("snippet() failed on article %s (%s): excerpt from highlight()",
                     article_id, error)
    row = db.conn.execute(
        f"SELECT {HIGHLIGHT_SQL} FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?",
        [query, article_id],
    ).fetchone()
    if row is None:
        return None
    # The column with the most marked words, as snippet(..., -1, ...) would choose.
    best = max(reversed(row), key=lambda value: (value or "").count(MARK_OPEN))
    return excerpt(best)


def excerpt(marked: str | None, tokens: int = SNIPPET_TOKENS) -> str | None:
    """About `tokens` words of highlighted text around its first mark, '…' where cut."""
    if not marked:
        return marked
    words = marked.split()
    first = next((i for i, word in enumerate(words) if MARK_OPEN in word), 0)
    start = max(0, first - tokens // 4)
    end = min(len(words), start + tokens)
    while end < len(words) and " ".join(words[start:end]).count(MARK_OPEN) > \
            " ".join(words[start:end]).count(MARK_CLOSE):
        end += 1  # never cut a marked phrase in two
    text = " ".join(words[start:end])
    return ("…" if start > 0 else "") + text + ("…" if end < len(words) else "")


def match_article(
    db: sqlite_utils.Database, article_id: int, narratives: Iterable[Narrative]
) -> list[str]:
    """Evaluate each narrative against one article; record mentions; return matched ids.

    A narrative that no longer matches an edited article loses its mention.
    Inside an open store.transaction the mentions commit with it (an article
    and its mentions are stored together or not at all).
    """
    register_functions(db)
    matched = []
    timestamp = now()
    with store.transaction(db):
        article = None
        for narrative in narratives:
            version = narrative_version(db, narrative.id)
            hit = db.conn.execute(
                "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?",
                [narrative.match_query, article_id],
            ).fetchone()
            if hit is None:
                db.conn.execute(
                    "DELETE FROM mentions WHERE article_id = ? AND narrative_id = ?",
                    [article_id, narrative.id],
                )
                continue
            matched.append(narrative.id)
            snippet = article_snippet(db, narrative.match_query, article_id)
            article = article or store.mention_article(db, article_id)
            stance = mention_stance(narrative, article, marked_terms(snippet))
            db.conn.execute(
                "INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
                " snippet, terms, stance, stance_confidence, stance_evidence)"
                " VALUES (?, ?, ?, ?, ?, marked_terms(?), ?, ?, ?)"
                " ON CONFLICT(article_id, narrative_id) DO UPDATE SET"
                " narrative_version = excluded.narrative_version, snippet = excluded.snippet,"
                " terms = excluded.terms, stance = excluded.stance,"
                " stance_confidence = excluded.stance_confidence,"
                " stance_evidence = excluded.stance_evidence",
                [article_id, narrative.id, version, timestamp, snippet, snippet, *stance],
            )
    return matched


def mention_stance(narrative: Narrative, article: tuple | None, terms: str) -> tuple:
    """(stance, confidence, evidence JSON) of a mention: analysis.stance with the
    narrative's cue lists."""
    title, text, language = article or (None, None, None)
    stance = analysis.stance_of(title, text, terms, language, analysis.cues_for(narrative))
    return (stance.stance, stance.confidence,
            json.dumps(analysis.evidence_of(stance), ensure_ascii=False))


def _find_hits(db: sqlite_utils.Database, query: str) -> None:
    """temp.hits(article_id, snippet): every article the query matches.

    One scan with snippet() when it works; when FTS5's snippet() bug stops the
    scan, the hits come from MATCH alone and each gets article_snippet().
    """
    db.conn.execute("DROP TABLE IF EXISTS temp.hits")
    db.conn.execute("SAVEPOINT hits")
    try:
        db.conn.execute(
            f"CREATE TEMP TABLE hits AS SELECT rowid AS article_id, {SNIPPET_SQL} AS snippet"
            " FROM articles_fts WHERE articles_fts MATCH ?",
            [query],
        )
    except sqlite3.DatabaseError as error:
        db.conn.execute("ROLLBACK TO hits")
        db.conn.execute("RELEASE hits")
        logger.info("snippet() failed over the whole match (%s): snippets one article at a time",
                    error)
        db.conn.execute(
            "CREATE TEMP TABLE hits AS SELECT rowid AS article_id, NULL AS snippet"
            " FROM articles_fts WHERE articles_fts MATCH ?",
            [query],
        )
        ids = [row[0] for row in db.conn.execute("SELECT article_id FROM temp.hits")]
        db.conn.executemany(
            "UPDATE temp.hits SET snippet = ? WHERE article_id = ?",
            [(article_snippet(db, query, article_id), article_id) for article_id in ids],
        )
    else:
        db.conn.execute("RELEASE hits")


def rematch(db: sqlite_utils.Database, narrative: Narrative) -> dict[str, int]:
    """Re-evaluate one narrative over the whole archive in SQL.

    Mentions the query no longer matches are deleted; new ones are added; kept
    ones get the current version and a fresh snippet but keep their matched_at.
    Returns {"matched", "added", "removed"}.
    """
    register_functions(db)
    version = narrative_version(db, narrative.id)
    timestamp = now()
    with store.transaction(db):
        _find_hits(db, narrative.match_query)
        removed = db.conn.execute(
            "DELETE FROM mentions WHERE narrative_id = ?"
            " AND article_id NOT IN (SELECT article_id FROM temp.hits)",
            [narrative.id],
        ).rowcount
        before = db.conn.execute(
            "SELECT count(*) FROM mentions WHERE narrative_id = ?", [narrative.id]
        ).fetchone()[0]
        db.conn.execute(
            "INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
            " snippet, terms) SELECT article_id, ?, ?, ?, snippet, marked_terms(snippet)"
            " FROM temp.hits WHERE true"
            " ON CONFLICT(article_id, narrative_id) DO UPDATE SET"
            " narrative_version = excluded.narrative_version, snippet = excluded.snippet,"
            " terms = excluded.terms,"
            # other matched words, another sentence to read: the stance is computed again
            " stance_confidence = CASE WHEN excluded.terms IS mentions.terms"
            " THEN mentions.stance_confidence END",
            [narrative.id, version, timestamp],
        )
        matched = db.conn.execute("SELECT count(*) FROM temp.hits").fetchone()[0]
        db.conn.execute("DROP TABLE temp.hits")
    # New and changed mentions get their stance after the SQL step, in bounded batches
    # (each its own transaction); one interrupted here is pending for the next run.
    analysis.compute_stances(db, [narrative], [narrative.id])
    return {"matched": matched, "added": matched - before, "removed": removed}


def rematch_many(db: sqlite_utils.Database, narratives: Iterable[Narrative]) -> dict[str, dict]:
    """rematch() each narrative; one that fails is logged and reported as {"error": message}
    and the others still run."""
    results: dict[str, dict] = {}
    for narrative in narratives:
        try:
            results[narrative.id] = rematch(db, narrative)
        except (sqlite3.Error, KeyError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            logger.error("rematch of narrative %s failed: %s", narrative.id, message)
            results[narrative.id] = {"error": message}
    return results


def prepare_archive(db: sqlite_utils.Database, config: Config) -> dict[str, dict[str, int]]:
    """Store the configured outlets and narratives; re-match narratives whose query changed.

    Returns the rematch result of each new or changed narrative ({"error": ...} for
    one that failed: the others are still re-matched).
    """
    store.save_outlets(db, config.outlets)
    changed = save_narratives(db, config.narratives)
    return rematch_many(db, [config.narrative(narrative_id) for narrative_id in changed])
