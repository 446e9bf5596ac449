"""Captures: the WARC response records an article's versions came from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from narrative_archive.store.articles import _save_version
from narrative_archive.store.db import _json, transaction
from narrative_archive.times import now

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
