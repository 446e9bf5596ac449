"""Is collection working? The schedule, the runs and the outlets, for `narrative-archive status`.

Everything here reads the archive (and the scheduler's lock file); only
settle_runs writes: a run left 'running' whose process is gone (kill -9, a
crash, a reboot) becomes 'abandoned' when `status`, `crawl` or the scheduler
next looks. The same facts are in SQL for Datasette: crawl_runs and the
outlet_health view.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from narrative_archive import store
from narrative_archive.config import ConfigError, Job, load_config
from narrative_archive.crawl.runs import settle_runs
from narrative_archive.scheduler.lock import scheduler_state
from narrative_archive.scheduler.triggers import describe_trigger, next_run_estimate
from narrative_archive.times import humanize, iso, parse_iso


def status_report(db_path: str | Path, config_dir: str | Path | None,
                  captures_dir: Path) -> dict:
    """What `narrative-archive status` shows: rows per table, mentions per narrative, the
    scheduler and the schedule, the last runs, failing outlets and the captures held.

    A schedule.yml that does not load is reported as "schedule_error"; the rest is
    still read from the archive.
    """
    db = store.open_db(db_path)
    settle_runs(db)  # a run whose process is gone (kill -9) is abandoned, not running
    scheduler = scheduler_state(db_path)
    try:
        jobs, schedule_error = load_config(config_dir).jobs, None
    except ConfigError as error:  # still show what the archive knows
        jobs, schedule_error = (), str(error)
    report = {
        "tables": store.table_counts(db),
        "narratives": narrative_rows(db),
        "scheduler": scheduler,
        "schedule": schedule(db, jobs, scheduler["running"]),
        "last_runs": store.last_runs(db),
        "failing_outlets": store.failing_outlets(db),
        "captures": {**store.capture_counts(db), **captures_on_disk(captures_dir)},
    }
    if schedule_error:
        report["schedule_error"] = schedule_error
    return report


def narrative_rows(db: sqlite_utils.Database) -> list[dict]:
    """Per narrative: store.narrative_counts, with the mentions the learned layer matched
    and the query matches it set aside beside the mentions."""
    by_layer, set_aside = store.layer_counts(db), store.set_aside_counts(db)
    rows = []
    for row in store.narrative_counts(db):
        at = list(row).index("mentions") + 1
        items = list(row.items())
        extra = [("by_layer", by_layer.get(row["narrative"], 0)),
                 ("set_aside", set_aside.get(row["narrative"], 0))]
        rows.append(dict(items[:at] + extra + items[at:]))
    return rows


def captures_on_disk(directory: Path) -> dict:
    """The captures directory: its path, WARC files and their bytes."""
    files = [path for path in directory.glob("*.warc*") if path.is_file()] \
        if directory.is_dir() else []
    return {"dir": str(directory), "files_on_disk": len(files),
            "bytes_on_disk": sum(path.stat().st_size for path in files)}


def schedule(db: sqlite_utils.Database, jobs: Sequence[Job], scheduler_running: bool,
             now: datetime | None = None) -> list[dict]:
    """One row per job of schedule.yml: its trigger, when it runs next, and its last run.

    next_run_at is an estimate without jitter (the scheduler keeps the exact
    time in memory): with a scheduler running, the job's next slot; without
    one, when it would run if the scheduler started now.
    """
    now = now or datetime.now(UTC)
    last = store.last_run_per_job(db)
    rows = []
    for job in jobs:
        run = last.get(job.id) or {}
        started = parse_iso(run.get("started_at"))
        next_at = next_run_estimate(job, started, now, scheduler_running)
        if run.get("status") == "running":
            note = f"running now (run {run['id']})"
        elif not scheduler_running:
            note = "at start-up" if next_at <= now else iso(next_at)
        elif next_at <= now:
            note = f"due now (within {humanize(job.jitter)} of jitter)" if job.jitter else "due now"
        else:
            note = f"{iso(next_at)} (in {humanize((next_at - now).total_seconds())})"
        rows.append({
            "job": job.id, "spider": job.spider, "trigger": describe_trigger(job),
            "next_run_at": iso(next_at), "next_run": note,
            "last_run": run.get("id"), "last_status": run.get("status"),
            "last_started_at": run.get("started_at"), "last_finished_at": run.get("finished_at"),
        })
    return rows


def took(run: dict) -> str | None:
    """How long a run took (or has been running): '2m 5s'."""
    started = parse_iso(run.get("started_at"))
    if started is None:
        return None
    finished = parse_iso(run.get("finished_at")) or datetime.now(UTC)
    return humanize(max(0.0, (finished - started).total_seconds()))


def one_line(text: str | None, width: int = 70) -> str | None:
    """A message for a table cell: its first line, cut to width."""
    if not text:
        return text
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
