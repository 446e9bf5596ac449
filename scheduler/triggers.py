"""When jobs run: triggers from schedule.yml, and the first run after a (re)start.

Jobs come from config/schedule.yml and run history from the archive, so the
scheduler keeps no state of its own. At start-up each job's first run is
planned from its last run in crawl_runs:

- an interval job that never ran, or whose next run fell due while the
  scheduler was down, runs right away (plus its jitter): a user who starts the
  service expects a first crawl soon, and a backlog runs once;
- an interval job that ran recently carries on where it left off: last start
  + interval (plus jitter), so a restart neither loses a run nor adds one;
- a cron job runs at its next cron time, or right away (plus jitter) when a
  cron time passed since its last run while the scheduler was down.

Cron expressions are standard crontab, evaluated in UTC like every timestamp
in the archive; day-of-week numbers mean what they mean in crontab (0 or 7 is
Sunday, 1 is Monday), not APScheduler 3's Monday-is-0.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from narrative_archive.config import Job

# The crontab dialect lives in a leaf: config validates schedule.yml with the same trigger.
from narrative_archive.cron import cron_trigger
from narrative_archive.times import format_duration


def describe_trigger(job: Job) -> str:
    """'every 30m' or 'cron 0 */2 * * *' (UTC), with the jitter when there is one."""
    text = f"every {format_duration(job.every)}" if job.every else f"cron {job.cron} UTC"
    return text + (f" (+ up to {format_duration(job.jitter)} jitter)" if job.jitter else "")


def make_trigger(job: Job) -> BaseTrigger:
    """The APScheduler trigger of a job (its first run is planned by first_run_at)."""
    if job.every:
        return IntervalTrigger(seconds=job.every, jitter=job.jitter or None, timezone=UTC)
    assert job.cron is not None  # a job has exactly one trigger (config checks it)
    return cron_trigger(job.cron, job.jitter)


def next_cron_time(job: Job, after: datetime) -> datetime | None:
    """The first cron time strictly after `after` (no jitter)."""
    assert job.cron is not None
    trigger = cron_trigger(job.cron)
    return trigger.get_next_fire_time(None, after + timedelta(microseconds=1))


def due_at(job: Job, last_started_at: datetime | None, now: datetime) -> datetime:
    """When a job is next due after a start-up at `now`, before jitter."""
    if job.every:
        if last_started_at is None:
            return now
        return max(now, last_started_at + timedelta(seconds=job.every))
    if last_started_at is not None:
        missed = next_cron_time(job, last_started_at)
        if missed is not None and missed <= now:
            return now
    return next_cron_time(job, now) or now


def first_run_at(job: Job, last_started_at: datetime | None, now: datetime,
                 rng: random.Random | None = None) -> datetime:
    """When a job first runs after the scheduler starts at `now`: due_at plus its jitter."""
    jitter = (rng or random).uniform(0, job.jitter) if job.jitter else 0.0
    return due_at(job, last_started_at, now) + timedelta(seconds=jitter)


def next_run_estimate(job: Job, last_started_at: datetime | None, now: datetime,
                      scheduler_running: bool) -> datetime:
    """Roughly when a job runs next, without asking the scheduler (for `status`).

    With a scheduler running, an interval job runs on its grid (last start +
    n x interval); without one, it is the time it would run if the scheduler
    started now. Jitter is not included: the real time is up to `jitter` later.
    """
    if job.every and scheduler_running and last_started_at is not None:
        step = timedelta(seconds=job.every)
        due = last_started_at + step
        if due < now:
            due += step * -(-(now - due) // step)  # the next grid point at or after now
        return due
    if not job.every and scheduler_running:
        return next_cron_time(job, now) or now
    return due_at(job, last_started_at, now)
