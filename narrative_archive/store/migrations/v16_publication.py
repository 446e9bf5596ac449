"""Migrations 16-: the published archive. Day counts kept by triggers, the job of a
run, an article's place on a timeline as generated columns."""

from __future__ import annotations

FIRST = 16  # the version this module's first entry migrates to

# the day count a removed or moved mention (its `old` row) leaves: one fewer, gone at zero
_OLD_DAY_COUNT_DOWN = """\
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT a.timeline_day, coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM articles a WHERE a.id = old.article_id);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT a.timeline_day, coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM articles a WHERE a.id = old.article_id)
              AND articles <= 0;
"""

MIGRATIONS: list[str] = [
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
    # 18: who disputes or asserts a mention's claim (issue 19): outlet, official or unnamed,
    # and the speaker's words; stance is read anew by the article's frame, so every
    # mention's stance is pending (`analyse --stance` or the next rematch computes it)
    """
    ALTER TABLE mentions ADD COLUMN stance_speaker TEXT;
    ALTER TABLE mentions ADD COLUMN stance_speaker_name TEXT;
    UPDATE mentions SET stance_confidence = NULL;
    """,
    # 19: pages a crawl decided not to fetch (robots.txt, off-site redirects, caps) are
    # crawl_errors of kind 'skipped', counted apart from failures in crawl_runs.skipped
    """
    ALTER TABLE crawl_errors ADD COLUMN kind TEXT NOT NULL DEFAULT 'error';
    ALTER TABLE crawl_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
    """,
    # 20 (issue 20): the full-text index declared as stock Datasette and sqlite-utils look
    # for it, content="articles" (they miss content='articles' in single quotes, so stock
    # Datasette ignored ?_search= and `sqlite-utils search` refused the table). FTS5 reads
    # both the same: only the text kept in sqlite_master changes (fts.fts_table_sql now
    # writes double quotes, so an archive created since has it from migration 1), no row of
    # the index is rewritten. Idempotent: a declaration already double-quoted is left alone.
    """
    PRAGMA writable_schema = ON;
    UPDATE sqlite_master
       SET sql = replace(replace(sql, 'content=''articles''', 'content="articles"'),
                         'content_rowid=''id''', 'content_rowid="id"')
     WHERE type = 'table' AND name = 'articles_fts' AND sql LIKE '%content=''articles''%';
    PRAGMA writable_schema = OFF;
    """,
    # 21: the fleet (issue 23): the Scrapyd node a run ran on, and the ledger of ingested
    # batches (each batch ingested once, by its id)
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
    # 22: an article's place on a timeline, defined once: generated columns on articles
    # that the day-count triggers (recreated here) and views.py's views read. timeline_date
    # is what the page says, else an archived copy's capture, else when we first saw it;
    # timeline_at is that as a UTC time, a day-only date at the latest moment it can be
    # (when we first saw or captured the article that day, else the day's end);
    # timeline_day is its day. The values are migration 16's, so the counts stand.
    # (strftime() of 'now' fails in a generated column: such a date is kept as written.)
    """
    ALTER TABLE articles ADD COLUMN timeline_date TEXT
        GENERATED ALWAYS AS (coalesce(published_at, archived_at, first_seen_at)) VIRTUAL;
    ALTER TABLE articles ADD COLUMN timeline_at TEXT
        GENERATED ALWAYS AS (CASE WHEN length(timeline_date) = 10
            THEN max(timeline_date || 'T00:00:00Z', min(timeline_date || 'T23:59:59Z',
                     min(first_seen_at, coalesce(archived_at, first_seen_at))))
            ELSE coalesce(strftime('%Y-%m-%dT%H:%M:%SZ',
                                   CASE WHEN timeline_date NOT LIKE 'now' THEN timeline_date END),
                          timeline_date)
            END) VIRTUAL;
    ALTER TABLE articles ADD COLUMN timeline_day TEXT
        GENERATED ALWAYS AS (substr(timeline_at, 1, 10)) VIRTUAL;
    DROP TRIGGER mentions_day_counts_ai;
    DROP TRIGGER mentions_day_counts_ad;
    DROP TRIGGER mentions_day_counts_au;
    DROP TRIGGER articles_day_counts_bd;
    DROP TRIGGER articles_day_counts_au;
    CREATE TRIGGER mentions_day_counts_ai AFTER INSERT ON mentions BEGIN
        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT new.narrative_id, a.timeline_day, coalesce(a.outlet_id, ''),
                   coalesce(a.story_id, a.id), 1
            FROM articles a WHERE a.id = new.article_id
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    CREATE TRIGGER mentions_day_counts_ad AFTER DELETE ON mentions BEGIN
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT a.timeline_day, coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM articles a WHERE a.id = old.article_id);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = old.narrative_id AND articles <= 0;
    END;
    CREATE TRIGGER mentions_day_counts_au AFTER UPDATE OF article_id, narrative_id ON mentions
        BEGIN
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE narrative_id = old.narrative_id
              AND (day, outlet_id, story_id) = (
                  SELECT a.timeline_day, coalesce(a.outlet_id, ''), coalesce(a.story_id, a.id)
                  FROM articles a WHERE a.id = old.article_id);
        DELETE FROM narrative_day_counts
            WHERE narrative_id = old.narrative_id AND articles <= 0;
        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT new.narrative_id, a.timeline_day, coalesce(a.outlet_id, ''),
                   coalesce(a.story_id, a.id), 1
            FROM articles a WHERE a.id = new.article_id
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    CREATE TRIGGER articles_day_counts_bd BEFORE DELETE ON articles BEGIN
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE day = old.timeline_day AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id)
              AND narrative_id IN (SELECT narrative_id FROM mentions WHERE article_id = old.id);
        DELETE FROM narrative_day_counts
            WHERE day = old.timeline_day AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id) AND articles <= 0;
    END;
    CREATE TRIGGER articles_day_counts_au
        AFTER UPDATE OF published_at, archived_at, first_seen_at, outlet_id, story_id
        ON articles
        WHEN old.timeline_day IS NOT new.timeline_day OR old.outlet_id IS NOT new.outlet_id
          OR old.story_id IS NOT new.story_id
        BEGIN
        UPDATE narrative_day_counts SET articles = articles - 1
            WHERE day = old.timeline_day AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id)
              AND narrative_id IN (SELECT narrative_id FROM mentions WHERE article_id = old.id);
        DELETE FROM narrative_day_counts
            WHERE day = old.timeline_day AND outlet_id = coalesce(old.outlet_id, '')
              AND story_id = coalesce(old.story_id, old.id) AND articles <= 0;
        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT m.narrative_id, new.timeline_day, coalesce(new.outlet_id, ''),
                   coalesce(new.story_id, new.id), 1
            FROM mentions m WHERE m.article_id = new.id
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    """,
    # 23: a mention removed deletes only its own day count when that reaches zero; the
    # triggers swept every count of the narrative for zeros, a scan per mention removed,
    # so a rematch that removed many mentions of a large narrative was quadratic
    f"""
    DROP TRIGGER mentions_day_counts_ad;
    DROP TRIGGER mentions_day_counts_au;
    CREATE TRIGGER mentions_day_counts_ad AFTER DELETE ON mentions BEGIN
{_OLD_DAY_COUNT_DOWN}    END;
    CREATE TRIGGER mentions_day_counts_au AFTER UPDATE OF article_id, narrative_id ON mentions
        BEGIN
{_OLD_DAY_COUNT_DOWN}        INSERT INTO narrative_day_counts (narrative_id, day, outlet_id, story_id, articles)
            SELECT new.narrative_id, a.timeline_day, coalesce(a.outlet_id, ''),
                   coalesce(a.story_id, a.id), 1
            FROM articles a WHERE a.id = new.article_id
            ON CONFLICT DO UPDATE SET articles = articles + 1;
    END;
    """,
    # 24 (issue 21): the crawl writer indexes the articles of a batch for search in one
    # statement before its commit (store.fts_deferred), as the import does. While its
    # transaction holds a fts_deferred row (never committed: deleted before the commit,
    # so no other connection ever sees one), the insert trigger leaves new articles to
    # it, and the update and delete triggers leave alone the rows inserted in the batch
    # (id > after_id), which are not in the index yet. Every other writer is as before.
    """
    CREATE TABLE fts_deferred (after_id INTEGER NOT NULL);
    DROP TRIGGER articles_ai;
    DROP TRIGGER articles_ad;
    DROP TRIGGER articles_au;
    CREATE TRIGGER articles_ai AFTER INSERT ON articles
        WHEN NOT EXISTS (SELECT 1 FROM fts_deferred) BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    CREATE TRIGGER articles_ad AFTER DELETE ON articles
        WHEN NOT EXISTS (SELECT 1 FROM fts_deferred WHERE old.id > after_id) BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
    END;
    CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
        WHEN NOT EXISTS (SELECT 1 FROM fts_deferred WHERE old.id > after_id) BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    """,
    # 25 (issue 21): the articles a narrative's claim rule read and rejected, so a rematch
    # reads only the candidates it has not read yet (most of a topical archive is a
    # candidate: match.claim). `claim_rules` holds the rule (its configuration and reader,
    # match.claim.rule_key) those verdicts are of: another rule empties them. An article
    # whose title, text or language changes, or that goes, loses its verdicts.
    """
    CREATE TABLE claim_rejections (
        article_id INTEGER NOT NULL,
        narrative_id TEXT NOT NULL,
        PRIMARY KEY (article_id, narrative_id)
    ) WITHOUT ROWID;
    CREATE TABLE claim_rules (narrative_id TEXT PRIMARY KEY, rule TEXT NOT NULL);
    CREATE TRIGGER claim_rejections_au AFTER UPDATE OF title, text, language ON articles
        WHEN old.title IS NOT new.title OR old.text IS NOT new.text
            OR old.language IS NOT new.language BEGIN
        DELETE FROM claim_rejections WHERE article_id = old.id;
    END;
    CREATE TRIGGER claim_rejections_ad AFTER DELETE ON articles BEGIN
        DELETE FROM claim_rejections WHERE article_id = old.id;
    END;
    """,
]
