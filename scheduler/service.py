"""The scheduler service: APScheduler runs each job of schedule.yml as a crawl subprocess.

- Jobs come from config/schedule.yml and run history from the archive: the job
  store is in memory, nothing else to keep in sync. A restart plans each job's
  first run from its last run (see plan.py).
- A job never overlaps itself (max_instances=1) and a backlog runs once
  (coalesce); a late run always runs, once (misfire_grace_time=None). At most
  `max_crawls` crawls run at the same time; other due jobs wait their turn.
- SIGTERM, SIGINT (Ctrl-C) or SIGHUP: stop scheduling, SIGTERM the running
  crawls, give them `grace` seconds to close their runs, SIGKILL stragglers and
  mark their rows, exit 0. A second signal skips what is left of the grace.
- One scheduler per archive (lock.py).
- Logs: one line per event on stderr (log.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from narrative_archive import store
from narrative_archive.config import Job
from narrative_archive.crawl.runs import run_alive, settle_runs
from narrative_archive.scheduler.jobs import run_job
from narrative_archive.scheduler.lock import SchedulerLock
from narrative_archive.scheduler.log import EventLog
from narrative_archive.scheduler.triggers import describe_trigger, first_run_at, make_trigger
from narrative_archive.times import parse_iso

DEFAULT_GRACE = 30.0
DEFAULT_MAX_CRAWLS = 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def last_started(db) -> dict[str, datetime]:
    """Each scheduled job's last start (any status counts)."""
    started = {job_id: parse_iso(started_at)
               for job_id, started_at in store.last_started(db).items()}
    return {job_id: when for job_id, when in started.items() if when is not None}


