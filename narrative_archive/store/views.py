"""The archive's views: one registry, name -> SQL, in dependency order.

`ensure_views` drops and recreates them all whenever one differs from its entry here
(github-to-sqlite's ensure_db_shape does the same), so changing a view is an edit of
its entry, never a migration. Tables, indexes and triggers are migrations/.
"""

from __future__ import annotations

import sqlite3

# The archive's time format, in SQL.
NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

# A view may read the views above it, never one below. An article's place on a timeline
# (timeline_date, timeline_at, timeline_day) is defined once, as generated columns on
# articles (migration 22); article_dates names them as the views and timelines read them.
VIEWS: dict[str, str] = {
    "article_dates": """
        SELECT a.id AS article_id, a.outlet_id, a.timeline_date AS dated_at,
               a.timeline_day AS day,
               CASE WHEN a.published_at IS NOT NULL THEN 'published'
                    WHEN a.archived_at IS NOT NULL THEN 'archived'
                    ELSE 'first_seen' END AS date_source,
               CASE WHEN length(a.timeline_date) = 10 THEN 'day' ELSE 'second' END
                 AS date_precision,
               a.timeline_at AS sorted_at
        FROM articles a
    """,
    "mention_articles": """
        SELECT m.narrative_id, m.narrative_version, d.day, d.dated_at, d.date_source,
               a.id AS article_id, a.title, a.url, a.outlet_id, o.name AS outlet,
               o.country, o.kind AS outlet_kind, o.state_affiliated, a.language,
               a.published_at, a.first_seen_at, m.matched_at, m.snippet, m.terms,
               a.content_hash, d.date_precision, d.sorted_at,
               m.stance, m.stance_confidence, m.stance_evidence, m.stance_speaker,
               m.stance_speaker_name, m.matched_by,
               coalesce(a.story_id, a.id) AS story_id,
               a.via, a.archived_at, a.archive_url, a.archive_source
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id
    """,
    # one row per narrative version a mention held in, read from its spans (migration 26)
    "mention_history": """
        SELECT s.article_id, s.narrative_id, v.version AS narrative_version, s.matched_at,
               s.snippet, s.removed_at, s.removed_in_version, s.stance
        FROM mention_spans s
        JOIN narrative_versions v ON v.narrative_id = s.narrative_id
         AND v.version >= s.first_version
         AND v.version <= coalesce(s.last_version, (
             SELECT m.narrative_version FROM mentions m
             WHERE m.article_id = s.article_id AND m.narrative_id = s.narrative_id))
    """,
    "narrative_daily": """
        SELECT narrative_id AS narrative, day, sum(articles) AS articles,
               count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, day
    """,
    "narrative_weekly": """
        SELECT narrative_id AS narrative, date(day, 'weekday 0', '-6 days') AS week,
               sum(articles) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, week
    """,
    "narrative_monthly": """
        SELECT narrative_id AS narrative, substr(day, 1, 7) AS month,
               sum(articles) AS articles, count(DISTINCT story_id) AS stories,
               count(DISTINCT nullif(outlet_id, '')) AS outlets
        FROM narrative_day_counts GROUP BY narrative_id, month
    """,
    "narrative_first_seen": """
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
        WHERE f.rank = 1
    """,
    "export_mentions": """
        SELECT m.narrative_id, m.narrative_version, m.article_id, a.title, a.url,
               a.canonical_url, d.dated_at, d.date_source, d.date_precision, d.day,
               a.published_at, a.first_seen_at, a.modified_at, m.matched_at,
               a.outlet_id, o.name AS outlet, o.country, o.kind AS outlet_kind, o.owner,
               o.state_affiliated, a.language AS article_language,
               o.language AS outlet_language, a.authors, a.via, a.archived_at,
               a.archive_url, a.archive_source, a.status,
               m.stance, m.stance_confidence, m.stance_evidence, m.stance_speaker,
               m.stance_speaker_name, m.matched_by,
               coalesce(a.story_id, a.id) AS story_id, m.terms, m.snippet, a.content_hash,
               a.text
        FROM mentions m
        JOIN articles a ON a.id = m.article_id
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id
    """,
    "narrative_outlets": """
        SELECT narrative_id AS narrative, outlet_id AS outlet, outlet AS outlet_name,
               country, outlet_kind, state_affiliated, count(*) AS mentions,
               count(DISTINCT story_id) AS stories,
               sum(stance = 'asserts') AS asserts, sum(stance = 'reports') AS reports,
               sum(stance = 'disputes') AS disputes,
               -- sorted_at is 20 characters: the earliest and latest by it, as written
               substr(min(sorted_at || dated_at), 21) AS first_dated_at,
               substr(max(sorted_at || dated_at), 21) AS last_dated_at
        FROM mention_articles GROUP BY narrative_id, outlet_id
    """,
    "story_copies": """
        SELECT coalesce(a.story_id, a.id) AS story_id, a.id AS article_id,
               a.id = coalesce(a.story_id, a.id) AS original, a.outlet_id, o.name AS outlet,
               a.title, a.url, d.dated_at, d.sorted_at,
               (SELECT count(*) FROM articles c WHERE c.story_id = coalesce(a.story_id, a.id))
                 AS copies
        FROM articles a
        JOIN article_dates d ON d.article_id = a.id
        LEFT JOIN outlets o ON o.id = a.outlet_id
        WHERE EXISTS (SELECT 1 FROM articles c
                      WHERE c.story_id = coalesce(a.story_id, a.id) AND c.id != a.id)
    """,
    "narrative_citations": """
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
          AND c.outlet_id IS NOT ci.outlet_id
    """,
    "narrative_origins": """
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
                            AND nc.citing_article_id = m.article_id)
    """,
    "outlet_attention": """
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
        LEFT JOIN outlets o ON o.id = h.outlet_id
    """,
    "outlet_daily": """
        SELECT outlet_id AS outlet, day, count(*) AS articles
        FROM article_dates GROUP BY outlet_id, day
    """,
    "syndicated_copies": """
        SELECT content_hash, count(*) AS copies, count(DISTINCT outlet_id) AS outlets,
               min(first_seen_at) AS first_seen_at, group_concat(url, ' ') AS urls
        FROM articles WHERE content_hash IS NOT NULL
        GROUP BY content_hash HAVING count(*) > 1
    """,
    "outlet_health": """
        SELECT o.id AS outlet, o.name,
               (SELECT max(fetched_at) FROM articles WHERE outlet_id = o.id) AS last_fetched_at,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS articles_24h,
               (SELECT count(*) FROM articles WHERE outlet_id = o.id
                  AND first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')) AS articles_7d,
               (SELECT count(*) FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.kind = 'error'
                  AND e.id > coalesce((SELECT fetched_after_error_id FROM articles
                                       WHERE outlet_id = o.id
                                       ORDER BY fetched_at DESC, fetched_after_error_id DESC
                                       LIMIT 1), 0)
                  AND e.at >= coalesce((SELECT max(fetched_at) FROM articles
                                        WHERE outlet_id = o.id), '')
               ) AS consecutive_failures,
               (SELECT max(at) FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.kind = 'error') AS last_error_at,
               (SELECT reason FROM crawl_errors e WHERE e.outlet_id = o.id
                  AND e.kind = 'error' ORDER BY e.at DESC, e.id DESC LIMIT 1) AS last_error
        FROM outlets o WHERE o.configured = 1
    """,
}


def view_sql(name: str) -> str:
    """The CREATE VIEW statement for a registered view, as sqlite_master keeps it."""
    return f"CREATE VIEW {name} AS\n{VIEWS[name].strip()}"


def ensure_views(conn: sqlite3.Connection) -> bool:
    """Make the archive's views those of VIEWS; return whether any had to change.

    Views are dropped and recreated together inside one transaction, since a view
    that reads another is only as current as the one it reads.
    """
    stored = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
    if all(stored.get(name) == view_sql(name) for name in VIEWS):
        return False
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        stored = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
        if all(stored.get(name) == view_sql(name) for name in VIEWS):
            return False  # another process got here first
        for name in reversed(VIEWS):
            conn.execute(f"DROP VIEW IF EXISTS {name}")
        for name in VIEWS:
            conn.execute(view_sql(name))
    return True
