"""The learned narrative layer as the archive's third matcher (after the queries and their
claim rules): it reads the archive's coverage of the Taliban (CANDIDATES) once per text and
per set of weights, adds a mention wherever it carries a narrative whose query missed the
article, and sets aside a query's match where its probability is below the narrative's veto
(store.layer; benchmarks/layer_veto.py chooses the vetoes).

A layer mention's snippet is the sentence that weighed most; its terms are the narrative's
lexicon words (and the Taliban's name) found in the article, so the stance readers find
the sentences to read as they do for a query's mention. At ~0.3 s of CPU an article it
runs as a scheduled task (`task: narrative-layer`), not in the crawl.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlite_utils

from narrative_archive import fts, store
from narrative_archive.config import Narrative
from narrative_archive.match.coverage import any_of, lexicon_terms
from narrative_archive.match.narratives import match_article

# The Taliban and Afghanistan in the spellings and scripts of the labelled coverage: the
# pages the layer was trained on are all about them, so these are the pages it reads. (The
# archive's index keeps a run of Chinese or Japanese characters as one token: a run that
# starts with the name is found, one that holds it further in is not.)
CANDIDATE_TERMS = (
    "taliban*", "taleban*", "talib*", "talebã*", "талиб*", "таліб*", "талибан*", "ταλιμπαν*",
    "طالبان*", "لطالبان*", "طالبانو*", "טליבאן*", "טאליבאן*", "तालिबान*", "तालिबानी*",
    "তালিবান*", "তালেবান*", "탈레반*", "თალიბ*", "թալիբ*", "tolibon*", "толибон*",
    "afghan*", "afgan*", "afghanistan*", "афган*", "افغان*", "अफ़ग़ान*", "अफगान*",
    "আফগান*", "아프간*", "아프가니스탄*", "タリバン*", "塔利班*", "アフガン*", "阿富汗*",
)
CANDIDATES = any_of(CANDIDATE_TERMS)
BATCH = 25  # articles a transaction: a run stopped midway keeps what it read


def terms_of(narrative: Narrative, title: str | None, text: str | None) -> str:
    """The narrative's lexicon words (any role, any language) and the Taliban's name found in
    the article, as a mention's terms (JSON)."""
    words = [term for role in ("actor", "target", "act") for term in lexicon_terms(narrative, role)]
    query = f"{any_of(words)} OR {CANDIDATES}" if words else CANDIDATES
    try:
        marked = fts.highlighted_rows([(1, title, text)], query).get(1)
    except sqlite3.Error:
        return "[]"
    return fts.marked_terms(" ".join(value or "" for value in marked)) if marked else "[]"


def read_archive(db: sqlite_utils.Database, narratives: Iterable[Narrative], limit: int,
                 layer=None) -> dict[str, int]:
    """Read up to `limit` unread candidates (the most recently stored first) with the layer
    (match/encoder.py, or `layer`) and record what it reads: mentions added where it carries
    a configured narrative the article has no mention of, layer mentions removed where it no
    longer does, query mentions set aside where it doubts them (and matched again, the
    crawl's way, where new weights lift the doubt). Returns {"read", "added", "removed",
    "set_aside", "restored", "left"} (`left`: candidates still unread)."""
    from narrative_archive.match import encoder

    layer = layer or encoder.narrative_encoder()
    by_id = {narrative.id: narrative for narrative in narratives}
    versions = {narrative_id: store.narrative_version(db, narrative_id)
                for narrative_id in layer.narratives if narrative_id in by_id}
    weights = layer.weights_id
    counts = {"read": 0, "added": 0, "removed": 0, "set_aside": 0, "restored": 0}
    candidates = store.layer_candidates(db, CANDIDATES, weights, limit)
    for start in range(0, len(candidates), BATCH):
        rows = []
        for article_id, title, text, _language, content_hash in candidates[start:start + BATCH]:
            for narrative_id, reading in layer.read(title, text).items():
                carries = reading.carries and narrative_id in versions
                terms = terms_of(by_id[narrative_id], title, text) if carries else "[]"
                rows.append((article_id, content_hash, narrative_id, reading.probability,
                             reading.carries, reading.doubts, reading.sentence, terms))
        saved = store.save_layer_readings(db, weights, rows, versions)
        counts["read"] += len(candidates[start:start + BATCH])
        counts["added"] += saved["added"]
        counts["removed"] += saved["removed"]
        counts["set_aside"] += saved["set_aside"]
        for article_id, narrative_id in saved["lifted"]:
            counts["restored"] += bool(match_article(db, article_id, [by_id[narrative_id]]))
    # fewer than asked for: none was left unread (the archive's index is not asked twice)
    counts["left"] = 0 if len(candidates) < limit else store.count_layer_candidates(db, CANDIDATES, weights)
    return counts
