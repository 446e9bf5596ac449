"""The analyse stage over the archive: the pure analysis functions fed through store functions.

At ingest (pipelines) and in `narrative-archive analyse`:

    stance     mentions.stance / stance_confidence / stance_evidence (narratives.py sets it
               when a mention is recorded; ``compute_stances`` fills what is pending)
    stories    articles.story_id through a StoryIndex over story_buckets / story_signatures
    citations  the citations table, links resolved to archived articles
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import cast

import sqlite_utils

from narrative_archive import store
from narrative_archive.analysis import citations as citations_module
from narrative_archive.analysis import encoder, stories
from narrative_archive.analysis.stance import (
    LanguageCues,
    Stance,
    classify_stance,
    default_cues,
    load_cues,
    read_frame,
    rules_stance,
)
from narrative_archive.processes import forkserver_pool

logger = logging.getLogger(__name__)

BATCH = 500
PARALLEL_STANCES = 200  # pending stances from which compute_stances starts worker processes


class ArchiveStorage:
    """stories.Storage over the archive's story tables (store functions); story_put also
    sets articles.story_id, story_rename moves the members' articles.story_id too."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        # The candidates' entries, read with them in one query for the gets that follow
        # (StoryIndex.add reads each candidate); dropped by any write.
        self._entries: dict[int, tuple] = {}

    def candidates(self, keys):
        self._entries = store.story_candidate_entries(self.db, keys)
        return set(self._entries)

    def get(self, article_id):
        row = self._entries.get(article_id) or store.story_entry(self.db, article_id)
        return stories.Entry(*row) if row else None

    def put(self, article_id, keys, entry):
        self._entries = {}
        store.story_put(self.db, article_id, keys, entry.signature, entry.date, entry.story_id)

    def remove(self, article_id):
        self._entries = {}
        store.story_remove(self.db, article_id)

    def rename_stories(self, old, new):
        self._entries = {}
        store.story_rename(self.db, old, new)


# --- stance ------------------------------------------------------------------

_cues_cache: dict[tuple, Mapping[str, LanguageCues]] = {}


def cues_for(narrative) -> Mapping[str, LanguageCues]:
    """The cue lists for a narrative: the shipped ones with its ``stance:`` override applied."""
    override = getattr(narrative, "stance", ()) or ()
    if not override:
        return default_cues()
    if override not in _cues_cache:
        _cues_cache[override] = load_cues(override=narrative.stance_override())
    return _cues_cache[override]


def stance_of(title, text, terms, language, cues, actors=None, reread=None) -> Stance:
    """classify_stance, never raising: a failure is a null stance with its reason.
    ``reread(frame, stance)``: a second reader of the rules' frame (encoder.StanceEncoder.relabel)."""
    try:
        if reread is None:
            return classify_stance(title, text, terms, cues, language, actors=actors)
        frame = read_frame(title, text, terms, cues, language, actors=actors)
        return frame if isinstance(frame, Stance) else reread(frame, rules_stance(frame))
    except Exception as error:  # a bug in the classifier must not lose the mention
        logger.exception("stance failed")
        return Stance(None, 0.0, {}, f"stance failed: {type(error).__name__}: {error}", language)


def evidence_of(stance: Stance) -> dict:
    evidence = {"sentence": stance.evidence.get("sentence"), "cues": list(stance.evidence.get("cues") or [])}
    if stance.evidence.get("frame"):
        evidence["frame"] = stance.evidence["frame"]
    if stance.reason:
        evidence["reason"] = stance.reason
    for key in ("reader", "rules"):  # which reader chose the label, and the rules' own
        if stance.evidence.get(key):
            evidence[key] = stance.evidence[key]
    return evidence


def stances_of(rows: Iterable[tuple], narratives: Mapping[str, object],
               actors: Callable | None = None, use_encoder: bool = False) -> list[tuple]:
    """(article_id, narrative_id, stance, confidence, evidence) for pending-stance rows
    (article_id, narrative_id, terms, title, text, language). Pure: runs in a worker.
    `actors(narrative, narratives)` gives the accused a denial may answer
    (match.reading.actors_of; analysis may not import match), or None. `use_encoder`: the
    rules' frame read again by the stance encoder (analysis/encoder.py)."""
    reread = encoder.encoder().relabel if use_encoder else None
    results = []
    for article_id, narrative_id, terms, title, text, language in rows:
        narrative = narratives.get(narrative_id)
        cues = cues_for(narrative) if narrative else default_cues()
        named = actors(narrative, narratives.values()) if actors and narrative else None
        stance = stance_of(title, text, terms, language, cues, named, reread)
        results.append((article_id, narrative_id, stance.stance, stance.confidence, evidence_of(stance),
                        stance.speaker, stance.speaker_name))
    return results


