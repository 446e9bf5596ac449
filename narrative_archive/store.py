"""The archive: the one place that knows the schema.

Migrations, FTS, views and the functions that write rows. Everything else
talks to archive.db through these functions or through the views.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

# The archive's time format, in SQL (triggers and views).
NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

# An article's date on a timeline: what the page says, else when we first saw it.
ARTICLE_DATE = "coalesce(a.published_at, a.first_seen_at)"

# The same for an archive that holds archived copies (migration 14 on): the page's
# date, else the capture's timestamp, else when we first saw it.
TIMELINE_DATE = "coalesce(a.published_at, a.archived_at, a.first_seen_at)"
# The earliest moment we know the article existed: first captured or first seen.
_KNOWN_BY = "min(a.first_seen_at, coalesce(a.archived_at, a.first_seen_at))"

def _day_of(row: str) -> str:
    """SQL for the timeline day of an article row (`a`, `old`, `new`): article_dates.day."""
    date = f"coalesce({row}.published_at, {row}.archived_at, {row}.first_seen_at)"
    known_by = f"min({row}.first_seen_at, coalesce({row}.archived_at, {row}.first_seen_at))"
    return (f"substr(CASE WHEN length({date}) = 10"
            f" THEN max({date} || 'T00:00:00Z', min({date} || 'T23:59:59Z', {known_by}))"
            f" ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', {date}), {date}) END, 1, 10)")


def _story_of(row: str) -> str:
    """SQL for the story of an article row: mention_articles.story_id."""
    return f"coalesce({row}.story_id, {row}.id)"


def _day_counts_change(row: str, delta: int) -> str:
    """SQL adding `delta` to the day counts of every narrative that mentions article `row`."""
    if delta > 0:
        return f"""
        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT m.narrative_id, {_day_of(row)}, coalesce({row}.outlet_id, ''),
                   {_story_of(row)}, 1
            FROM mentions m WHERE m.article_id = {row}.id
            ON CONFLICT DO UPDATE SET articles = articles + 1;"""
    return f"""
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE day = {_day_of(row)} AND outlet_id = coalesce({row}.outlet_id, '')
              AND story_id = {_story_of(row)}
              AND narrative_id IN (SELECT narrative_id FROM mentions WHERE article_id = {row}.id);
        DELETE FROM narrative_day_counts
            WHERE day = {_day_of(row)} AND outlet_id = coalesce({row}.outlet_id, '')
              AND story_id = {_story_of(row)} AND articles <= 0;"""


def _mention_count_change(mention: str, delta: int) -> str:
    """SQL adding `delta` to the day count of one mention (`new` or `old`)."""
    article = (f"(SELECT a.id, a.outlet_id, a.published_at, a.archived_at, a.first_seen_at, "
               f"a.story_id FROM articles a WHERE a.id = {mention}.article_id)")
    if delta > 0:
        return f"""
        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT {mention}.narrative_id, {_day_of('a')}, coalesce(a.outlet_id, ''),
                   {_story_of('a')}, 1
            FROM {article} a WHERE true
            ON CONFLICT DO UPDATE SET articles = articles + 1;"""
    return f"""
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = {mention}.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT {_day_of('a')}, coalesce(a.outlet_id, ''), {_story_of('a')}
                  FROM {article} a);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = {mention}.narrative_id AND articles <= 0;"""


# Each entry migrates the archive from version N-1 to N (PRAGMA user_version).
# Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    # 1: the core tables
    f"""
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
        queries TEXT NOT NULL DEFAULT '{{}}',
        since TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE narrative_versions (
        narrative_id TEXT NOT NULL REFERENCES narratives(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        query TEXT NOT NULL,
        queries TEXT NOT NULL DEFAULT '{{}}',
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
        args TEXT NOT NULL DEFAULT '{{}}',
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

    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='articles', content_rowid='id',
        tokenize='{FTS_TOKENIZER}'
    );
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
    """,
    # 2: views for SQL over timelines
    f"""
    CREATE VIEW article_dates AS
        SELECT a.id AS article_id, a.outlet_id, {ARTICLE_DATE} AS dated_at,
               substr({ARTICLE_DATE}, 1, 10) AS day,
               CASE WHEN a.published_at IS NULL THEN 'first_seen' ELSE 'published' END AS date_source
        FROM articles a;
    CREATE VIEW mention_articles AS
        SELECT m.narrative_id, m.narrative_version, d.day, d.dated_at, d.date_source,
               a.id AS article_id, a.title, a.url, a.outlet_id, o.name AS outlet,
               o.country, o.kind AS outlet_kind, o.state_affiliated, a.language,
               a.published_at, a.first_seen_at, m.matched_at, m.snippet, m.terms,
               a.content_hash
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id;
    CREATE VIEW narrative_daily AS
        SELECT narrative_id AS narrative, day,
               count(*) AS articles, count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, day;
    CREATE VIEW narrative_weekly AS
        SELECT narrative_id AS narrative, date(day, 'weekday 0', '-6 days') AS week,
               count(*) AS articles, count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, week;
    CREATE VIEW narrative_monthly AS
        SELECT narrative_id AS narrative, substr(day, 1, 7) AS month,
               count(*) AS articles, count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, month;
    CREATE VIEW narrative_first_seen AS
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               article_id, title, url, dated_at AS first_dated_at, date_source
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY narrative_id, outlet_id ORDER BY dated_at, article_id) AS rank
            FROM mention_articles
        ) WHERE rank = 1;
    CREATE VIEW outlet_daily AS
        SELECT outlet_id AS outlet, day, count(*) AS articles
        FROM article_dates GROUP BY outlet_id, day;
    CREATE VIEW narrative_outlets AS
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               country, outlet_kind, state_affiliated, count(*) AS mentions,
               min(dated_at) AS first_dated_at, max(dated_at) AS last_dated_at
        FROM mention_articles GROUP BY narrative_id, outlet_id;
    CREATE VIEW syndicated_copies AS
        SELECT content_hash, count(*) AS copies, count(DISTINCT outlet_id) AS outlets,
               min(first_seen_at) AS first_seen_at, group_concat(url, ' ') AS urls
        FROM articles WHERE content_hash IS NOT NULL
        GROUP BY content_hash HAVING count(*) > 1;
    """,
    # 3: collection health per outlet
    """
    CREATE VIEW outlet_health AS
        SELECT o.id AS outlet, o.name,
               (SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id) AS last_fetched_at,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS articles_24h,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')) AS articles_7d,
               (SELECT count(*) FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.at > coalesce((SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id), '')
               ) AS failures_since_last_fetch,
               (SELECT reason FROM crawl_errors e WHERE e.outlet_id = o.id
                  ORDER BY e.at DESC LIMIT 1) AS last_error
        FROM outlets o WHERE o.configured = 1;
    """,
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
    """
    DROP VIEW outlet_health;
    CREATE VIEW outlet_health AS
        SELECT o.id AS outlet, o.name,
               (SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id) AS last_fetched_at,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS articles_24h,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')) AS articles_7d,
               (SELECT count(*) FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.at > coalesce((SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id), '')
               ) AS consecutive_failures,
               (SELECT max(at) FROM crawl_errors e WHERE e.outlet_id = o.id) AS last_error_at,
               (SELECT reason FROM crawl_errors e WHERE e.outlet_id = o.id
                  ORDER BY e.at DESC LIMIT 1) AS last_error
        FROM outlets o WHERE o.configured = 1;
    """,
    # 7: search results fetched that matched no narrative (not stored; not refetched at once)
    """
    CREATE TABLE unmatched_urls (
        url TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL
    );
    """,
    # 8: mention history: every narrative version a mention held in, and when it stopped
    # holding (a narrower query, an edited article). Kept by triggers on mentions.
    f"""
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
            VALUES (new.article_id, new.narrative_id, new.narrative_version, {NOW_SQL},
                    new.snippet)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL;
    END;
    CREATE TRIGGER mentions_history_au AFTER UPDATE OF narrative_version ON mentions
        WHEN new.narrative_version IS NOT old.narrative_version BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, {NOW_SQL},
                    new.snippet)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL;
    END;
    CREATE TRIGGER mentions_history_ad AFTER DELETE ON mentions BEGIN
        UPDATE mention_history SET removed_at = {NOW_SQL},
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
    f"""
    DROP VIEW narrative_outlets;
    DROP VIEW narrative_first_seen;
    DROP VIEW mention_articles;
    DROP VIEW article_dates;
    CREATE VIEW article_dates AS
        SELECT article_id, outlet_id, dated_at, substr(sorted_at, 1, 10) AS day, date_source,
               date_precision, sorted_at
        FROM (
            SELECT a.id AS article_id, a.outlet_id, {ARTICLE_DATE} AS dated_at,
                   CASE WHEN a.published_at IS NULL THEN 'first_seen' ELSE 'published' END
                     AS date_source,
                   CASE WHEN length({ARTICLE_DATE}) = 10 THEN 'day' ELSE 'second' END
                     AS date_precision,
                   CASE WHEN length({ARTICLE_DATE}) = 10
                     THEN max({ARTICLE_DATE} || 'T00:00:00Z',
                              min({ARTICLE_DATE} || 'T23:59:59Z', a.first_seen_at))
                     ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', {ARTICLE_DATE}), {ARTICLE_DATE})
                   END AS sorted_at
            FROM articles a
        );
    CREATE VIEW mention_articles AS
        SELECT m.narrative_id, m.narrative_version, d.day, d.dated_at, d.date_source,
               a.id AS article_id, a.title, a.url, a.outlet_id, o.name AS outlet,
               o.country, o.kind AS outlet_kind, o.state_affiliated, a.language,
               a.published_at, a.first_seen_at, m.matched_at, m.snippet, m.terms,
               a.content_hash, d.date_precision, d.sorted_at
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id;
    CREATE VIEW narrative_first_seen AS
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               article_id, title, url, dated_at AS first_dated_at, date_source,
               date_precision, sorted_at AS first_sorted_at
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY narrative_id, outlet_id ORDER BY sorted_at, article_id) AS rank
            FROM mention_articles
        ) WHERE rank = 1;
    CREATE VIEW narrative_outlets AS
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               country, outlet_kind, state_affiliated, count(*) AS mentions,
               -- sorted_at is 20 characters: the earliest and latest by it, as written
               substr(min(sorted_at || dated_at), 21) AS first_dated_at,
               substr(max(sorted_at || dated_at), 21) AS last_dated_at
        FROM mention_articles GROUP BY narrative_id, outlet_id;
    """,
    # 11: failures after the last stored article counted by crawl_errors id, not by the
    # second (an error in the same second counts); extraction warnings kept, not errors
    """
    ALTER TABLE articles ADD COLUMN fetched_after_error_id INTEGER;
    ALTER TABLE articles ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE crawl_runs ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
    DROP VIEW outlet_health;
    CREATE VIEW outlet_health AS
        SELECT o.id AS outlet, o.name,
               (SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id) AS last_fetched_at,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS articles_24h,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')) AS articles_7d,
               (SELECT count(*) FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.id > coalesce((SELECT fetched_after_error_id FROM articles
                                       WHERE outlet_id = o.id
                                       ORDER BY fetched_at DESC, fetched_after_error_id DESC
                                       LIMIT 1), 0)
                  AND e.at >= coalesce((SELECT max(fetched_at) FROM articles
                                        WHERE outlet_id = o.id), '')
               ) AS consecutive_failures,
               (SELECT max(at) FROM crawl_errors e WHERE e.outlet_id = o.id) AS last_error_at,
               (SELECT reason FROM crawl_errors e WHERE e.outlet_id = o.id
                  ORDER BY e.at DESC, e.id DESC LIMIT 1) AS last_error
        FROM outlets o WHERE o.configured = 1;
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
    f"""
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
            VALUES (new.article_id, new.narrative_id, new.narrative_version, {NOW_SQL},
                    new.snippet, new.stance)
            ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL,
                                      stance = excluded.stance;
    END;
    CREATE TRIGGER mentions_history_au AFTER UPDATE OF narrative_version ON mentions
        WHEN new.narrative_version IS NOT old.narrative_version BEGIN
        INSERT INTO mention_history (article_id, narrative_id, narrative_version, matched_at,
                                     snippet, stance)
            VALUES (new.article_id, new.narrative_id, new.narrative_version, {NOW_SQL},
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

    DROP VIEW narrative_outlets;
    DROP VIEW narrative_first_seen;
    DROP VIEW narrative_monthly;
    DROP VIEW narrative_weekly;
    DROP VIEW narrative_daily;
    DROP VIEW mention_articles;
    CREATE VIEW mention_articles AS
        SELECT m.narrative_id, m.narrative_version, d.day, d.dated_at, d.date_source,
               a.id AS article_id, a.title, a.url, a.outlet_id, o.name AS outlet,
               o.country, o.kind AS outlet_kind, o.state_affiliated, a.language,
               a.published_at, a.first_seen_at, m.matched_at, m.snippet, m.terms,
               a.content_hash, d.date_precision, d.sorted_at,
               m.stance, m.stance_confidence, m.stance_evidence,
               coalesce(a.story_id, a.id) AS story_id
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id;
    CREATE VIEW narrative_daily AS
        SELECT narrative_id AS narrative, day,
               count(*) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, day;
    CREATE VIEW narrative_weekly AS
        SELECT narrative_id AS narrative, date(day, 'weekday 0', '-6 days') AS week,
               count(*) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, week;
    CREATE VIEW narrative_monthly AS
        SELECT narrative_id AS narrative, substr(day, 1, 7) AS month,
               count(*) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT outlet_id) AS outlets
        FROM mention_articles GROUP BY narrative_id, month;
    CREATE VIEW story_copies AS
        SELECT coalesce(a.story_id, a.id) AS story_id, a.id AS article_id,
               a.id = coalesce(a.story_id, a.id) AS original, a.outlet_id, o.name AS outlet,
               a.title, a.url, d.dated_at, d.sorted_at,
               (SELECT count(*) FROM articles c WHERE c.story_id = coalesce(a.story_id, a.id))
                 AS copies
        FROM articles a
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id
        WHERE EXISTS (SELECT 1 FROM articles c
                      WHERE c.story_id = coalesce(a.story_id, a.id) AND c.id != a.id);
    CREATE VIEW narrative_first_seen AS
        SELECT f.narrative_id AS narrative, f.outlet_id AS outlet, f.outlet AS outlet_name,
               f.article_id, f.title, f.url, f.dated_at AS first_dated_at, f.date_source,
               f.date_precision, f.sorted_at AS first_sorted_at, f.story_id,
               CASE WHEN f.story_id = f.article_id THEN 'original' ELSE 'pickup' END AS story_role,
               s.outlet_id AS story_outlet, so.name AS story_outlet_name
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY narrative_id, outlet_id ORDER BY sorted_at, article_id) AS rank
            FROM mention_articles
        ) f
        LEFT JOIN articles s ON s.id = f.story_id
        LEFT JOIN outlets so ON so.id = s.outlet_id
        WHERE f.rank = 1;
    CREATE VIEW narrative_outlets AS
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               country, outlet_kind, state_affiliated, count(*) AS mentions,
               count(DISTINCT story_id) AS stories,
               sum(stance = 'asserts') AS asserts, sum(stance = 'reports') AS reports,
               sum(stance = 'disputes') AS disputes,
               -- sorted_at is 20 characters: the earliest and latest by it, as written
               substr(min(sorted_at || dated_at), 21) AS first_dated_at,
               substr(max(sorted_at || dated_at), 21) AS last_dated_at
        FROM mention_articles GROUP BY narrative_id, outlet_id;
    CREATE VIEW narrative_citations AS
        SELECT ci.narrative_id AS narrative, ci.article_id AS citing_article_id,
               ci.dated_at AS citing_dated_at, ci.outlet_id AS citing_outlet,
               ce.article_id AS cited_article_id, ce.dated_at AS cited_dated_at,
               ce.outlet_id AS cited_outlet, c.kind, c.source_name, c.target_url, c.sentence,
               ci.stance AS citing_stance, ce.stance AS cited_stance
        FROM citations c
        JOIN mention_articles ci ON ci.article_id = c.article_id
        JOIN mention_articles ce ON ce.narrative_id = ci.narrative_id
         AND ce.article_id = c.target_article_id
        WHERE c.target_article_id IS NOT NULL AND ce.sorted_at <= ci.sorted_at
          AND ce.article_id != ci.article_id
        UNION ALL
        -- "according to Reuters": the latest earlier article of that outlet on the narrative
        SELECT ci.narrative_id, ci.article_id, ci.dated_at, ci.outlet_id,
               ce.article_id, ce.dated_at, ce.outlet_id, c.kind, c.source_name, c.target_url,
               c.sentence, ci.stance, ce.stance
        FROM citations c
        JOIN mention_articles ci ON ci.article_id = c.article_id
        JOIN mention_articles ce ON ce.article_id = (
            SELECT e.article_id FROM mention_articles e
            WHERE e.narrative_id = ci.narrative_id AND e.outlet_id = c.outlet_id
              AND e.sorted_at <= ci.sorted_at AND e.article_id != ci.article_id
            ORDER BY e.sorted_at DESC, e.article_id DESC LIMIT 1)
         AND ce.narrative_id = ci.narrative_id
        WHERE c.kind = 'attribution' AND c.outlet_id IS NOT NULL
          AND c.outlet_id IS NOT ci.outlet_id;
    CREATE VIEW narrative_origins AS
        SELECT m.narrative_id AS narrative, m.article_id, m.outlet_id, m.outlet, m.title,
               m.url, m.dated_at, m.stance,
               (SELECT count(DISTINCT citing_article_id) FROM narrative_citations nc
                WHERE nc.narrative = m.narrative_id AND nc.cited_article_id = m.article_id)
                 AS cited_by
        FROM mention_articles m
        WHERE EXISTS (SELECT 1 FROM narrative_citations nc
                      WHERE nc.narrative = m.narrative_id AND nc.cited_article_id = m.article_id)
          AND NOT EXISTS (SELECT 1 FROM narrative_citations nc
                          WHERE nc.narrative = m.narrative_id
                            AND nc.citing_article_id = m.article_id);
    CREATE VIEW outlet_attention AS
        WITH periods AS (
            SELECT outlet_id, 'week' AS period_kind,
                   date(day, 'weekday 0', '-6 days') AS period, article_id
            FROM article_dates
            UNION ALL
            SELECT outlet_id, 'month', substr(day, 1, 7), article_id FROM article_dates
        ), output AS (
            SELECT outlet_id, period_kind, period, count(*) AS articles
            FROM periods GROUP BY outlet_id, period_kind, period
        ), hits AS (
            SELECT p.outlet_id, m.narrative_id, p.period_kind, p.period,
                   count(DISTINCT p.article_id) AS mentioning
            FROM periods p JOIN mentions m ON m.article_id = p.article_id
            GROUP BY p.outlet_id, m.narrative_id, p.period_kind, p.period
        )
        SELECT h.outlet_id AS outlet, o.name AS outlet_name, h.narrative_id AS narrative,
               h.period_kind, h.period, h.mentioning, w.articles,
               round(1.0 * h.mentioning / w.articles, 4) AS share,
               CASE WHEN o.configured = 1
                     AND (coalesce(o.feeds, '[]') != '[]' OR coalesce(o.sitemaps, '[]') != '[]')
                    THEN 1 ELSE 0 END AS whole_output
        FROM hits h
        JOIN output w ON w.outlet_id IS h.outlet_id AND w.period_kind = h.period_kind
         AND w.period = h.period
        LEFT JOIN outlets o ON o.id = h.outlet_id;
    """,
    # 14: backfill from web archives: where an archived copy came from, the archives'
    # listing cursors, every capture listed (so none is fetched twice), and timelines
    # that date an archived copy by its capture when the page gives no date (a day-only
    # date still sorts at its latest possible moment, now bounded by the capture too).
    # The views over article_dates and mention_articles name them and their columns, so
    # only these two are recreated (mention_articles as migration 13 has it, plus where
    # the copy came from).
    f"""
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
        fetch TEXT NOT NULL DEFAULT '{{}}',
        state TEXT NOT NULL DEFAULT 'pending',
        reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, capture)
    );
    CREATE INDEX backfill_captures_state ON backfill_captures(state, source);
    CREATE INDEX backfill_captures_url ON backfill_captures(url);
    DROP VIEW mention_articles;
    DROP VIEW article_dates;
    CREATE VIEW article_dates AS
        SELECT article_id, outlet_id, dated_at, substr(sorted_at, 1, 10) AS day, date_source,
               date_precision, sorted_at
        FROM (
            SELECT a.id AS article_id, a.outlet_id, {TIMELINE_DATE} AS dated_at,
                   CASE WHEN a.published_at IS NOT NULL THEN 'published'
                        WHEN a.archived_at IS NOT NULL THEN 'archived'
                        ELSE 'first_seen' END AS date_source,
                   CASE WHEN length({TIMELINE_DATE}) = 10 THEN 'day' ELSE 'second' END
                     AS date_precision,
                   CASE WHEN length({TIMELINE_DATE}) = 10
                     THEN max({TIMELINE_DATE} || 'T00:00:00Z',
                              min({TIMELINE_DATE} || 'T23:59:59Z', {_KNOWN_BY}))
                     ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', {TIMELINE_DATE}),
                                   {TIMELINE_DATE})
                   END AS sorted_at
            FROM articles a
        );
    CREATE VIEW mention_articles AS
        SELECT m.narrative_id, m.narrative_version, d.day, d.dated_at, d.date_source,
               a.id AS article_id, a.title, a.url, a.outlet_id, o.name AS outlet,
               o.country, o.kind AS outlet_kind, o.state_affiliated, a.language,
               a.published_at, a.first_seen_at, m.matched_at, m.snippet, m.terms,
               a.content_hash, d.date_precision, d.sorted_at,
               m.stance, m.stance_confidence, m.stance_evidence,
               coalesce(a.story_id, a.id) AS story_id,
               a.via, a.archived_at, a.archive_url, a.archive_source
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id;
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
    # exports, in mention order (plugins/narrative_archive_perf.py streams it).
    f"""
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
        SELECT m.narrative_id, {_day_of('a')}, coalesce(a.outlet_id, ''), {_story_of('a')},
               count(*)
        FROM mentions m JOIN articles a ON a.id = m.article_id
        GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER mentions_day_counts_ai AFTER INSERT ON mentions BEGIN
        {_mention_count_change('new', 1)}
    END;
    CREATE TRIGGER mentions_day_counts_ad AFTER DELETE ON mentions BEGIN
        {_mention_count_change('old', -1)}
    END;
    CREATE TRIGGER mentions_day_counts_au AFTER UPDATE OF article_id, narrative_id ON mentions
        BEGIN
        {_mention_count_change('old', -1)}
        {_mention_count_change('new', 1)}
    END;
    CREATE TRIGGER articles_day_counts_bd BEFORE DELETE ON articles BEGIN
        {_day_counts_change('old', -1)}
    END;
    CREATE TRIGGER articles_day_counts_au
        AFTER UPDATE OF published_at, archived_at, first_seen_at, outlet_id, story_id
        ON articles
        WHEN {_day_of('old')} IS NOT {_day_of('new')} OR old.outlet_id IS NOT new.outlet_id
          OR old.story_id IS NOT new.story_id
        BEGIN
        {_day_counts_change('old', -1)}
        {_day_counts_change('new', 1)}
    END;
    DROP VIEW narrative_daily;
    DROP VIEW narrative_weekly;
    DROP VIEW narrative_monthly;
    CREATE VIEW narrative_daily AS
        SELECT narrative_id AS narrative, day, sum(articles) AS articles,
               count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, day;
    CREATE VIEW narrative_weekly AS
        SELECT narrative_id AS narrative, date(day, 'weekday 0', '-6 days') AS week,
               sum(articles) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, week;
    CREATE VIEW narrative_monthly AS
        SELECT narrative_id AS narrative, substr(day, 1, 7) AS month,
               sum(articles) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, month;
    DROP VIEW narrative_first_seen;
    CREATE VIEW narrative_first_seen AS
        SELECT f.narrative, f.outlet, f.outlet_name, f.article_id, f.title, f.url,
               f.first_dated_at, f.date_source, f.date_precision, f.first_sorted_at,
               f.story_id,
               CASE WHEN f.story_id = f.article_id THEN 'original' ELSE 'pickup' END AS story_role,
               s.outlet_id AS story_outlet, so.name AS story_outlet_name
        FROM (
            -- An outlet's first article on a narrative is on its first day in the day
            -- counts: only that day's articles (found by their stories) are ranked.
            SELECT c.narrative_id AS narrative, a.outlet_id AS outlet, o.name AS outlet_name,
                   a.id AS article_id, a.title, a.url, d.dated_at AS first_dated_at,
                   d.date_source, d.date_precision, d.sorted_at AS first_sorted_at,
                   c.story_id,
                   row_number() OVER (PARTITION BY c.narrative_id, c.outlet_id
                                      ORDER BY d.sorted_at, a.id) AS rank
            -- CROSS JOIN keeps this order: the planner would start from mentions.
            FROM (SELECT narrative_id, outlet_id, min(day) AS day FROM narrative_day_counts
                  GROUP BY narrative_id, outlet_id) first
            CROSS JOIN narrative_day_counts c ON c.narrative_id = first.narrative_id
             AND c.day = first.day AND c.outlet_id = first.outlet_id
            CROSS JOIN articles a ON a.id = c.story_id OR a.story_id = c.story_id
            CROSS JOIN mentions m ON m.article_id = a.id AND m.narrative_id = c.narrative_id
            CROSS JOIN article_dates d ON d.article_id = a.id
            LEFT JOIN outlets o ON o.id = a.outlet_id
            WHERE coalesce(a.outlet_id, '') = c.outlet_id AND d.day = c.day
        ) f
        LEFT JOIN articles s ON s.id = f.story_id
        LEFT JOIN outlets so ON so.id = s.outlet_id
        WHERE f.rank = 1;
    CREATE VIEW export_mentions AS
        SELECT m.narrative_id, m.narrative_version, m.article_id, a.title, a.url,
               a.canonical_url, d.dated_at, d.date_source, d.date_precision, d.day,
               a.published_at, a.first_seen_at, a.modified_at, m.matched_at,
               a.outlet_id, o.name AS outlet, o.country, o.kind AS outlet_kind, o.owner,
               o.state_affiliated, a.language AS article_language,
               o.language AS outlet_language, a.authors, a.via, a.archived_at,
               a.archive_url, a.archive_source, a.status,
               m.stance, m.stance_confidence, m.stance_evidence,
               {_story_of('a')} AS story_id, m.terms, m.snippet, a.content_hash
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """The current time as the archive writes it: UTC ISO 8601 to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    """Open archive.db with WAL, a busy timeout and foreign keys; migrate it by default."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if migrate:
        ensure_schema(db)
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Apply the migrations this archive has not had yet; return the schema version."""
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


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE), committed on exit, rolled back on error.

    Re-entrant: inside an open transaction it joins it, so several writes (an
    article and its mentions) can be made to commit together or not at all.
    """
    conn = db.conn
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


# --- outlets ---------------------------------------------------------------

OUTLET_COLUMNS = (
    "id", "name", "url", "domains", "country", "language", "kind", "owner",
    "state_affiliated", "feeds", "sitemaps", "notes",
)


def save_outlets(db: sqlite_utils.Database, outlets: Iterable[Any]) -> int:
    """Upsert configured outlets (config.Outlet or mappings); return how many."""
    rows = []
    for outlet in outlets:
        get = outlet.get if isinstance(outlet, Mapping) else lambda k, o=outlet: getattr(o, k, None)
        row = {column: get(column) for column in OUTLET_COLUMNS}
        for column in ("domains", "feeds", "sitemaps"):
            row[column] = _json(row[column] or [])
        if row["state_affiliated"] is not None:
            row["state_affiliated"] = int(bool(row["state_affiliated"]))
        row["configured"] = 1
        rows.append(row)
    with transaction(db):
        db["outlets"].upsert_all(rows, pk="id")
    return len(rows)


def ensure_outlet_for_domain(db: sqlite_utils.Database, domain: str) -> str:
    """The outlet id for a domain no configured outlet claims, creating its row (kind unknown)."""
    domain = domain.lower().removeprefix("www.")
    outlet_id = domain
    if db["outlets"].count_where("id = ?", [outlet_id]) == 0:
        with transaction(db):
            db.conn.execute(
                "INSERT OR IGNORE INTO outlets (id, name, url, domains, configured)"
                " VALUES (?, ?, ?, ?, 0)",
                [outlet_id, domain, f"https://{domain}/", _json([domain])],
            )
    return outlet_id


# --- articles --------------------------------------------------------------

ARTICLE_FIELDS = (
    "url", "title", "text", "description", "authors", "published_at", "modified_at",
    "language", "links", "content_hash", "claimed_canonical_url", "warnings",
)


def save_article(
    db: sqlite_utils.Database,
    article: Mapping[str, Any],
    outlet_id: str | None,
    via: str | None = None,
    fetched_at: str | None = None,
    archive: Mapping[str, Any] | None = None,
    *,
    capture_id: int | None = None,
    extractor: str | None = None,
    origin: str = "crawl",
) -> tuple[int, str]:
    """Upsert an article on its canonical URL.

    Returns (article id, what happened): "new", "updated" (text or title changed:
    a new article_versions row), or "unchanged" (only last_seen_at moves).
    first_seen_at is never overwritten. `archive` ({"source": "wayback" |
    "commoncrawl", "url": ..., "archived_at": ...}) says where an archived copy
    came from; the earliest capture recorded is kept. A new version records the
    capture it came from, the extractor and its origin (crawl, reextract,
    revisit, import).
    """
    evidence = {"capture_id": capture_id, "extractor": extractor, "origin": origin}
    fetched_at = fetched_at or now()
    canonical = article.get("canonical_url") or article["url"]
    values = {field: article.get(field) for field in ARTICLE_FIELDS}
    values["authors"] = _json(values["authors"] or [])
    values["links"] = _json(values["links"] or [])
    values["warnings"] = _json(values["warnings"] or [])
    with transaction(db):
        # The crawl_errors high-water mark: errors after it came after this fetch.
        error_mark = db.conn.execute("SELECT max(id) FROM crawl_errors").fetchone()[0] or 0
        existing = db.conn.execute(
            "SELECT id, title, text, content_hash FROM articles WHERE canonical_url = ?",
            [canonical],
        ).fetchone()
        if existing is None:
            cursor = db.conn.execute(
                f"INSERT INTO articles (canonical_url, outlet_id, via, first_seen_at, last_seen_at,"
                f" fetched_at, fetched_after_error_id, {', '.join(ARTICLE_FIELDS)})"
                f" VALUES (?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(ARTICLE_FIELDS))})",
                [canonical, outlet_id, via, fetched_at, fetched_at, fetched_at, error_mark,
                 *values.values()],
            )
            article_id = cursor.lastrowid
            _save_version(db, article_id, fetched_at, values, **evidence)
            _save_archive(db, article_id, archive)
            return article_id, "new"
        article_id, old_title, old_text, old_hash = existing
        _save_archive(db, article_id, archive)
        changed = (values["text"], values["title"]) != (old_text, old_title)
        if changed:
            # Keep what the page said before, then what it says now.
            if not db.conn.execute(
                "SELECT 1 FROM article_versions WHERE article_id = ?", [article_id]
            ).fetchone():
                _save_version(db, article_id, fetched_at,
                              {"title": old_title, "text": old_text, "content_hash": old_hash})
            assignments = ", ".join(f"{field} = ?" for field in ARTICLE_FIELDS)
            db.conn.execute(
                f"UPDATE articles SET {assignments}, last_seen_at = ?, fetched_at = ?,"
                " fetched_after_error_id = ?, outlet_id = coalesce(outlet_id, ?) WHERE id = ?",
                [*values.values(), fetched_at, fetched_at, error_mark, outlet_id, article_id],
            )
            _save_version(db, article_id, fetched_at, values, **evidence)
            return article_id, "updated"
        db.conn.execute(
            "UPDATE articles SET last_seen_at = ?, fetched_at = ?, fetched_after_error_id = ?,"
            " published_at = coalesce(published_at, ?), modified_at = coalesce(?, modified_at),"
            " warnings = ? WHERE id = ?",
            [fetched_at, fetched_at, error_mark, values["published_at"], values["modified_at"],
             values["warnings"], article_id],
        )
        return article_id, "unchanged"


def _save_archive(db, article_id: int, archive: Mapping[str, Any] | None) -> None:
    """Record an archived copy's provenance, unless an earlier capture is already recorded."""
    if not archive or not archive.get("archived_at"):
        return
    db.conn.execute(
        "UPDATE articles SET archived_at = ?, archive_url = ?, archive_source = ?"
        " WHERE id = ? AND (archived_at IS NULL OR archived_at > ?)",
        [archive["archived_at"], archive.get("url"), archive.get("source"), article_id,
         archive["archived_at"]],
    )


