"""The archive's tables, indexes and triggers: migrations, applied in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlite_utils

from narrative_archive.fts import ARCHIVE_FTS_SQL
from narrative_archive.store.views import ensure_views

# Each entry migrates the archive from version N-1 to N (PRAGMA user_version).
# Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    # 1: the core tables
    (
    """
    CREATE TABLE outlets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        url TEXT,
        domains TEXT NOT NULL DEFAULT '[]',
        country TEXT,
        language TEXT,
        kind TEXT,
        owner TEXT,
        state_affiliated INTEGER,
        feeds TEXT NOT NULL DEFAULT '[]',
        sitemaps TEXT NOT NULL DEFAULT '[]',
        notes TEXT,
        configured INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        canonical_url TEXT NOT NULL UNIQUE,
        outlet_id TEXT REFERENCES outlets(id),
        title TEXT,
        text TEXT,
        description TEXT,
        authors TEXT NOT NULL DEFAULT '[]',
        published_at TEXT,
        modified_at TEXT,
        language TEXT,
        links TEXT NOT NULL DEFAULT '[]',
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        content_hash TEXT,
        via TEXT
    );
    CREATE INDEX articles_outlet ON articles(outlet_id);
    CREATE INDEX articles_published ON articles(published_at);
    CREATE INDEX articles_first_seen ON articles(first_seen_at);
    CREATE INDEX articles_hash ON articles(content_hash);
    CREATE TABLE article_versions (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        fetched_at TEXT NOT NULL,
        title TEXT,
        text TEXT,
        content_hash TEXT
    );
    CREATE INDEX article_versions_article ON article_versions(article_id);
    CREATE TABLE narratives (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        description TEXT,
        query TEXT NOT NULL,
        queries TEXT NOT NULL DEFAULT '{}',
        since TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE narrative_versions (
        narrative_id TEXT NOT NULL REFERENCES narratives(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        query TEXT NOT NULL,
        queries TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        PRIMARY KEY (narrative_id, version)
    );
    CREATE TABLE mentions (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        narrative_id TEXT NOT NULL REFERENCES narratives(id) ON DELETE CASCADE,
        narrative_version INTEGER NOT NULL,
        matched_at TEXT NOT NULL,
        snippet TEXT,
        terms TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (article_id, narrative_id)
    );
    CREATE INDEX mentions_narrative ON mentions(narrative_id);
    CREATE TABLE crawl_runs (
        id INTEGER PRIMARY KEY,
        spider TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        pid INTEGER,
        pages INTEGER NOT NULL DEFAULT 0,
        new_articles INTEGER NOT NULL DEFAULT 0,
        updated_articles INTEGER NOT NULL DEFAULT 0,
        mentions INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        message TEXT
    );
    CREATE TABLE crawl_errors (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES crawl_runs(id) ON DELETE CASCADE,
        outlet_id TEXT,
        url TEXT,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX crawl_errors_run ON crawl_errors(run_id);
    CREATE INDEX crawl_errors_outlet ON crawl_errors(outlet_id, at);

    """ + ARCHIVE_FTS_SQL + """;
    CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
    END;
    CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    """
    ),
    # 2: views for SQL over timelines
    "",  # views only: they live in views.VIEWS now
    # 3: collection health per outlet
    "",  # views only: they live in views.VIEWS now
    # 4: indexes that keep outlet_health and per-outlet timelines fast (1.9 s -> 1 ms at 400k)
    """
    CREATE INDEX articles_outlet_fetched ON articles(outlet_id, fetched_at);
    CREATE INDEX articles_outlet_first_seen ON articles(outlet_id, first_seen_at);
    DROP INDEX articles_outlet;
    """,
    # 5: skip recently fetched or failed URLs by the URL they were listed under
    """
    CREATE INDEX articles_url ON articles(url);
    CREATE INDEX crawl_errors_url ON crawl_errors(url, at);
    """,
    # 6: outlet_health names its failure count for what it is, and says when the last one was
    "",  # views only: they live in views.VIEWS now
    # 7: search results fetched that matched no narrative (not stored; not refetched at once)
    """
    CREATE TABLE unmatched_urls (
        url TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL
    );
    """,
    # 8: mention history: every narrative version a mention held in, and when it stopped
    # holding (a narrower query, an edited article). Kept by triggers on mentions.
    """
    CREATE TABLE mention_history (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        narrative_id TEXT NOT NULL REFERENCES narratives(id) ON DELETE CASCADE,
        narrative_version INTEGER NOT NULL,
        matched_at TEXT NOT NULL,
        snippet TEXT,
        removed_at TEXT,
        removed_in_version INTEGER,
        PRIMARY KEY (article_id, narrative_id, narrative_version)
    );
    CREATE INDEX mention_history_narrative ON mention_history(narrative_id, narrative_version);
    INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at, snippet)
        SELECT article_id, narrative_id, narrative_version, matched_at, snippet FROM mentions;
    CREATE TRIGGER mentions_history_ai AFTER INSERT ON mentions BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                    new.snippet)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL;
    END;
    CREATE TRIGGER mentions_history_au AFTER UPDATE OF narrative_version ON mentions
        WHEN new.narrative_version IS NOT old.narrative_version BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                    new.snippet)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL;
    END;
    CREATE TRIGGER mentions_history_ad AFTER DELETE ON mentions BEGIN
        UPDATE mention_history SET removed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
               removed_in_version = (SELECT version FROM narratives WHERE id = old.narrative_id)
            WHERE article_id = old.article_id AND narrative_id = old.narrative_id
              AND removed_at IS NULL;
    END;
    """,
    # 9: the canonical URL a page claimed when it was not believed (another site's URL):
    # such an article is keyed on the URL it was fetched from
    """
    ALTER TABLE articles ADD COLUMN claimed_canonical_url TEXT;
    """,
    # 10: dates ordered as times, not text, with their precision: a day-only date
    # (2024-05-20) sorts at the latest moment it can be (when we first saw the
    # article that day, else the day's end), never before 2024-05-20T02:45:00Z
    "",  # views only: they live in views.VIEWS now
    # 11: failures after the last stored article counted by crawl_errors id, not by the
    # second (an error in the same second counts); extraction warnings kept, not errors
    """
    ALTER TABLE articles ADD COLUMN fetched_after_error_id INTEGER;
    ALTER TABLE articles ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE crawl_runs ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
    """,
    # 12: revisits: an article's lifecycle (live, edited, moved, gone), when it was last
    # checked, the validators for conditional requests, and the outcome of every check
    """
    ALTER TABLE articles ADD COLUMN status TEXT NOT NULL DEFAULT 'live';
    ALTER TABLE articles ADD COLUMN last_checked_at TEXT;
    ALTER TABLE articles ADD COLUMN moved_to TEXT;
    ALTER TABLE articles ADD COLUMN gone_at TEXT;
    ALTER TABLE articles ADD COLUMN etag TEXT;
    ALTER TABLE articles ADD COLUMN last_modified TEXT;
    ALTER TABLE article_versions ADD COLUMN origin TEXT;
    UPDATE articles SET status = 'edited' WHERE id IN (
        SELECT article_id FROM article_versions GROUP BY article_id HAVING count(*) > 1);
    CREATE INDEX articles_status ON articles(status);
    CREATE TRIGGER article_versions_edited AFTER INSERT ON article_versions BEGIN
        UPDATE articles SET status = 'edited'
            WHERE id = new.article_id AND status = 'live'
              AND (SELECT count(*) FROM article_versions WHERE article_id = new.article_id) > 1;
    END;
    CREATE TABLE revisits (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        checked_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        http_status INTEGER,
        new_url TEXT,
        run_id INTEGER REFERENCES crawl_runs(id) ON DELETE SET NULL,
        detail TEXT
    );
    CREATE INDEX revisits_article ON revisits(article_id, checked_at);
    CREATE INDEX revisits_outcome ON revisits(outcome, checked_at);
    """,
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
    # 16: the published archive at a million articles. Facet columns indexed; mentions
    # counted per narrative, day, outlet and story in narrative_day_counts (kept by
    # triggers on mentions and articles) so timelines read a narrow table, not every
    # mention joined to its article; narrative_first_seen ranks only each outlet's first
    # day's articles (found through the day counts); export_mentions has every column a researcher
    # exports, in mention order (plugins/narrative_archive_perf.py streams it). The views
    # are views.py's; the day expression is article_dates.day spelled out for a row.
    """
    CREATE INDEX articles_language ON articles(language);
    CREATE INDEX articles_via ON articles(via);
    CREATE TABLE narrative_day_counts (
        narrative_id TEXT NOT NULL,
        day TEXT NOT NULL,
        outlet_id TEXT NOT NULL DEFAULT '',
        story_id INTEGER NOT NULL,
        articles INTEGER NOT NULL,
        PRIMARY KEY (narrative_id, day, outlet_id, story_id)
    ) WITHOUT ROWID;
    INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
        SELECT m.narrative_id, substr(CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z', min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)), coalesce(a.published_at, a.archived_at, a.first_seen_at)) END, 1, 10), coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id),
               count(*)
        FROM mentions m JOIN articles a ON a.id = m.article_id
        GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER mentions_day_counts_ai AFTER INSERT ON mentions BEGIN

        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT new.narrative_id, substr(CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z', min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)), coalesce(a.published_at, a.archived_at, a.first_seen_at)) END, 1, 10), coalesce(a.outlet_id, ''),
                   coalesce(a.story_id, a.id), 1
            FROM (SELECT a.id, a.outlet_id, a.published_at, a.archived_at, a.first_seen_at, a.story_id FROM articles a WHERE a.id = new.article_id) a WHERE true
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    CREATE TRIGGER mentions_day_counts_ad AFTER DELETE ON mentions BEGIN

        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT substr(CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z', min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)), coalesce(a.published_at, a.archived_at, a.first_seen_at)) END, 1, 10), coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM (SELECT a.id, a.outlet_id, a.published_at, a.archived_at, a.first_seen_at, a.story_id FROM articles a WHERE a.id = old.article_id) a);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = old.narrative_id AND articles <= 0;
    END;
    CREATE TRIGGER mentions_day_counts_au AFTER UPDATE OF article_id, narrative_id ON mentions
        BEGIN

        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT substr(CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z', min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)), coalesce(a.published_at, a.archived_at, a.first_seen_at)) END, 1, 10), coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM (SELECT a.id, a.outlet_id, a.published_at, a.archived_at, a.first_seen_at, a.story_id FROM articles a WHERE a.id = old.article_id) a);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = old.narrative_id AND articles <= 0;

        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT new.narrative_id, substr(CASE WHEN length(coalesce(a.published_at, a.archived_at, a.first_seen_at)) = 10 THEN max(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T00:00:00Z', min(coalesce(a.published_at, a.archived_at, a.first_seen_at) || 'T23:59:59Z', min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(a.published_at, a.archived_at, a.first_seen_at)), coalesce(a.published_at, a.archived_at, a.first_seen_at)) END, 1, 10), coalesce(a.outlet_id, ''),
                   coalesce(a.story_id, a.id), 1
            FROM (SELECT a.id, a.outlet_id, a.published_at, a.archived_at, a.first_seen_at, a.story_id FROM articles a WHERE a.id = new.article_id) a WHERE true
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    CREATE TRIGGER articles_day_counts_bd BEFORE DELETE ON articles BEGIN

        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE day = substr(CASE WHEN length(coalesce(old.published_at, old.archived_at, old.first_seen_at)) = 10 THEN max(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T00:00:00Z', min(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T23:59:59Z', min(old.first_seen_at, coalesce(old.archived_at, old.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(old.published_at, old.archived_at, old.first_seen_at)), coalesce(old.published_at, old.archived_at, old.first_seen_at)) END, 1, 10) AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id)
              AND narrative_id IN (SELECT narrative_id FROM mentions WHERE article_id = old.id);
        DELETE FROM narrative_day_counts
            WHERE day = substr(CASE WHEN length(coalesce(old.published_at, old.archived_at, old.first_seen_at)) = 10 THEN max(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T00:00:00Z', min(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T23:59:59Z', min(old.first_seen_at, coalesce(old.archived_at, old.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(old.published_at, old.archived_at, old.first_seen_at)), coalesce(old.published_at, old.archived_at, old.first_seen_at)) END, 1, 10) AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id) AND articles <= 0;
    END;
    CREATE TRIGGER articles_day_counts_au
        AFTER UPDATE OF published_at, archived_at, first_seen_at, outlet_id, story_id
        ON articles
        WHEN substr(CASE WHEN length(coalesce(old.published_at, old.archived_at, old.first_seen_at)) = 10 THEN max(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T00:00:00Z', min(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T23:59:59Z', min(old.first_seen_at, coalesce(old.archived_at, old.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(old.published_at, old.archived_at, old.first_seen_at)), coalesce(old.published_at, old.archived_at, old.first_seen_at)) END, 1, 10) IS NOT substr(CASE WHEN length(coalesce(new.published_at, new.archived_at, new.first_seen_at)) = 10 THEN max(coalesce(new.published_at, new.archived_at, new.first_seen_at) || 'T00:00:00Z', min(coalesce(new.published_at, new.archived_at, new.first_seen_at) || 'T23:59:59Z', min(new.first_seen_at, coalesce(new.archived_at, new.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(new.published_at, new.archived_at, new.first_seen_at)), coalesce(new.published_at, new.archived_at, new.first_seen_at)) END, 1, 10) OR old.outlet_id IS NOT new.outlet_id
          OR old.story_id IS NOT new.story_id
        BEGIN

        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE day = substr(CASE WHEN length(coalesce(old.published_at, old.archived_at, old.first_seen_at)) = 10 THEN max(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T00:00:00Z', min(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T23:59:59Z', min(old.first_seen_at, coalesce(old.archived_at, old.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(old.published_at, old.archived_at, old.first_seen_at)), coalesce(old.published_at, old.archived_at, old.first_seen_at)) END, 1, 10) AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id)
              AND narrative_id IN (SELECT narrative_id FROM mentions WHERE article_id = old.id);
        DELETE FROM narrative_day_counts
            WHERE day = substr(CASE WHEN length(coalesce(old.published_at, old.archived_at, old.first_seen_at)) = 10 THEN max(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T00:00:00Z', min(coalesce(old.published_at, old.archived_at, old.first_seen_at) || 'T23:59:59Z', min(old.first_seen_at, coalesce(old.archived_at, old.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(old.published_at, old.archived_at, old.first_seen_at)), coalesce(old.published_at, old.archived_at, old.first_seen_at)) END, 1, 10) AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id) AND articles <= 0;

        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT m.narrative_id, substr(CASE WHEN length(coalesce(new.published_at, new.archived_at, new.first_seen_at)) = 10 THEN max(coalesce(new.published_at, new.archived_at, new.first_seen_at) || 'T00:00:00Z', min(coalesce(new.published_at, new.archived_at, new.first_seen_at) || 'T23:59:59Z', min(new.first_seen_at, coalesce(new.archived_at, new.first_seen_at)))) ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(new.published_at, new.archived_at, new.first_seen_at)), coalesce(new.published_at, new.archived_at, new.first_seen_at)) END, 1, 10), coalesce(new.outlet_id, ''),
                   coalesce(new.story_id, new.id), 1
            FROM mentions m WHERE m.article_id = new.id
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    """,
    # 17: the scheduled job a run belongs to, a column (it was a key of the args JSON)
    """
    ALTER TABLE crawl_runs ADD COLUMN job TEXT;
    UPDATE crawl_runs SET job = json_extract(args, '$.job')
        WHERE json_valid(args) AND json_type(args, '$.job') = 'text';
    CREATE INDEX crawl_runs_job ON crawl_runs(job, started_at);
    """,
    # fleet: the Scrapyd node a run ran on, and the ledger of ingested batches
    """
    ALTER TABLE crawl_runs ADD COLUMN node TEXT;
    CREATE TABLE fleet_batches (
        id TEXT PRIMARY KEY,
        run_id INTEGER REFERENCES crawl_runs(id) ON DELETE SET NULL,
        node TEXT,
        job_key TEXT,
        seq INTEGER,
        final INTEGER NOT NULL DEFAULT 0,
        articles INTEGER NOT NULL DEFAULT 0,
        new_articles INTEGER NOT NULL DEFAULT 0,
        updated_articles INTEGER NOT NULL DEFAULT 0,
        unchanged_articles INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        created_at TEXT,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX fleet_batches_run ON fleet_batches(run_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Apply the migrations this archive has not had yet, then make its views those of
    views.VIEWS; return the schema version."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    current = schema_version(db)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with db.conn:
            db.conn.execute("BEGIN IMMEDIATE")
            if schema_version(db) >= version:  # another process got here first
                continue
            for statement in _statements(MIGRATIONS[version - 1]):
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version}")
    ensure_views(db.conn)
    return schema_version(db)


def _statements(script: str) -> Iterable[str]:
    """Split a migration into statements (triggers contain semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