class SchedulerService:
    """The jobs of schedule.yml on an APScheduler BackgroundScheduler; start() then shutdown()."""

    def __init__(
        self,
        db_path: str | Path,
        config_dir: str | Path | None,
        jobs: Sequence[Job],
        *,
        grace: float = DEFAULT_GRACE,
        max_crawls: int = DEFAULT_MAX_CRAWLS,
        log: Callable[..., None] | None = None,
        rng: random.Random | None = None,
        runner: Callable[..., object] | None = None,
    ):
        self.db_path = Path(db_path)
        self.config_dir = Path(config_dir).absolute() if config_dir else None
        self.jobs = tuple(jobs)
        self.grace = grace
        self.max_crawls = max_crawls
        self.log = log or EventLog()
        self.rng = rng or random.Random()
        # what runs one job: a crawl subprocess here, or (docs/fleet.md) a fleet dispatcher
        self.runner = runner or run_job
        self.stopping = threading.Event()  # set: running crawls get SIGTERM
        self.force = threading.Event()  # set: no more grace, SIGKILL now
        self.lock = SchedulerLock(self.db_path)
        self.running: dict[str, int] = {}  # job id -> run id of its running crawl
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=max_crawls)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_listener(
            self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        # our own event lines say what APScheduler's logger would, once and greppable
        logging.getLogger("apscheduler").setLevel(logging.ERROR)

    def start(self, prepare: Callable[[], None] | None = None) -> None:
        """Take the archive's lock, settle what the last scheduler left, plan and start the jobs.

        `prepare` runs once the lock is held, before anything else (e.g. `init`).
        Raises SchedulerAlreadyRunning when another scheduler holds the archive.
        """
        started_at = store.now()
        self.lock.acquire(since=started_at)
        try:
            if prepare is not None:
                prepare()
            db = store.open_db(self.db_path)
            try:
                self._settle_previous_runs(db)
                last = last_started(db)
            finally:
                db.close()
            now = datetime.now(UTC)
            for job in self.jobs:
                first = first_run_at(job, last.get(job.id), now, self.rng)
                self.scheduler.add_job(
                    self._run, make_trigger(job), args=[job], id=job.id, name=job.id,
                    next_run_time=first,
                )
                self.log("scheduled", job=job.id, spider=job.spider,
                         trigger=describe_trigger(job), next=first,
                         last=last.get(job.id))
            self.scheduler.start()
        except BaseException:
            self.lock.release()
            raise
        self.log("ready", pid=os.getpid(), db=str(self.db_path), jobs=len(self.jobs),
                 max_crawls=self.max_crawls, grace=f"{self.grace:g}s")
        if not self.jobs:
            self.log("idle", message="schedule.yml has no jobs")

    def _settle_previous_runs(self, db) -> None:
        """Rows left 'running' by a scheduler or crawl that died become 'abandoned'."""
        abandoned, alive = settle_runs(db, scheduler_gone=True)
        for event, settled in (("abandoned", abandoned), ("still-running", alive)):
            # still running: a manual crawl, or one whose scheduler was killed and which
            # is closing its own run (crawls stop when their scheduler dies)
            for run in settled:
                self.log(event, job=run["job"], run=run["id"], spider=run["spider"],
                         pid=run["pid"])

    def _previous_run_alive(self, job: Job) -> dict | None:
        """A run of this job left 'running' by an earlier scheduler whose crawl still runs.

        A job never overlaps itself here (max_instances), so a 'running' row of the
        job is a predecessor's: alive, or gone by now (then it is abandoned here).
        """
        db = store.open_db(self.db_path, migrate=False)
        try:
            for run in store.running_runs(db):
                if run["job"] != job.id:
                    continue
                if run_alive(run):
                    return run
                if store.abandon_run(db, run["id"]):
                    self.log("abandoned", job=job.id, run=run["id"], spider=run["spider"],
                             pid=run["pid"])
        finally:
            db.close()
        return None

    def _run(self, job: Job) -> None:
        """One scheduled run of a job (on an executor thread)."""
        try:
            previous = self._previous_run_alive(job)
            if previous is not None:
                self.log("skipped", job=job.id, run=previous["id"], pid=previous["pid"],
                         reason="still-running", next=self.next_run_time(job.id))
                return
            self.runner(job, self.db_path, self.config_dir, stop=self.stopping, force=self.force,
                        grace=self.grace, log=self._job_log(job))
        except Exception as error:  # the scheduler goes on; the next run may do better
            self.running.pop(job.id, None)
            self.log("error", job=job.id, error=f"{type(error).__name__}: {error}")

    def _job_log(self, job: Job) -> Callable[..., None]:
        def log(event: str, **fields) -> None:
            if event == "started":
                self.running[job.id] = fields["run"]
            elif event == "finished":
                self.running.pop(job.id, None)
                if not self.stopping.is_set():
                    fields["next"] = self.next_run_time(job.id)
            self.log(event, **fields)

        return log

    def next_run_time(self, job_id: str) -> datetime | None:
        scheduled = self.scheduler.get_job(job_id)
        return scheduled.next_run_time if scheduled else None

    def _on_event(self, event) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            run = self.running.get(event.job_id)
            # not running yet: its last run waits for one of the --max-crawls slots
            self.log("skipped", job=event.job_id, run=run,
                     reason="still-running" if run else "waiting-for-a-slot")
        elif event.code == EVENT_JOB_MISSED:
            self.log("missed", job=event.job_id, scheduled=event.scheduled_run_time)
        elif event.code == EVENT_JOB_ERROR:
            self.log("error", job=event.job_id, error=repr(event.exception))

    def shutdown(self) -> None:
        """Stop scheduling; SIGTERM running crawls, wait up to `grace`, SIGKILL the rest."""
        if self.scheduler.running:
            self.scheduler.pause()
        self.log("stopping", crawls=len(self.running),
                 runs=",".join(map(str, self.running.values())) or None,
                 grace=f"{self.grace:g}s")
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # job threads end when their crawls have
        self.lock.release()
        self.log("stopped")


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, force: threading.Event,
                    log: Callable[..., None]) -> Iterator[None]:
    """SIGTERM/SIGINT/SIGHUP set `stop`; a second one sets `force`. Main thread only."""

    def handler(signum, _frame):
        name = signal.Signals(signum).name
        if stop.is_set():
            force.set()
            log("forcing", signal=name, message="no more grace: killing running crawls")
        else:
            stop.set()
            log("signal", signal=name)

    previous = {}
    for sig in STOP_SIGNALS:
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue  # started under nohup: leave it ignored
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _stop_process(name: str, process: subprocess.Popen, log, timeout: float = 10.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            log("killed", process=name, pid=process.pid)
    log("exited", process=name, pid=process.pid, code=process.returncode)


def run_scheduler(
    db_path: str | Path,
    config_dir: str | Path | None,
    jobs: Sequence[Job],
    *,
    grace: float = DEFAULT_GRACE,
    max_crawls: int = DEFAULT_MAX_CRAWLS,
    log: Callable[..., None] | None = None,
    prepare: Callable[[], None] | None = None,
    companions: Mapping[str, Callable[[], subprocess.Popen]] | None = None,
    poll: float = 0.5,
    runner: Callable[..., object] | None = None,
) -> int:
    """Run the scheduler in the foreground until a stop signal; return the exit status.

    `prepare` runs once the scheduler holds the archive (e.g. create and migrate
    it). `companions` are processes started then too (e.g. Datasette for `up`)
    and stopped with it; one of them exiting on its own stops everything with
    status 1. `runner` replaces run_job (the fleet's dispatcher). Raises SchedulerAlreadyRunning.
    """
    log = log or EventLog()
    service = SchedulerService(db_path, config_dir, jobs, grace=grace, max_crawls=max_crawls,
                               log=log, runner=runner)
    stop = threading.Event()
    status = 0
    children: dict[str, subprocess.Popen] = {}
    with stop_on_signals(stop, service.force, log):
        service.start(prepare)
        try:
            for name, start in (companions or {}).items():
                try:
                    children[name] = start()
                except Exception as error:
                    log("error", process=name, error=f"{type(error).__name__}: {error}")
                    stop.set()
                    status = 1
                    break
            while not stop.wait(poll):
                ended = [name for name, p in children.items() if p.poll() is not None]
                for name in ended:
                    process = children.pop(name)
                    log("exited", process=name, pid=process.pid, code=process.returncode,
                        message="exited on its own: stopping everything")
                    status = 1
                if ended:
                    break
        finally:
            for process in children.values():  # SIGTERM them now, wait after the crawls
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.terminate()
            service.shutdown()
            for name, process in children.items():
                _stop_process(name, process, log)
    return status
