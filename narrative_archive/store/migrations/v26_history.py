"""Migrations 26-: the mention history kept as spans of versions."""

from __future__ import annotations

FIRST = 26  # the version this module's first entry migrates to

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
# a span that begins with the mention's version (or takes its snippet and stance, when it
# began there)
_OPEN_SPAN = f"""
    INSERT INTO mention_spans (article_id, narrative_id, first_version, matched_at, snippet,
                               stance)
        VALUES (new.article_id, new.narrative_id, new.narrative_version, {_NOW}, new.snippet,
                new.stance)
        ON CONFLICT DO UPDATE SET removed_at = NULL, removed_in_version = NULL,
                                  last_version = NULL, stance = excluded.stance,
                                  snippet = excluded.snippet;"""

MIGRATIONS: list[str] = [
    # 26 (issue 21): the mention history as spans of versions. A mention kept by a new
    # version of its narrative's query with the same snippet and stance (most of them, in a
    # tuning round) writes no history row: its open span (last_version NULL) runs on to the
    # mention's version, and holds the mention's snippet and stance. A new snippet or stance
    # ends the span and opens another (or, in a span that began with this version, takes
    # their place); a mention that goes closes its span as removed. The view mention_history (views.VIEWS) reads
    # the spans as the rows it held before: one per narrative version a mention held in.
    f"""
    CREATE TABLE mention_spans (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        narrative_id TEXT NOT NULL REFERENCES narratives(id) ON DELETE CASCADE,
        first_version INTEGER NOT NULL,
        last_version INTEGER,
        matched_at TEXT NOT NULL,
        snippet TEXT,
        stance TEXT,
        removed_at TEXT,
        removed_in_version INTEGER,
        PRIMARY KEY (article_id, narrative_id, first_version)
    );
    CREATE INDEX mention_spans_narrative ON mention_spans(narrative_id, first_version);
    INSERT INTO mention_spans (article_id, narrative_id, first_version, last_version,
                               matched_at, snippet, stance, removed_at, removed_in_version)
    WITH positions AS (
        SELECT narrative_id, version,
               row_number() OVER (PARTITION BY narrative_id ORDER BY version) AS position
        FROM narrative_versions
    ), held AS (
        SELECT h.*, p.position FROM mention_history h
        LEFT JOIN positions p ON p.narrative_id = h.narrative_id
                             AND p.version = h.narrative_version
    ), marked AS (
        SELECT *, CASE WHEN lag(position) OVER w = position - 1
                        AND lag(snippet) OVER w IS snippet AND lag(stance) OVER w IS stance
                        AND lag(removed_at) OVER w IS removed_at
                        AND lag(removed_in_version) OVER w IS removed_in_version
                       THEN 0 ELSE 1 END AS starts
        FROM held WINDOW w AS (PARTITION BY article_id, narrative_id ORDER BY narrative_version)
    ), spans AS (
        SELECT *, sum(starts) OVER (PARTITION BY article_id, narrative_id
                                    ORDER BY narrative_version ROWS UNBOUNDED PRECEDING) AS span
        FROM marked
    )
    SELECT s.article_id, s.narrative_id, min(s.narrative_version),
           CASE WHEN s.removed_at IS NULL AND max(s.narrative_version) = (
                    SELECT m.narrative_version FROM mentions m
                    WHERE m.article_id = s.article_id AND m.narrative_id = s.narrative_id)
                THEN NULL ELSE max(s.narrative_version) END,
           min(s.matched_at), s.snippet, s.stance, s.removed_at, s.removed_in_version
    FROM spans s GROUP BY s.article_id, s.narrative_id, s.span;
    DROP TRIGGER mentions_history_ai;
    DROP TRIGGER mentions_history_au;
    DROP TRIGGER mentions_history_ad;
    DROP TRIGGER mentions_history_stance;
    DROP TABLE mention_history;
    CREATE TRIGGER mention_spans_ai AFTER INSERT ON mentions BEGIN
        -- back in the version it went in: what it held before ends before this version
        UPDATE mention_spans SET last_version = new.narrative_version - 1
            WHERE article_id = new.article_id AND narrative_id = new.narrative_id
              AND last_version >= new.narrative_version AND first_version < new.narrative_version;
        {_OPEN_SPAN}
    END;
    CREATE TRIGGER mention_spans_au AFTER UPDATE OF narrative_version, snippet, stance ON mentions
        WHEN new.snippet IS NOT old.snippet OR new.stance IS NOT old.stance BEGIN
        -- the open span ends with the version before: the mention's last one, or this one's
        -- predecessor when the snippet or stance changes within a version
        UPDATE mention_spans SET last_version = CASE
                WHEN new.narrative_version IS NOT old.narrative_version THEN old.narrative_version
                ELSE new.narrative_version - 1 END
            WHERE article_id = new.article_id AND narrative_id = new.narrative_id
              AND last_version IS NULL AND removed_at IS NULL
              AND first_version < new.narrative_version;
        {_OPEN_SPAN}
    END;
    CREATE TRIGGER mention_spans_ad AFTER DELETE ON mentions BEGIN
        UPDATE mention_spans SET removed_at = {_NOW},
               removed_in_version = (SELECT version FROM narratives WHERE id = old.narrative_id),
               last_version = coalesce(last_version, old.narrative_version)
            WHERE article_id = old.article_id AND narrative_id = old.narrative_id
              AND removed_at IS NULL;
    END;
    """,
]
