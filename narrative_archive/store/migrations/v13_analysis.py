"""Migrations 13-15: analysis (stance, stories, citations), backfill from web archives,
evidence (WARC captures)."""

from __future__ import annotations

FIRST = 13  # the version this module's first entry migrates to

MIGRATIONS: list[str] = [
    # 13: analysis: stance per mention, story clusters (near-duplicates), citations, and
    # the views over them; timelines count stories beside articles
    """
    ALTER TABLE mentions ADD COLUMN stance TEXT;
    ALTER TABLE mentions ADD COLUMN stance_evidence TEXT;
    ALTER TABLE mentions ADD COLUMN stance_confidence REAL;
    CREATE INDEX mentions_stance_pending ON mentions(narrative_id) WHERE stance_confidence IS NULL;
    ALTER TABLE mention_history ADD COLUMN stance TEXT;
    DROP TRIGGER mentions_history_ai;
    DROP TRIGGER mentions_history_au;
    CREATE TRIGGER mentions_history_ai AFTER INSERT ON mentions BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet, stance)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                    new.snippet, new.stance)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL,
                                      stance = excluded.stance;
    END;
    CREATE TRIGGER mentions_history_au AFTER UPDATE OF narrative_version ON mentions
        WHEN new.narrative_version IS NOT old.narrative_version BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet, stance)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                    new.snippet, new.stance)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL,
                                      stance = excluded.stance;
    END;
    CREATE TRIGGER mentions_history_stance AFTER UPDATE OF stance ON mentions BEGIN
        UPDATE mention_history SET stance = new.stance
            WHERE article_id = new.article_id AND narrative_id = new.narrative_id
              AND narrative_version = new.narrative_version;
    END;
    ALTER TABLE articles ADD COLUMN story_id INTEGER;
    CREATE INDEX articles_story ON articles(story_id);
    CREATE TABLE story_buckets (
        bucket INTEGER NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE
    );
    CREATE INDEX story_buckets_bucket ON story_buckets(bucket);
    CREATE INDEX story_buckets_article ON story_buckets(article_id);
    CREATE TABLE story_signatures (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        signature BLOB NOT NULL,
        date TEXT,
        story_id INTEGER NOT NULL
    );
    CREATE INDEX story_signatures_story ON story_signatures(story_id);
    CREATE TABLE citations (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('link', 'attribution')),
        target_url TEXT,
        target_article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        source_name TEXT,
        outlet_id TEXT,
        sentence TEXT
    );
    CREATE INDEX citations_article ON citations(article_id);
    CREATE INDEX citations_target_url ON citations(target_url);
    CREATE INDEX citations_target_article ON citations(target_article_id);
    CREATE INDEX citations_outlet ON citations(outlet_id);
    """,
    # 14: backfill from web archives: where an archived copy came from, the archives'
    # listing cursors, every capture listed (so none is fetched twice), and timelines
    # that date an archived copy by its capture when the page gives no date (a day-only
    # date still sorts at its latest possible moment, now bounded by the capture too).
    """
    ALTER TABLE articles ADD COLUMN archived_at TEXT;
    ALTER TABLE articles ADD COLUMN archive_url TEXT;
    ALTER TABLE articles ADD COLUMN archive_source TEXT;
    CREATE TABLE backfill_cursors (
        source TEXT NOT NULL,
        domain TEXT NOT NULL,
        key TEXT NOT NULL,
        resume_key TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, domain, key)
    );
    CREATE TABLE backfill_captures (
        source TEXT NOT NULL,
        capture TEXT NOT NULL,
        url TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        outlet_id TEXT,
        fetch TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'pending',
        reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, capture)
    );
    CREATE INDEX backfill_captures_state ON backfill_captures(state, source);
    CREATE INDEX backfill_captures_url ON backfill_captures(url);
    """,
    # 15: evidence: one row per WARC response record (captures/), and each article version
    # points at the capture it came from, with the extractor
    # (article_versions.origin, how a version arose, came with revisits in 12)
    """
    CREATE TABLE captures (
        id INTEGER PRIMARY KEY,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        url TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        status INTEGER,
        content_type TEXT,
        warc_file TEXT NOT NULL,
        offset INTEGER NOT NULL,
        length INTEGER NOT NULL,
        payload_digest TEXT,
        record_id TEXT UNIQUE,
        run_id INTEGER REFERENCES crawl_runs(id) ON DELETE SET NULL,
        source TEXT NOT NULL DEFAULT 'live',
        pruned_at TEXT
    );
    CREATE INDEX captures_article ON captures(article_id, fetched_at);
    CREATE INDEX captures_file ON captures(warc_file);
    CREATE INDEX captures_fetched ON captures(fetched_at);
    ALTER TABLE article_versions ADD COLUMN capture_id INTEGER REFERENCES captures(id);
    ALTER TABLE article_versions ADD COLUMN extractor TEXT;
    """,
]