def _save_version(db, article_id: int, fetched_at: str, values: Mapping[str, Any],
                  capture_id: int | None = None, extractor: str | None = None,
                  origin: str | None = None) -> None:
    db.conn.execute(
        "INSERT INTO article_versions (article_id, fetched_at, title, text, content_hash,"
        " capture_id, extractor, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [article_id, fetched_at, values.get("title"), values.get("text"),
         values.get("content_hash"), capture_id, extractor, origin],
    )


def _urls_where(db: sqlite_utils.Database, sql: str, urls: Iterable[str], since: str) -> set[str]:
    """Run `sql` (with `{marks}` for the URL placeholders) over URLs in chunks."""
    urls = list(urls)
    found: set[str] = set()
    for start in range(0, len(urls), 400):
        chunk = urls[start:start + 400]
        marks = ", ".join("?" * len(chunk))
        found.update(row[0] for row in db.execute(sql.format(marks=marks), [since, *chunk]))
    return found


def recently_fetched(db: sqlite_utils.Database, urls: Iterable[str], since: str) -> set[str]:
    """Which of these URLs (canonical, or as listed) were fetched at or after `since`:
    stored articles, and search results that matched no narrative."""
    urls = list(urls)
    return _urls_where(
        db, "SELECT canonical_url FROM articles WHERE fetched_at >= ?"
        " AND canonical_url IN ({marks})", urls, since,
    ) | _urls_where(
        db, "SELECT url FROM articles WHERE fetched_at >= ? AND url IN ({marks})", urls, since,
    ) | _urls_where(
        db, "SELECT url FROM unmatched_urls WHERE checked_at >= ? AND url IN ({marks})",
        urls, since,
    )


