"""Migrations 1-12: collecting. The core tables, the indexes crawling needs, mention
history, revisits."""

from __future__ import annotations

from narrative_archive.fts import ARCHIVE_FTS_SQL

FIRST = 1  # the version this module's first entry migrates to

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
]
