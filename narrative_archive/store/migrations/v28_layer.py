"""Migrations 28-: the learned narrative layer, a second reader of whole articles."""

from __future__ import annotations

FIRST = 28  # the version this module's first entry migrates to

MIGRATIONS: list[str] = [
    # 28 (issue 19): the learned narrative layer (match/encoder.py) reads the archive's
    # Taliban coverage and adds the mentions the queries miss. A reading is kept per article
    # and narrative, with the weights and the article's content it was made of, so an
    # article is read once per text and per set of weights; a mention records which reader
    # matched it ('query': the narrative's query or its claim rule; 'layer').
    """
    CREATE TABLE layer_readings (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        narrative_id TEXT NOT NULL,
        weights TEXT NOT NULL,
        content_hash TEXT,
        probability REAL NOT NULL,
        carries INTEGER NOT NULL,
        sentence TEXT,
        read_at TEXT NOT NULL,
        PRIMARY KEY (article_id, narrative_id)
    );
    CREATE INDEX layer_readings_carries ON layer_readings(narrative_id) WHERE carries;
    ALTER TABLE mentions ADD COLUMN matched_by TEXT NOT NULL DEFAULT 'query';
    """,
    # 29 (issue 19): the layer also doubts: below a narrative's veto (benchmarks/layer_veto.py)
    # the query's match of the article is set aside, and stays so while the reading holds
    # for the article's text (store.layer.layer_doubts).
    """
    ALTER TABLE layer_readings ADD COLUMN doubts INTEGER NOT NULL DEFAULT 0;
    """,
]