def mark_seen(db: sqlite_utils.Database, urls: Iterable[str], seen_at: str | None = None) -> int:
    """A feed or sitemap listed these stored articles again (canonical or listed URL) without
    their being refetched: move their last_seen_at (never back). Returns how many moved."""
    seen_at = seen_at or now()
    urls = list(dict.fromkeys(urls))
    moved = 0
    with transaction(db):
        for start in range(0, len(urls), 400):
            chunk = urls[start:start + 400]
            marks = ", ".join("?" * len(chunk))
            moved += db.conn.execute(
                f"UPDATE articles SET last_seen_at = ? WHERE last_seen_at < ?"
                f" AND (canonical_url IN ({marks}) OR url IN ({marks}))",
                [seen_at, seen_at, *chunk, *chunk],
            ).rowcount
    return moved


def save_unmatched(db: sqlite_utils.Database, urls: Iterable[str | None]) -> None:
    """Remember search results that matched no narrative, so they are not refetched at once."""
    checked_at = now()
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO unmatched_urls (url, checked_at) VALUES (?, ?)"
            " ON CONFLICT(url) DO UPDATE SET checked_at = excluded.checked_at",
            [(url, checked_at) for url in dict.fromkeys(urls) if url],
        )


def recently_failed(db: sqlite_utils.Database, urls: Iterable[str], since: str) -> set[str]:
    """Which of these URLs failed at or after `since` (already retried within their run)."""
    return _urls_where(
        db, "SELECT DISTINCT url FROM crawl_errors WHERE at >= ? AND url IN ({marks})",
        urls, since,
    )


