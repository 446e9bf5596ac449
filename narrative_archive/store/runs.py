"""Crawl runs and their errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from narrative_archive.store.db import _json, transaction
from narrative_archive.times import now

# --- crawl runs ------------------------------------------------------------

RUN_COUNTERS = ("pages", "new_articles", "updated_articles", "mentions", "errors", "warnings")
# ok: ran to its end; interrupted: cut short by a signal (Ctrl-C, SIGTERM, the scheduler
# stopping) after a graceful close; failed: nothing could be fetched or it crashed;
# timeout: stopped by the scheduler's wall clock; abandoned: its process died unclosed.
RUN_STATUSES = ("running", "ok", "interrupted", "failed", "timeout", "abandoned")
# A crawl_errors row is a failure ('error': counted in crawl_runs.errors and outlet_health,
# not retried within NARRATIVE_ARCHIVE_REFETCH_AFTER) or a page the crawl decided not to
# fetch ('skipped': robots.txt, an off-site redirect, a per-outlet cap; counted in
# crawl_runs.skipped, and asked again by the next run).
ERROR_KINDS = ("error", "skipped")


def start_run(db: sqlite_utils.Database, spider: str, args: Mapping[str, Any] | None = None,
              pid: int | None = None, job: str | None = None) -> int:
    """Record a crawl run as running; return its id. `job` is the scheduled job it
    belongs to (None for a manual crawl; a "job" in `args` counts, as archives
    before migration 17 recorded it)."""
    args = dict(args or {})
    if job is None and isinstance(args.get("job"), str):
        job = args["job"]
    with transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO crawl_runs (spider, args, started_at, status, pid, job)"
            " VALUES (?, ?, ?, 'running', ?, ?)",
            [spider, _json(args), now(), pid, job],
        )
    assert cursor.lastrowid is not None  # an INSERT always sets it
    return cursor.lastrowid


def update_run(db: sqlite_utils.Database, run_id: int, **fields: Any) -> None:
    """Set counters (pages, new_articles, ...), status, message, pid or node on a run."""
    allowed = set(RUN_COUNTERS) | {"status", "message", "pid", "finished_at", "node"}
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
                 outlet_id: str | None = None, kind: str = "error") -> None:
    """Log a failure, or a page not fetched on purpose (`kind` 'skipped'), with its URL and
    why, against a run and count it there (crawl_runs.errors or crawl_runs.skipped)."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown crawl_errors kind {kind!r}")
    counter = "errors" if kind == "error" else "skipped"
    with transaction(db):
        db.conn.execute(
            "INSERT INTO crawl_errors (run_id, outlet_id, url, reason, at, kind)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, outlet_id, url, reason, now(), kind],
        )
        if run_id is not None:
            db.conn.execute(
                f"UPDATE crawl_runs SET {counter} = {counter} + 1 WHERE id = ?", [run_id])


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


def get_run(db: sqlite_utils.Database, run_id: int) -> dict | None:
    """A crawl run's row (status, message, pid, counters, ...), None if there is none."""
    rows = list(db.query("SELECT * FROM crawl_runs WHERE id = ?", [run_id]))
    return rows[0] if rows else None


def run_error_reasons(db: sqlite_utils.Database, run_ids: Sequence[int],
                      limit: int = 8, kind: str = "error") -> list[tuple[str, int, str | None]]:
    """The most frequent failure reasons of these runs (or, with `kind` 'skipped', why
    pages were not fetched): (reason, count, an example URL)."""
    if not run_ids:
        return []
    return [tuple(row) for row in db.execute(
        f"SELECT reason, count(*) AS n, min(url) FROM crawl_errors"
        f" WHERE run_id IN ({', '.join('?' * len(run_ids))}) AND kind = ? GROUP BY reason"
        f" ORDER BY n DESC, reason LIMIT ?", [*run_ids, kind, limit],
    ).fetchall()]


def running_runs(db: sqlite_utils.Database) -> list[dict]:
    """Runs with status 'running': id, job, spider, args (JSON text), pid, started_at."""
    return list(db.query("SELECT id, job, spider, args, pid, started_at FROM crawl_runs"
                         " WHERE status = 'running' ORDER BY id"))


def abandon_run(db: sqlite_utils.Database, run_id: int,
                message: str = "process ended without closing the run") -> bool:
    """Close a run as 'abandoned' unless it was closed meanwhile; True if it was."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE crawl_runs SET status = 'abandoned', finished_at = ?, message = ?"
            " WHERE id = ? AND status = 'running'", [now(), message, run_id])
    return cursor.rowcount > 0


def last_runs(db: sqlite_utils.Database, limit: int = 10) -> list[dict]:
    """The latest runs, newest first, with the job each belongs to (None: a manual crawl)."""
    return list(db.query(
        "SELECT id, job, spider, status, started_at, finished_at, pages, new_articles,"
        " updated_articles, mentions, errors, skipped, message FROM crawl_runs"
        " ORDER BY id DESC LIMIT ?",
        [limit],
    ))


def last_run_per_job(db: sqlite_utils.Database) -> dict[str, dict]:
    """Each scheduled job's latest run: {job: {id, status, started_at, finished_at, ...}}."""
    rows = db.query(
        "SELECT job, id, status, started_at, finished_at, pages, new_articles, errors, message"
        " FROM crawl_runs WHERE id IN"
        " (SELECT max(id) FROM crawl_runs WHERE job IS NOT NULL GROUP BY job)"
    )
    return {row.pop("job"): row for row in rows}


def last_started(db: sqlite_utils.Database) -> dict[str, str]:
    """Each scheduled job's last start (any status counts): {job: started_at}."""
    return dict(db.execute("SELECT job, max(started_at) FROM crawl_runs"
                           " WHERE job IS NOT NULL GROUP BY job").fetchall())
