"""Narratives are FTS5 queries: validate them, keep their versions, match them.

Matching always goes through the archive's own FTS index, at ingest (restricted
to the new article's rowid) and on rematch (one INSERT ... SELECT per narrative),
so a query behaves exactly as it does in Datasette's search box.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable

import sqlite_utils

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.config import Config, Narrative

# Marks, snippets and query checks are fts's; narratives' versions are the archive's.
from narrative_archive.fts import MARK_CLOSE, MARK_OPEN, SNIPPET_TOKENS
from narrative_archive.fts import SNIPPET_SQL as SNIPPET_SQL
from narrative_archive.fts import check_query as check_query
from narrative_archive.fts import marked_terms as marked_terms
from narrative_archive.store import narrative_version as narrative_version
from narrative_archive.store import now
from narrative_archive.store import save_narratives as save_narratives

logger = logging.getLogger(__name__)


def article_snippet(db: sqlite_utils.Database, query: str, article_id: int) -> str | None:
    """The matched words of one article in context, as snippet() marks them.

    snippet() hits a live FTS5 bug on some rows (FIELD_NOTES: "database disk
    image is malformed" on an intact archive); highlight() of the same match
    works, so those rows get an excerpt cut around highlight()'s first mark.
    """
    try:
        return store.fts_snippet(db, query, article_id)
    except sqlite3.DatabaseError as error:
        logger.debug("snippet() failed on article %s (%s): excerpt from highlight()",
                     article_id, error)
    row = store.fts_highlights(db, query, article_id)
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
    matched = []
    timestamp = now()
    with store.transaction(db):
        article = None
        for narrative in narratives:
            version = narrative_version(db, narrative.id)
            if not store.matches_article(db, narrative.match_query, article_id):
                store.delete_mention(db, article_id, narrative.id)
                continue
            matched.append(narrative.id)
            snippet = article_snippet(db, narrative.match_query, article_id)
            article = article or store.mention_article(db, article_id)
            terms = marked_terms(snippet)
            stance = mention_stance(narrative, article, terms)
            store.save_mention(db, article_id, narrative.id, version, timestamp, snippet, terms,
                               stance)
    return matched


def mention_stance(narrative: Narrative, article: tuple | None, terms: str) -> tuple:
    """(stance, confidence, evidence JSON, speaker, speaker name) of a mention:
    analysis.stance with the narrative's cue lists."""
    title, text, language = article or (None, None, None)
    stance = analysis.stance_of(title, text, terms, language, analysis.cues_for(narrative))
    return (stance.stance, stance.confidence,
            json.dumps(analysis.evidence_of(stance), ensure_ascii=False),
            stance.speaker, stance.speaker_name)


def rematch(db: sqlite_utils.Database, narrative: Narrative) -> dict[str, int]:
    """Re-evaluate one narrative over the whole archive in SQL.

    Mentions the query no longer matches are deleted; new ones are added; kept
    ones get the current version and a fresh snippet but keep their matched_at.
    Returns {"matched", "added", "removed"}.
    """
    version = narrative_version(db, narrative.id)
    counts = store.rematch_mentions(
        db, narrative.id, narrative.match_query, version,
        lambda article_id: article_snippet(db, narrative.match_query, article_id))
    # New and changed mentions get their stance after the SQL step, in bounded batches
    # (each its own transaction); one interrupted here is pending for the next run.
    analysis.compute_stances(db, [narrative], [narrative.id])
    return counts


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


def sync_config(db: sqlite_utils.Database, config: Config) -> dict[str, dict[str, int]]:
    """Store the configured outlets and narratives; re-match narratives whose query changed.

    Returns the rematch result of each new or changed narrative ({"error": ...} for
    one that failed: the others are still re-matched).
    """
    store.save_outlets(db, config.outlets)
    changed = save_narratives(db, config.narratives)
    return rematch_many(db, [config.narrative(narrative_id) for narrative_id in changed])