# --- revisits --------------------------------------------------------------

REVISIT_OUTCOMES = ("unchanged", "edited", "moved", "gone", "blocked", "failing")
ARTICLE_STATUSES = ("live", "edited", "moved", "gone")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def due_for_revisit(
    db: sqlite_utils.Database,
    schedule: Sequence[int],
    at: str | None = None,
    *,
    outlets: Sequence[str] = (),
    narratives: Sequence[str] = (),
    limit: int | None = None,
) -> list[dict]:
    """Articles that mention a narrative and are due for a revisit at `at`, most overdue first.

    `schedule` holds seconds after first_seen_at (a day, a week, ...). An article is due
    at the first of those moments after its last check (after it was first seen, if it
    was never checked); once checked after the last moment it is never due again.
    Moments missed while nothing ran fold into one check.
    """
    offsets = sorted({int(seconds) for seconds in schedule if int(seconds) > 0})
    if not offsets:
        return []
    slot = "strftime('{fmt}', a.first_seen_at, '+{seconds} seconds')"
    cases = " ".join(
        f"WHEN coalesce(a.last_checked_at, '') < {slot.format(fmt=_TIME, seconds=s)}"
        f" THEN {slot.format(fmt=_TIME, seconds=s)}" for s in offsets)
    where, params = [], {"at": at or now()}
    if outlets:
        marks = ", ".join(f":outlet{i}" for i in range(len(outlets)))
        where.append(f"a.outlet_id IN ({marks})")
        params.update({f"outlet{i}": outlet for i, outlet in enumerate(outlets)})
    mentioned = "SELECT 1 FROM mentions m WHERE m.article_id = a.id"
    if narratives:
        marks = ", ".join(f":narrative{i}" for i in range(len(narratives)))
        mentioned += f" AND m.narrative_id IN ({marks})"
        params.update({f"narrative{i}": narrative for i, narrative in enumerate(narratives)})
    where.append(f"EXISTS ({mentioned})")
    sql = (
        "SELECT * FROM ("
        " SELECT a.id, a.url, a.canonical_url, a.outlet_id, a.status, a.etag, a.last_modified,"
        " a.first_seen_at, a.last_checked_at, a.moved_to, a.gone_at,"
        f" CASE {cases} END AS due_at"
        f" FROM articles a WHERE {' AND '.join(where)}"
        ") WHERE due_at <= :at ORDER BY due_at, id"
    )
    if limit:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return list(db.query(sql, params))


