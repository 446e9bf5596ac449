"""Revisits: which articles are due, and what a re-fetch found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from narrative_archive.store.articles import ARTICLE_FIELDS, _save_version
from narrative_archive.store.db import _json, transaction
from narrative_archive.times import TIME_FORMAT as _TIME
from narrative_archive.times import now

# --- revisits --------------------------------------------------------------

REVISIT_OUTCOMES = ("unchanged", "edited", "moved", "gone", "blocked", "failing")
ARTICLE_STATUSES = ("live", "edited", "moved", "gone")


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
    where: list[str] = []
    params: dict[str, Any] = {"at": at or now()}
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


def article_revisits(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    """Every revisit of an article, newest first."""
    return list(db.query(
        "SELECT id, checked_at, outcome, http_status, new_url, run_id, detail FROM revisits"
        " WHERE article_id = ? ORDER BY checked_at DESC, id DESC", [article_id]))