def compute_stances(db: sqlite_utils.Database, narratives: Iterable, narrative_ids: Iterable[str] | None = None,
                    batch: int = BATCH, executor: Executor | None = None,
                    actors: Callable | None = None, use_encoder: bool = False) -> int:
    """Classify every mention whose stance is pending (stance_confidence NULL), ``batch`` at a
    time, each batch its own transaction; returns how many. ``narratives`` give the cue
    overrides by id (a mention of an unconfigured narrative gets the shipped cues). The
    batches of a round are classified in parallel by ``executor`` (worker processes), or
    by a pool of this function's own when more than PARALLEL_STANCES are pending. `actors`:
    as stances_of's (a module-level function, for the worker processes); `use_encoder`: as
    stances_of's (encoder.encoder() raises EncoderMissing here, before any worker starts)."""
    if use_encoder:
        encoder.encoder()
    by_id = {narrative.id: narrative for narrative in narratives}
    ids = list(narrative_ids) if narrative_ids is not None else None
    rounds = 8
    done = 0
    own = None
    try:
        while True:
            rows = store.mentions_pending_stance(db, ids, limit=batch * rounds)
            if not rows:
                return done
            if executor is None and len(rows) >= PARALLEL_STANCES and (os.cpu_count() or 1) > 1:
                executor = own = stance_pool()
            size = batch if executor is None else max(1, min(batch, -(-len(rows) // (4 * (os.cpu_count() or 1)))))
            chunks = [rows[start:start + size] for start in range(0, len(rows), size)]
            if executor is None:
                results = [stances_of(chunk, by_id, actors, use_encoder) for chunk in chunks]
            else:
                results = list(executor.map(stances_of, chunks, [by_id] * len(chunks),
                                            [actors] * len(chunks), [use_encoder] * len(chunks)))
            for result in results:
                store.save_stance(db, result)
                done += len(result)
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)


def stance_pool(workers: int = 0) -> ProcessPoolExecutor:
    """Worker processes for stances (default: one per core), forked from a forkserver that
    has imported the classifier once."""
    return forkserver_pool(["narrative_archive.analysis.archive"], workers)


# --- stories -----------------------------------------------------------------


def assign_story(db: sqlite_utils.Database, article_id: int, text: str | None,
                 **signature: bytes | None) -> stories.Assignment:
    """Put one new or changed article into its story (incremental; `analyse --stories` is exact).
    ``signature=``: its stories.text_signature, when computed beforehand (a worker)."""
    index = stories.StoryIndex(ArchiveStorage(db))
    with store.transaction(db):
        assignment = index.add(article_id, text, store.story_date(db, article_id), **signature)
        if not assignment.keys:  # too short to compare: its own story
            store.set_story(db, article_id, cast(int, assignment.story_id))
    return assignment


def restory(db: sqlite_utils.Database, progress: Callable[[int], None] | None = None,
            batch: int = BATCH) -> dict[str, int]:
    """Re-cluster the whole archive from scratch, oldest first, so every story is rooted at its
    earliest article. Streams the articles; commits every ``batch``. Returns counts."""
    store.clear_stories(db)
    index = stories.StoryIndex(ArchiveStorage(db))
    seen = copies = 0
    pending = 0
    with store.batches(db) as next_batch:
        for article_id, text, date in store.articles_in_story_order(db):
            assignment = index.add(article_id, text, date)
            if not assignment.keys:
                store.set_story(db, article_id, cast(int, assignment.story_id))
            if assignment.story_id != article_id:
                copies += 1
            seen += 1
            pending += 1
            if pending >= batch:
                next_batch()
                pending = 0
                if progress:
                    progress(seen)
    return {"articles": seen, "copies": copies, "stories": store.story_count(db)}


# --- citations ---------------------------------------------------------------


def record_citations(db: sqlite_utils.Database, article_id: int, text: str | None, links, language: str | None,
                     outlets: citations_module.OutletIndex | None,
                     found: Iterable[Mapping | citations_module.Citation] | None = None,
                     outlet_id: str | None = None) -> int:
    """Extract and store an article's citations (``found``: extracted beforehand, in a
    worker); none to its own outlet, ``outlet_id`` ("told the BBC" on a BBC page is its own
    reporting); then point earlier citations of its URL at it."""
    if found is None:
        if isinstance(links, str):
            try:
                links = json.loads(links)
            except ValueError:
                links = []
        found = citations_module.extract_citations(text, links or (), language,
                                                   outlets or citations_module.outlet_index(()),
                                                   own_outlet=outlet_id)
    elif outlet_id:
        found = [citation for citation in found if not _own_attribution(citation, outlet_id)]
    with store.transaction(db):
        count = store.save_citations(db, article_id, found)
        store.resolve_citations_to(db, article_id)
    return count


def recite(db: sqlite_utils.Database, outlets: citations_module.OutletIndex,
           progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Re-extract the citations of every article (streamed by id), then resolve every link."""
    articles = found = 0
    for article_id, text, links, language, outlet_id in store.articles_for_citations(db):
        try:
            found += record_citations(db, article_id, text, links, language, outlets, outlet_id)
        except Exception:  # one bad text must not stop the pass
            logger.exception("citations of article %s failed", article_id)
        articles += 1
        if progress and articles % BATCH == 0:
            progress(articles)
    resolved = store.resolve_all_citations(db)
    return {"articles": articles, "citations": found, "links": resolved}


def _own_attribution(citation: Mapping | citations_module.Citation, outlet_id: str) -> bool:
    value = citation if isinstance(citation, Mapping) else citation.to_dict()
    return value.get("kind") == "attribution" and value.get("outlet_id") == outlet_id


def analyse_article(db: sqlite_utils.Database, article_id: int, article: Mapping,
                    outlets: citations_module.OutletIndex | None,
                    reading: Mapping | None = None) -> stories.Assignment:
    """Story and citations of one new or changed article (its mentions carry their stance).
    ``reading`` (match.reading) holds its signature and citations when a worker computed
    them; only the archive's part (the story lookup, the rows) is done here then."""
    reading = reading or {}
    signature = {"signature": reading["signature"]} if "signature" in reading else {}
    assignment = assign_story(db, article_id, article.get("text"), **signature)
    record_citations(db, article_id, article.get("text"), article.get("links"), article.get("language"), outlets,
                     reading.get("citations"), store.article_outlet(db, article_id))
    return assignment
