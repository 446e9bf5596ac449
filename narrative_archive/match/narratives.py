"""Narratives are FTS5 queries: validate them, keep their versions, match them.

A narrative's query is evaluated with the archive's own FTS5 table definition and
tokenizer everywhere, so it behaves exactly as it does in Datasette's search box: at
ingest on an in-memory index of the one article (match.reading, where the article is
extracted), on rematch by the archive's index (one INSERT ... SELECT per narrative).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor

import sqlite_utils

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.config import Config, Narrative, match_query

# Re-exported on purpose: this module is what the CLI, the demo and the tests call for
# everything about a narrative (check a query, save narratives and their versions, read a
# mention's stance); the code lives where the data is (fts, store, match.reading).
from narrative_archive.fts import SNIPPET_SQL as SNIPPET_SQL
from narrative_archive.fts import check_query as check_query
from narrative_archive.fts import excerpt as excerpt
from narrative_archive.fts import marked_terms as marked_terms
from narrative_archive.match import claim, claim_key
from narrative_archive.match.reading import MentionReading, Reader
from narrative_archive.match.reading import actors_of as actors_of
from narrative_archive.match.reading import mention_stance as mention_stance
from narrative_archive.match.workers import Workers
from narrative_archive.store import narrative_version as narrative_version
from narrative_archive.store import now
from narrative_archive.store import save_narratives as save_narratives

logger = logging.getLogger(__name__)

_local = threading.local()


def reader_of(narratives: Iterable[Narrative]) -> Reader:
    """A Reader of these narratives (no analysis), built once per thread and kept: building
    one parses every query's gates, which costs more than reading an article. A Reader's
    in-memory index is its thread's; the last few sets of narratives are kept."""
    key = tuple(narratives)
    readers: dict[tuple, Reader] = _local.__dict__.setdefault("readers", {})
    reader = readers.pop(key, None) or Reader(key, analyse=False)
    readers[key] = reader
    while len(readers) > 4:
        del readers[next(iter(readers))]
    return reader


def match_article(
    db: sqlite_utils.Database, article_id: int, narratives: Iterable[Narrative],
    readings: Mapping[str, MentionReading] | None = None,
) -> list[str]:
    """Evaluate each narrative against one article; record mentions; return matched ids.

    `readings` are the article's mentions as a Reader found them where it was extracted
    ({narrative id: (snippet, terms, stance)}, every narrative that matches); without
    them the stored article is read here, the same way (an in-memory index of the one
    article: never a query over the archive's index, whose cost grows with the archive).
    A narrative that no longer matches an edited article loses its mention. Inside an
    open store.transaction the mentions commit with it (an article and its mentions are
    stored together or not at all).
    """
    narratives = list(narratives)
    if readings is None:
        title, text, language = store.mention_article(db, article_id) or (None, None, None)
        readings = reader_of(narratives).mentions(title, text, language)
    matched = []
    timestamp = now()
    with store.transaction(db):
        for narrative in narratives:
            reading = readings.get(narrative.id)
            if reading is None:
                store.delete_mention(db, article_id, narrative.id)
                continue
            matched.append(narrative.id)
            snippet, terms, stance = reading
            store.save_mention(db, article_id, narrative.id, narrative_version(db, narrative.id),
                               timestamp, snippet, terms, stance)
    return matched


def rematch(db: sqlite_utils.Database, narrative: Narrative,
            executor: Executor | None = None, workers: Workers | None = None,
            configured: Iterable[Narrative] = ()) -> dict[str, int]:
    """Re-evaluate one narrative over the whole archive in SQL.

    Mentions the query no longer matches are deleted; new ones are added; kept
    ones get the current version and a fresh snippet but keep their matched_at (one
    already of the current version keeps its snippet, and one of an earlier version where
    the query's change marks no other word: store.rematch_mentions).
    The claim rule's candidates are read by `workers` (match.workers: `executor`'s
    processes, or a pool of their own for a large archive), which also cut half of many
    snippets. The `configured` narratives name the accused a denial may answer instead of
    this narrative's (reading.actors_of), as at crawl time. Returns {"matched", "added",
    "removed"}.
    """
    own = workers is None
    workers = workers or Workers(executor)
    try:
        if store.holds_articles(db):
            counts = _rematch_mentions(db, narrative, workers)
        else:  # a new archive: nothing to match, no query to spell out nor rule to compile
            counts = store.rematch_empty(db, narrative.id, claim_key.rule_key(narrative) or ""
                                         if claim.has_rule(narrative) else None)
    finally:
        if own:
            workers.close()
    # New and changed mentions get their stance after the SQL step, in bounded batches
    # (each its own transaction); one interrupted here is pending for the next run.
    others = [n for n in configured if n.id != narrative.id]
    analysis.compute_stances(db, [narrative, *others], [narrative.id], executor=executor,
                             actors=actors_of)
    return counts


def _rematch_mentions(db: sqlite_utils.Database, narrative: Narrative,
                      workers: Workers) -> dict[str, int]:
    version = narrative_version(db, narrative.id)
    claim_rule, candidates = claim.rule(narrative), claim.candidate_query(narrative)
    earlier = {old: match_query(query, json.loads(queries or "{}").items())
               for old, (query, queries) in store.earlier_queries(db, narrative.id, version).items()}
    return store.rematch_mentions(
        db, narrative.id, narrative.match_query, version,
        (candidates, claim_rule.matches, claim_key.rule_key(narrative) or "", claim_key.rereads)
        if claim_rule and candidates else None,
        read=workers.read(db, narrative), split=workers.split(db), earlier=earlier)


def rematch_many(db: sqlite_utils.Database, narratives: Iterable[Narrative],
                 executor: Executor | None = None,
                 configured: Iterable[Narrative] | None = None) -> dict[str, dict]:
    """rematch() each narrative; one that fails is logged and reported as {"error": message}
    and the others still run. With an `executor` (worker processes) stances and claim
    candidates are read there. `configured`: every configured narrative (default:
    `narratives`), for rematch's stances."""
    narratives = list(narratives)
    configured = narratives if configured is None else list(configured)
    results: dict[str, dict] = {}
    workers = Workers(executor)
    try:
        for narrative in narratives:
            try:
                results[narrative.id] = rematch(db, narrative, executor, workers, configured)
            except (sqlite3.Error, KeyError) as error:
                message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
                logger.error("rematch of narrative %s failed: %s", narrative.id, message)
                results[narrative.id] = {"error": message}
    finally:
        workers.close()
    return results


def sync_config(db: sqlite_utils.Database, config: Config) -> dict[str, dict[str, int]]:
    """Store the configured outlets and narratives; re-match narratives whose query changed.

    Returns the rematch result of each new or changed narrative ({"error": ...} for
    one that failed: the others are still re-matched).
    """
    store.save_outlets(db, config.outlets)
    changed = save_narratives(db, config.narratives)
    return rematch_many(db, [config.narrative(narrative_id) for narrative_id in changed],
                        configured=config.narratives)