def revise_article(db: sqlite_utils.Database, article_id: int, article: Mapping[str, Any],
                   fetched_at: str | None = None, *, capture_id: int | None = None,
                   extractor: str | None = None) -> str:
    """A revisit's extraction of a stored article, kept under the article's id whatever
    canonical URL the page now claims. Returns "edited" (title or text changed: a new
    article_versions row, origin 'revisit', pointing at the revisit's capture) or
    "unchanged"."""
    fetched_at = fetched_at or now()
    fields = [f for f in ARTICLE_FIELDS if f not in ("url", "claimed_canonical_url")]
    values = {field: article.get(field) for field in fields}
    for field in ("authors", "links", "warnings"):
        values[field] = _json(values[field] or [])
    with transaction(db):
        error_mark = db.conn.execute("SELECT max(id) FROM crawl_errors").fetchone()[0] or 0
        row = db.conn.execute(
            "SELECT title, text, content_hash FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        if row is None:
            raise ValueError(f"no article {article_id} in the archive")
        old_title, old_text, old_hash = row
        if (values["text"], values["title"]) == (old_text, old_title):
            db.conn.execute(
                "UPDATE articles SET last_seen_at = ?, fetched_at = ?, fetched_after_error_id = ?"
                " WHERE id = ?", [fetched_at, fetched_at, error_mark, article_id])
            return "unchanged"
        if not db.conn.execute(
            "SELECT 1 FROM article_versions WHERE article_id = ?", [article_id]
        ).fetchone():
            _save_version(db, article_id, fetched_at,
                          {"title": old_title, "text": old_text, "content_hash": old_hash})
        assignments = ", ".join(f"{field} = ?" for field in fields if field != "published_at")
        db.conn.execute(
            f"UPDATE articles SET {assignments}, published_at = coalesce(published_at, ?),"
            " last_seen_at = ?, fetched_at = ?, fetched_after_error_id = ? WHERE id = ?",
            [*(values[f] for f in fields if f != "published_at"), values["published_at"],
             fetched_at, fetched_at, error_mark, article_id],
        )
        _save_version(db, article_id, fetched_at, values, capture_id=capture_id,
                      extractor=extractor, origin="revisit")
        return "edited"


def record_revisit(
    db: sqlite_utils.Database,
    article_id: int,
    outcome: str,
    *,
    checked_at: str | None = None,
    http_status: int | None = None,
    new_url: str | None = None,
    run_id: int | None = None,
    detail: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Keep the outcome of one revisit and move the article's lifecycle along.

    moved: moved_to is the new URL (the article keeps its id); gone: gone_at is set the
    first time; unchanged or edited on a moved or gone article: it is back (live, or
    edited when it has several versions). blocked and failing only date the check.
    """
    if outcome not in REVISIT_OUTCOMES:
        raise ValueError(f"unknown revisit outcome {outcome!r}")
    checked_at = checked_at or now()
    with transaction(db):
        db.conn.execute(
            "INSERT INTO revisits (article_id, checked_at, outcome, http_status, new_url, run_id,"
            " detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [article_id, checked_at, outcome, http_status, new_url, run_id, detail],
        )
        db.conn.execute(
            "UPDATE articles SET last_checked_at = ?, etag = coalesce(?, etag),"
            " last_modified = coalesce(?, last_modified) WHERE id = ?",
            [checked_at, etag, last_modified, article_id],
        )
        if outcome == "moved":
            db.conn.execute("UPDATE articles SET status = 'moved', moved_to = ? WHERE id = ?",
                            [new_url, article_id])
        elif outcome == "gone":
            db.conn.execute(
                "UPDATE articles SET status = 'gone', gone_at = coalesce(gone_at, ?) WHERE id = ?",
                [checked_at, article_id])
        elif outcome in ("unchanged", "edited"):
            db.conn.execute(
                "UPDATE articles SET moved_to = NULL, gone_at = NULL, status = CASE WHEN"
                " (SELECT count(*) FROM article_versions WHERE article_id = articles.id) > 1"
                " THEN 'edited' ELSE 'live' END WHERE id = ? AND status IN ('moved', 'gone')",
                [article_id])


def get_article(db: sqlite_utils.Database, article_id: int) -> dict | None:
    """One article's row, or None."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    return rows[0] if rows else None


def article_revisits(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    """Every revisit of an article, newest first."""
    return list(db.query(
        "SELECT id, checked_at, outcome, http_status, new_url, run_id, detail FROM revisits"
        " WHERE article_id = ? ORDER BY checked_at DESC, id DESC", [article_id]))


# --- backfill: cursors and captures listed by web archives ---------------------


def backfill_cursor(db: sqlite_utils.Database, source: str, domain: str,
                    key: str) -> tuple[str | None, bool]:
    """Where listing (source, domain, key) stopped: (resume key or None, whether it is done)."""
    row = db.execute(
        "SELECT resume_key, done FROM backfill_cursors WHERE source = ? AND domain = ? AND key = ?",
        [source, domain, key]).fetchone()
    return (row[0], bool(row[1])) if row else (None, False)


def save_backfill_listing(db: sqlite_utils.Database, source: str, domain: str, key: str,
                          captures: Iterable[Mapping[str, Any]], resume_key: str | None,
                          done: bool) -> list[dict]:
    """Remember one listed page of captures and where the listing goes on, in one transaction.

    Each capture is a mapping with capture (its id within the source), url,
    captured_at, outlet_id and fetch (how to get it). Returns the captures still
    to fetch: listed before or now, still pending, whose URL is not stored yet.
    """
    at = now()
    rows = list(captures)
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT OR IGNORE INTO backfill_captures (source, capture, url, captured_at,"
            " outlet_id, fetch, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
            [(source, c["capture"], c["url"], c["captured_at"], c.get("outlet_id"),
              _json(c.get("fetch") or {}), at) for c in rows])
        db.conn.execute(
            "INSERT INTO backfill_cursors (source, domain, key, resume_key, done, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source, domain, key) DO UPDATE SET"
            " resume_key = excluded.resume_key, done = excluded.done,"
            " updated_at = excluded.updated_at",
            [source, domain, key, resume_key, int(done), at])
    return pending_captures(db, source, [c["capture"] for c in rows])


def pending_captures(db: sqlite_utils.Database, source: str,
                     captures: Iterable[str] | None = None) -> list[dict]:
    """Captures listed but not fetched yet (all of the source's, or these), whose URL no
    stored article has (nor a search-like result that matched nothing); in listed order."""
    sql = ("SELECT c.capture, c.url, c.captured_at, c.outlet_id, c.fetch FROM backfill_captures c"
           " WHERE c.source = ? AND c.state = 'pending'"
           " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.url = c.url)"
           " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.canonical_url = c.url)"
           " AND NOT EXISTS (SELECT 1 FROM unmatched_urls u WHERE u.url = c.url)")
    params: list[Any] = [source]
    found: list[dict] = []
    if captures is None:
        chunks = [None]
    else:
        captures = list(captures)
        chunks = [captures[i:i + 400] for i in range(0, len(captures), 400)]
    for chunk in chunks:
        extra = ""
        if chunk is not None:
            if not chunk:
                continue
            extra = f" AND c.capture IN ({', '.join('?' * len(chunk))})"
        for capture, url, captured_at, outlet_id, fetch in db.execute(
                sql + extra + " ORDER BY c.rowid", [*params, *(chunk or [])]):
            found.append({"capture": capture, "url": url, "captured_at": captured_at,
                          "outlet_id": outlet_id, "fetch": json.loads(fetch or "{}")})
    return found


def finish_capture(db: sqlite_utils.Database, source: str, capture: str, state: str,
                   reason: str | None = None) -> None:
    """Mark a listed capture as done with: 'skipped' (with why) or 'failed' (with why)."""
    with db.conn:
        db.conn.execute(
            "UPDATE backfill_captures SET state = ?, reason = ?, updated_at = ?"
            " WHERE source = ? AND capture = ?", [state, reason, now(), source, capture])


# --- crawl runs ------------------------------------------------------------

RUN_COUNTERS = ("pages", "new_articles", "updated_articles", "mentions", "errors", "warnings")
RUN_STATUSES = ("running", "ok", "failed", "timeout", "abandoned")


def start_run(db: sqlite_utils.Database, spider: str, args: Mapping[str, Any] | None = None,
              pid: int | None = None) -> int:
    """Record a crawl run as running; return its id."""
    with transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO crawl_runs (spider, args, started_at, status, pid) VALUES (?, ?, ?, 'running', ?)",
            [spider, _json(dict(args or {})), now(), pid],
        )
    return cursor.lastrowid


def update_run(db: sqlite_utils.Database, run_id: int, **fields: Any) -> None:
    """Set counters (pages, new_articles, ...), status, message or pid on a run."""
    allowed = set(RUN_COUNTERS) | {"status", "message", "pid", "finished_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown crawl_runs fields: {sorted(unknown)}")
    if "status" in fields and fields["status"] not in RUN_STATUSES:
        raise ValueError(f"unknown status {fields['status']!r}")
    if not fields:
        return
    with transaction(db):
        db.conn.execute(
            f"UPDATE crawl_runs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
            [*fields.values(), run_id],
        )


def finish_run(db: sqlite_utils.Database, run_id: int, status: str, **fields: Any) -> None:
    """Close a run with its final status and counters."""
    update_run(db, run_id, status=status, finished_at=now(), **fields)


def record_error(db: sqlite_utils.Database, run_id: int | None, url: str | None, reason: str,
                 outlet_id: str | None = None) -> None:
    """Log a failure (a URL and why) against a run and count it there."""
    with transaction(db):
        db.conn.execute(
            "INSERT INTO crawl_errors (run_id, outlet_id, url, reason, at) VALUES (?, ?, ?, ?, ?)",
            [run_id, outlet_id, url, reason, now()],
        )
        if run_id is not None:
            db.conn.execute("UPDATE crawl_runs SET errors = errors + 1 WHERE id = ?", [run_id])


def mark_abandoned_runs(db: sqlite_utils.Database, alive=None) -> list[int]:
    """Runs left 'running' whose process is gone become 'abandoned'; return their ids.

    `alive(pid) -> bool` decides whether a run's process still exists; by default
    every running run is considered dead (call this at scheduler start-up).
    """
    rows = db.execute("SELECT id, pid FROM crawl_runs WHERE status = 'running'").fetchall()
    abandoned = [run_id for run_id, pid in rows if alive is None or not pid or not alive(pid)]
    for run_id in abandoned:
        finish_run(db, run_id, "abandoned", message="process ended without closing the run")
    return abandoned


def running_runs(db: sqlite_utils.Database) -> list[dict]:
    """Runs with status 'running': id, spider, args (JSON text), pid, started_at."""
    return list(db.query("SELECT id, spider, args, pid, started_at FROM crawl_runs"
                         " WHERE status = 'running' ORDER BY id"))


def abandon_run(db: sqlite_utils.Database, run_id: int,
                message: str = "process ended without closing the run") -> bool:
    """Close a run as 'abandoned' unless it was closed meanwhile; True if it was."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE crawl_runs SET status = 'abandoned', finished_at = ?, message = ?"
            " WHERE id = ? AND status = 'running'", [now(), message, run_id])
    return cursor.rowcount > 0


# --- captures (WARC evidence) ------------------------------------------------

CAPTURE_COLUMNS = ("url", "fetched_at", "status", "content_type", "warc_file", "offset",
                   "length", "payload_digest", "record_id")
OK_STATUS_SQL = "c.status BETWEEN 200 AND 299"


def _capture_values(record: Any) -> list[Any]:
    get = record.get if isinstance(record, Mapping) else lambda k: getattr(record, k, None)
    return [get(column) for column in CAPTURE_COLUMNS]


def save_capture(db: sqlite_utils.Database, record: Any, run_id: int | None = None,
                 article_id: int | None = None, source: str = "live") -> int:
    """Upsert one WARC response record (a capture.CaptureRecord or a mapping) on its
    WARC-Record-ID; return the captures row id. An article id links it (never unlinks)."""
    with transaction(db):
        return db.conn.execute(
            f"INSERT INTO captures ({', '.join(CAPTURE_COLUMNS)}, run_id, article_id, source)"
            f" VALUES ({', '.join('?' * (len(CAPTURE_COLUMNS) + 3))})"
            " ON CONFLICT(record_id) DO UPDATE SET"
            " article_id = coalesce(excluded.article_id, captures.article_id),"
            " source = CASE WHEN excluded.source <> 'live' THEN excluded.source"
            " ELSE captures.source END RETURNING id",
            [*_capture_values(record), run_id, article_id, source],
        ).fetchone()[0]


def save_captures(db: sqlite_utils.Database, records: Iterable[Any], run_id: int | None = None,
                  source: str = "live") -> int:
    """save_capture for many records in one transaction; return how many."""
    count = 0
    with transaction(db):
        for record in records:
            save_capture(db, record, run_id, source=source)
            count += 1
    return count


def link_capture(db: sqlite_utils.Database, capture_id: int, article_id: int) -> None:
    with transaction(db):
        db.conn.execute("UPDATE captures SET article_id = ? WHERE id = ?", [article_id, capture_id])


def get_capture(db: sqlite_utils.Database, capture_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM captures WHERE id = ?", [capture_id]))
    return rows[0] if rows else None


def latest_article_captures(db: sqlite_utils.Database, since: str | None = None,
                            outlet_ids: Iterable[str] = ()) -> list[dict]:
    """The latest 2xx capture (not pruned) of each article, fetched at or after `since`,
    of these outlets (all by default): what `reextract` extracts again."""
    outlet_ids = list(outlet_ids)
    where = [f"{OK_STATUS_SQL}", "c.pruned_at IS NULL", "c.article_id IS NOT NULL"]
    params: list[Any] = []
    if since:
        where.append("c.fetched_at >= ?")
        params.append(since)
    if outlet_ids:
        where.append(f"a.outlet_id IN ({', '.join('?' * len(outlet_ids))})")
        params += outlet_ids
    return list(db.query(
        "SELECT * FROM (SELECT c.id AS capture_id, c.article_id, c.url, c.fetched_at,"
        " c.content_type, c.warc_file, c.offset, c.length, a.outlet_id, a.title, a.text,"
        " row_number() OVER (PARTITION BY c.article_id ORDER BY c.fetched_at DESC, c.id DESC)"
        " AS rank FROM captures c JOIN articles a ON a.id = c.article_id"
        f" WHERE {' AND '.join(where)}) WHERE rank = 1 ORDER BY article_id", params,
    ))


REEXTRACTED_FIELDS = ("title", "text", "description", "authors", "modified_at",
                      "language", "links", "content_hash", "warnings")


def save_reextraction(db: sqlite_utils.Database, article_id: int, article: Mapping[str, Any],
                      capture_id: int, fetched_at: str, extractor: str) -> bool:
    """Store a re-extraction of an article's capture when its title or text differ from the
    stored ones: the article's fields and a new version (origin 'reextract', dated by the
    capture). Returns whether anything changed. Its URLs and dates seen stay as they are."""
    values = {field: article.get(field) for field in REEXTRACTED_FIELDS}
    for column in ("authors", "links", "warnings"):
        values[column] = _json(values[column] or [])
    with transaction(db):
        row = db.conn.execute("SELECT title, text, content_hash FROM articles WHERE id = ?",
                              [article_id]).fetchone()
        if row is None or (values["text"], values["title"]) == (row[1], row[0]):
            return False
        if not db.conn.execute(
                "SELECT 1 FROM article_versions WHERE article_id = ?", [article_id]).fetchone():
            _save_version(db, article_id, fetched_at,
                          {"title": row[0], "text": row[1], "content_hash": row[2]})
        db.conn.execute(
            f"UPDATE articles SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
            [*values.values(), article_id],
        )
        _save_version(db, article_id, fetched_at, values, capture_id=capture_id,
                      extractor=extractor, origin="reextract")
    return True


def narrative_captures(db: sqlite_utils.Database, narrative_id: str, since: str | None = None,
                       until: str | None = None) -> list[dict]:
    """Captures (not pruned) of every article that mentions a narrative, fetched within
    [since, until], oldest first, with the article's title."""
    where, params = ["m.narrative_id = ?", "c.pruned_at IS NULL"], [narrative_id]
    if since:
        where.append("c.fetched_at >= ?")
        params.append(since)
    if until:
        where.append("c.fetched_at <= ?")
        params.append(until)
    return list(db.query(
        "SELECT c.id, c.url, c.fetched_at, c.status, c.warc_file, c.offset, c.length,"
        " c.article_id, a.title FROM captures c JOIN mentions m ON m.article_id = c.article_id"
        f" JOIN articles a ON a.id = c.article_id WHERE {' AND '.join(where)}"
        " ORDER BY c.fetched_at, c.id", params,
    ))


UNMATCHED_CAPTURE_SQL = (
    "c.pruned_at IS NULL AND c.fetched_at < ? AND (c.article_id IS NULL OR NOT EXISTS"
    " (SELECT 1 FROM mentions m WHERE m.article_id = c.article_id))"
)


def unmatched_captures(db: sqlite_utils.Database, before: str) -> list[dict]:
    """Captures fetched before `before` that belong to no article mentioning a narrative
    (feeds, sitemaps and failures included): what `prune-captures --unmatched` prunes."""
    return list(db.query(
        f"SELECT c.id, c.warc_file, c.length FROM captures c WHERE {UNMATCHED_CAPTURE_SQL}",
        [before]))


def prune_captures(db: sqlite_utils.Database, capture_ids: Iterable[int]) -> list[str]:
    """Mark captures pruned (the rows stay, with pruned_at); return the WARC files all of
    whose captures are now pruned (the caller deletes them)."""
    ids = list(capture_ids)
    files: set[str] = set()
    at = now()
    with transaction(db):
        for start in range(0, len(ids), 400):
            chunk = ids[start:start + 400]
            marks = ", ".join("?" * len(chunk))
            files.update(row[0] for row in db.conn.execute(
                f"SELECT DISTINCT warc_file FROM captures WHERE id IN ({marks})", chunk))
            db.conn.execute(f"UPDATE captures SET pruned_at = ? WHERE id IN ({marks})",
                            [at, *chunk])
        return sorted(name for name in files if not db.conn.execute(
            "SELECT 1 FROM captures WHERE warc_file = ? AND pruned_at IS NULL", [name]
        ).fetchone())


def capture_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Captures kept and pruned, the WARC files they are in, and the bytes of their records."""
    row = db.execute(
        "SELECT count(*) FILTER (WHERE pruned_at IS NULL),"
        " count(*) FILTER (WHERE pruned_at IS NOT NULL),"
        " count(DISTINCT warc_file) FILTER (WHERE pruned_at IS NULL),"
        " coalesce(sum(length) FILTER (WHERE pruned_at IS NULL), 0) FROM captures").fetchone()
    return dict(zip(("captures", "pruned", "files", "record_bytes"), row, strict=True))


# --- status ----------------------------------------------------------------

COUNTED_TABLES = (
    "outlets", "articles", "article_versions", "narratives", "mentions", "crawl_runs",
    "crawl_errors", "captures",
)


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {table: db[table].count for table in COUNTED_TABLES}


def last_runs(db: sqlite_utils.Database, limit: int = 10) -> list[dict]:
    return list(db.query(
        "SELECT id, spider, status, started_at, finished_at, pages, new_articles,"
        " updated_articles, mentions, errors, message FROM crawl_runs ORDER BY id DESC LIMIT ?",
        [limit],
    ))


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


# --- analysis: stance, stories, citations ------------------------------------


def mention_article(db: sqlite_utils.Database, article_id: int) -> tuple | None:
    """(title, text, language) of an article, as stance reads it."""
    return db.conn.execute(
        "SELECT title, text, language FROM articles WHERE id = ?", [article_id]
    ).fetchone()


def save_stance(db: sqlite_utils.Database, rows: Iterable[tuple]) -> int:
    """Set (article_id, narrative_id, stance, confidence, evidence mapping) on mentions."""
    rows = [(stance, confidence, _json(evidence), article_id, narrative_id)
            for article_id, narrative_id, stance, confidence, evidence in rows]
    with transaction(db):
        db.conn.executemany(
            "UPDATE mentions SET stance = ?, stance_confidence = ?, stance_evidence = ?"
            " WHERE article_id = ? AND narrative_id = ?", rows)
    return len(rows)


def mentions_pending_stance(db: sqlite_utils.Database, narrative_ids: Iterable[str] | None = None,
                            limit: int = 500) -> list[tuple]:
    """Up to ``limit`` mentions whose stance is not computed yet (stance_confidence NULL):
    (article_id, narrative_id, terms, title, text, language)."""
    where, params = "m.stance_confidence IS NULL", []
    if narrative_ids is not None:
        narrative_ids = list(narrative_ids)
        where += f" AND m.narrative_id IN ({', '.join('?' * len(narrative_ids))})"
        params = narrative_ids
    return db.conn.execute(
        "SELECT m.article_id, m.narrative_id, m.terms, a.title, a.text, a.language"
        f" FROM mentions m JOIN articles a ON a.id = m.article_id WHERE {where}"
        " ORDER BY m.narrative_id, m.article_id LIMIT ?", [*params, limit]).fetchall()


def reset_stance(db: sqlite_utils.Database, narrative_ids: Iterable[str] | None = None) -> int:
    """Mark mentions' stance for recomputation (all, or those of these narratives)."""
    with transaction(db):
        if narrative_ids is None:
            return db.conn.execute(
                "UPDATE mentions SET stance_confidence = NULL").rowcount
        narrative_ids = list(narrative_ids)
        return db.conn.execute(
            "UPDATE mentions SET stance_confidence = NULL WHERE narrative_id IN"
            f" ({', '.join('?' * len(narrative_ids))})", narrative_ids).rowcount


def story_date(db: sqlite_utils.Database, article_id: int) -> str | None:
    """The date a story is rooted by: the article's timeline time (article_dates.sorted_at)."""
    row = db.conn.execute(
        "SELECT sorted_at FROM article_dates WHERE article_id = ?", [article_id]).fetchone()
    return row[0] if row else None


def story_candidates(db: sqlite_utils.Database, keys: Iterable[int]) -> set[int]:
    keys = list(keys)
    return {row[0] for row in db.conn.execute(
        f"SELECT DISTINCT article_id FROM story_buckets WHERE bucket IN ({', '.join('?' * len(keys))})",
        keys)}


def story_entry(db: sqlite_utils.Database, article_id: int) -> tuple | None:
    """(signature, date, story_id) of an indexed article."""
    return db.conn.execute(
        "SELECT signature, date, story_id FROM story_signatures WHERE article_id = ?",
        [article_id]).fetchone()


def story_put(db: sqlite_utils.Database, article_id: int, keys: Iterable[int],
              signature: bytes, date: str | None, story_id: int) -> None:
    """Index an article's signature under its band keys and set its story."""
    db.conn.executemany("INSERT INTO story_buckets (bucket, article_id) VALUES (?, ?)",
                        [(key, article_id) for key in keys])
    db.conn.execute(
        "INSERT OR REPLACE INTO story_signatures (article_id, signature, date, story_id)"
        " VALUES (?, ?, ?, ?)", [article_id, signature, date, story_id])
    set_story(db, article_id, story_id)


def story_remove(db: sqlite_utils.Database, article_id: int) -> None:
    if db.conn.execute("DELETE FROM story_signatures WHERE article_id = ?", [article_id]).rowcount:
        db.conn.execute("DELETE FROM story_buckets WHERE article_id = ?", [article_id])


def story_rename(db: sqlite_utils.Database, old: Iterable[int], new: int) -> None:
    """Members of the ``old`` stories now belong to story ``new``."""
    old = list(old)
    marks = ", ".join("?" * len(old))
    db.conn.execute(f"UPDATE story_signatures SET story_id = ? WHERE story_id IN ({marks})",
                    [new, *old])
    db.conn.execute(f"UPDATE articles SET story_id = ? WHERE story_id IN ({marks})", [new, *old])


def set_story(db: sqlite_utils.Database, article_id: int, story_id: int) -> None:
    db.conn.execute("UPDATE articles SET story_id = ? WHERE id = ? AND story_id IS NOT ?",
                    [story_id, article_id, story_id])


def clear_stories(db: sqlite_utils.Database) -> None:
    """Empty the story index (restory rebuilds it); articles keep their story_id meanwhile."""
    with transaction(db):
        db.conn.execute("DELETE FROM story_buckets")
        db.conn.execute("DELETE FROM story_signatures")


def articles_in_story_order(db: sqlite_utils.Database, batch: int = 500) -> Iterator[tuple]:
    """Every article as (id, text, story date), oldest first, read ``batch`` at a time.

    The order is fixed once in a temp table of ids (not texts), so memory stays bounded
    and writes made while reading do not move the cursor."""
    db.conn.execute("DROP TABLE IF EXISTS temp.story_order")
    db.conn.execute(
        "CREATE TEMP TABLE story_order AS SELECT article_id, sorted_at FROM article_dates"
        " ORDER BY sorted_at IS NULL, sorted_at, article_id")
    last = 0
    while True:
        rows = db.conn.execute(
            "SELECT o.rowid, o.article_id, a.text, o.sorted_at FROM temp.story_order o"
            " JOIN articles a ON a.id = o.article_id WHERE o.rowid > ? ORDER BY o.rowid LIMIT ?",
            [last, batch]).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for _, article_id, text, date in rows:
            yield article_id, text, date
    db.conn.execute("DROP TABLE IF EXISTS temp.story_order")


def save_citations(db: sqlite_utils.Database, article_id: int, citations: Iterable[Any]) -> int:
    """Replace an article's citations (analysis.citations.Citation or mappings); a link's
    target_article_id is the archived article with that canonical URL, if any."""
    rows = []
    for citation in citations:
        get = citation.get if isinstance(citation, Mapping) else lambda k, c=citation: getattr(c, k)
        rows.append((article_id, get("kind"), get("target_url"), get("source_name"),
                     get("outlet_id"), get("sentence")))
    with transaction(db):
        db.conn.execute("DELETE FROM citations WHERE article_id = ?", [article_id])
        db.conn.executemany(
            "INSERT INTO citations (article_id, kind, target_url, source_name, outlet_id,"
            " sentence, target_article_id) VALUES (?, ?, ?, ?, ?, ?,"
            " (SELECT id FROM articles WHERE canonical_url = ?3))", rows)
    return len(rows)


def resolve_citations_to(db: sqlite_utils.Database, article_id: int) -> int:
    """Citations of this article's URL (canonical or as fetched) now point at it."""
    with transaction(db):
        return db.conn.execute(
            "UPDATE citations SET target_article_id = :id"
            " WHERE target_article_id IS NULL AND target_url IN"
            " (SELECT canonical_url FROM articles WHERE id = :id"
            "  UNION SELECT url FROM articles WHERE id = :id)", {"id": article_id}).rowcount


def articles_for_citations(db: sqlite_utils.Database, batch: int = 500) -> Iterator[tuple]:
    """Every article as (id, text, links JSON, language), by id, ``batch`` at a time."""
    last = 0
    while True:
        rows = db.conn.execute(
            "SELECT id, text, links, language FROM articles WHERE id > ? ORDER BY id LIMIT ?",
            [last, batch]).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        yield from rows


def resolve_all_citations(db: sqlite_utils.Database) -> int:
    """Point every link citation at the archived article with its URL (after a recite);
    returns how many point at one."""
    with transaction(db):
        db.conn.execute(
            "UPDATE citations SET target_article_id = coalesce("
            " (SELECT id FROM articles WHERE canonical_url = citations.target_url),"
            " (SELECT min(id) FROM articles WHERE url = citations.target_url))"
            " WHERE target_url IS NOT NULL")
    return db.conn.execute(
        "SELECT count(*) FROM citations WHERE target_article_id IS NOT NULL").fetchone()[0]


def article_analysis(db: sqlite_utils.Database, article_id: int) -> dict[str, list[dict]]:
    """What the article page shows: the other copies of its story, what it cites and who cites it."""
    copies = list(db.query(
        "SELECT c.id AS article_id, c.title, c.url, c.outlet_id, o.name AS outlet,"
        " d.dated_at, c.id = c.story_id AS original"
        " FROM articles a JOIN articles c ON c.story_id = a.story_id AND c.id != a.id"
        " JOIN article_dates d ON d.article_id = c.id LEFT JOIN outlets o ON o.id = c.outlet_id"
        " WHERE a.id = ? ORDER BY d.sorted_at, c.id LIMIT 100", [article_id]))
    cites = list(db.query(
        "SELECT c.kind, c.source_name, c.outlet_id, c.target_url, c.target_article_id,"
        " t.title AS target_title, c.sentence FROM citations c"
        " LEFT JOIN articles t ON t.id = c.target_article_id"
        " WHERE c.article_id = ? ORDER BY c.target_article_id IS NULL, c.id LIMIT 200",
        [article_id]))
    cited_by = list(db.query(
        "SELECT c.article_id, a.title, a.url, o.name AS outlet, d.dated_at, c.kind, c.sentence"
        " FROM citations c JOIN articles a ON a.id = c.article_id"
        " JOIN article_dates d ON d.article_id = a.id LEFT JOIN outlets o ON o.id = a.outlet_id"
        " WHERE c.target_article_id = ? ORDER BY d.sorted_at, a.id LIMIT 200", [article_id]))
    return {"copies": copies, "cites": cites, "cited_by": cited_by}


def stance_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Mentions per stance ("none" for a mention no cue could label)."""
    return dict(db.conn.execute(
        "SELECT coalesce(stance, 'none'), count(*) FROM mentions GROUP BY 1").fetchall())


# --- bulk import -----------------------------------------------------------

BULK_FIELDS = ARTICLE_FIELDS + ("outlet_id",)


def save_articles_bulk(db: sqlite_utils.Database, articles: Iterable[Mapping[str, Any]],
                       via: str = "import", fetched_at: str | None = None) -> dict[str, int]:
    """Upsert many articles on their canonical URL in one transaction (executemany).

    Same outcomes as save_article: a new URL is inserted; a known one whose title
    or text changed keeps its old text as a version and takes the new one; an
    unchanged one only fills a missing published_at or modified_at (an import
    does not move last_seen_at). An article's own first_seen_at / fetched_at
    (from the collection) is kept, else `fetched_at` (now). A new article gets
    no article_versions row: the first version is the row itself, and
    save_article saves it as a version before any change.
    Returns {"new", "updated", "unchanged"}.
    """
    fetched_at = fetched_at or now()
    rows: dict[str, dict[str, Any]] = {}
    for article in articles:
        values = {field: article.get(field) for field in BULK_FIELDS}
        for field in ("authors", "links", "warnings"):
            values[field] = _json(values[field] or [])
        seen = article.get("first_seen_at") or article.get("fetched_at") or fetched_at
        values["first_seen_at"] = seen
        values["fetched_at"] = article.get("fetched_at") or seen
        rows[article.get("canonical_url") or article["url"]] = values
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    if not rows:
        return counts
    with transaction(db):
        error_mark = db.conn.execute("SELECT max(id) FROM crawl_errors").fetchone()[0] or 0
        existing: dict[str, tuple] = {}
        keys = list(rows)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            existing.update(
                (row[0], row[1:]) for row in db.conn.execute(
                    "SELECT canonical_url, id, title, text, content_hash FROM articles"
                    f" WHERE canonical_url IN ({', '.join('?' * len(chunk))})", chunk))
        new = [(canonical, via, values["first_seen_at"], values["first_seen_at"],
                values["fetched_at"], error_mark, *(values[f] for f in BULK_FIELDS))
               for canonical, values in rows.items() if canonical not in existing]
        db.conn.executemany(
            "INSERT INTO articles (canonical_url, via, first_seen_at, last_seen_at, fetched_at,"
            f" fetched_after_error_id, {', '.join(BULK_FIELDS)})"
            f" VALUES (?, ?, ?, ?, ?, ?, {', '.join('?' * len(BULK_FIELDS))})", new)
        counts["new"] = len(new)
        unchanged = []
        for canonical, (article_id, old_title, old_text, old_hash) in existing.items():
            values = rows[canonical]
            if (values["text"], values["title"]) == (old_text, old_title):
                unchanged.append((values["published_at"], values["modified_at"], article_id))
                continue
            if not db.conn.execute("SELECT 1 FROM article_versions WHERE article_id = ?",
                                   [article_id]).fetchone():
                _save_version(db, article_id, fetched_at,
                              {"title": old_title, "text": old_text, "content_hash": old_hash})
            assignments = ", ".join(f"{field} = ?" for field in ARTICLE_FIELDS)
            db.conn.execute(
                f"UPDATE articles SET {assignments}, last_seen_at = ?, fetched_at = ?,"
                " outlet_id = coalesce(outlet_id, ?) WHERE id = ?",
                [*(values[f] for f in ARTICLE_FIELDS), fetched_at, fetched_at,
                 values["outlet_id"], article_id])
            _save_version(db, article_id, fetched_at, values,
                          origin="import" if via == "import" else None)
            counts["updated"] += 1
        db.conn.executemany(
            "UPDATE articles SET published_at = coalesce(published_at, ?),"
            " modified_at = coalesce(modified_at, ?) WHERE id = ?", unchanged)
        counts["unchanged"] = len(unchanged)
    return counts
