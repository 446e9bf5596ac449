"""The scheduler service (issue #4).

Two layers:

- scheduler/jobs.py against a fake crawl (tests/files/scheduler/fake_crawl.py)
  that misbehaves on demand: crash, ignore SIGTERM, leave a worker behind;
- `narrative-archive schedule` as a subprocess, running real crawls against a
  local fixture server on 127.0.0.1 (an outlet that works, one whose URLs
  answer 500, a slow one and a stuck one), asserting what a user would see in
  crawl_runs and on stderr.

Nothing sleeps for timing: tests poll the archive (or the log) with a deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from narrative_archive import store
from narrative_archive.config import Job
from narrative_archive.cron import cron_day_of_week
from narrative_archive.scheduler import jobs, triggers
from narrative_archive.scheduler.lock import (
    SchedulerAlreadyRunning,
    SchedulerLock,
    scheduler_state,
)
from narrative_archive.scheduler.log import format_event
from narrative_archive.scheduler.service import SchedulerService
from tests.conftest import dies_with_tests, wait_for

FILES = Path(__file__).parent / "files" / "scheduler"
FAKE_CRAWL = FILES / "fake_crawl.py"
FAST = {"AUTOTHROTTLE_ENABLED": 0, "DOWNLOAD_DELAY": 0}
LOG_LINE = re.compile(
    r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ scheduler( [a-z_]+=([^\s"]+|"([^"\\]|\\.)*"))+$')


def runs(db_path: Path) -> list[dict]:
    """crawl_runs as a user sees them (a fresh read-only connection each time)."""
    if not Path(db_path).exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute("SELECT * FROM crawl_runs ORDER BY id")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def job_runs(db_path: Path, job_id: str) -> list[dict]:
    return [run for run in runs(db_path) if json.loads(run["args"]).get("job") == job_id]


# --- log lines, triggers, first runs -----------------------------------------


def test_log_lines_are_one_greppable_line_per_event():
    at = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    line = format_event("scheduler", "started", {"pid": 123, "run": 12, "job": "feeds"}, at)
    assert line == "2026-11-25T14:00:00Z scheduler job=feeds run=12 event=started pid=123"
    line = format_event("scheduler", "finished", {
        "job": "feeds", "message": 'a "quoted"\nmulti-line text', "seconds": 2.345,
        "next": at + timedelta(minutes=30), "skipped": None}, at)
    assert line == ('2026-11-25T14:00:00Z scheduler job=feeds event=finished'
                    ' message="a \\"quoted\\" multi-line text" seconds=2.3'
                    ' next=2026-11-25T14:30:00Z')
    assert LOG_LINE.match(line)


def test_crontab_weekdays_mean_what_they_mean_in_crontab():
    # APScheduler 3 reads day_of_week 0 as Monday; crontab means Sunday
    assert cron_day_of_week("1-5") == "mon,tue,wed,thu,fri"
    assert cron_day_of_week("0") == cron_day_of_week("7") == "sun"
    assert cron_day_of_week("*/2") == "sun,tue,thu,sat"
    assert cron_day_of_week("5-7") == cron_day_of_week("fri-sun") == "sun,fri,sat"
    assert cron_day_of_week("sat-sun") == "sun,sat"
    assert cron_day_of_week("mon#1") == "mon#1"  # not crontab: left to APScheduler
    assert cron_day_of_week("*") == "*"
    monday_3am = Job(id="weekly", spider="sitemaps", cron="0 3 * * 1")
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert triggers.next_cron_time(monday_3am, wednesday) == datetime(2026, 11, 30, 3, 0,
                                                                  tzinfo=UTC)


def test_first_run_soon_after_start_then_carries_on_from_history():
    now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    feeds = Job(id="feeds", spider="feeds", every=1800, jitter=120)
    # never ran: soon, within the jitter
    first = triggers.first_run_at(feeds, None, now)
    assert now <= first <= now + timedelta(seconds=120)
    # ran 10 minutes ago: carries on 30 minutes after that run, not now
    ten_ago = now - timedelta(minutes=10)
    assert triggers.due_at(feeds, ten_ago, now) == now + timedelta(minutes=20)
    # due while the scheduler was down: one run now (a backlog runs once)
    assert triggers.due_at(feeds, now - timedelta(hours=5), now) == now
    nightly = Job(id="nightly", spider="sitemaps", cron="0 3 * * *")
    # a cron job waits for its time ...
    assert triggers.due_at(nightly, None, now) == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert triggers.due_at(nightly, datetime(2026, 11, 25, 3, 0, tzinfo=UTC), now) == \
        datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    # ... unless its time passed while the scheduler was down
    assert triggers.due_at(nightly, datetime(2026, 11, 24, 3, 0, tzinfo=UTC), now) == now
    assert triggers.describe_trigger(feeds) == "every 30m (+ up to 2m jitter)"
    assert triggers.describe_trigger(nightly) == "cron 0 3 * * * UTC"


def test_one_scheduler_per_archive(tmp_path):
    db_path = tmp_path / "archive.db"
    assert scheduler_state(db_path) == {"running": False}
    with SchedulerLock(db_path):
        state = scheduler_state(db_path)
        assert state["running"] and state["pid"] == os.getpid()
        with pytest.raises(SchedulerAlreadyRunning, match=f"pid {os.getpid()}"):
            SchedulerLock(db_path).acquire(timeout=0.2)
    assert scheduler_state(db_path) == {"running": False}
    SchedulerLock(db_path).acquire(timeout=0)  # released: free again


def test_a_symlink_to_the_archive_is_the_same_archive(tmp_path):
    db_path = tmp_path / "data" / "archive.db"
    db_path.parent.mkdir()
    store.open_db(db_path).close()
    (tmp_path / "link.db").symlink_to(db_path)  # the file, by another name
    (tmp_path / "mnt").symlink_to(db_path.parent)  # its directory, by another path
    with SchedulerLock(db_path):
        for other in (tmp_path / "link.db", tmp_path / "mnt" / "archive.db",
                      tmp_path / "data" / ".." / "data" / "archive.db"):
            with pytest.raises(SchedulerAlreadyRunning):
                SchedulerLock(other).acquire(timeout=0)
            assert scheduler_state(other)["running"]
    with SchedulerLock(tmp_path / "link.db"):
        with pytest.raises(SchedulerAlreadyRunning):
            SchedulerLock(db_path).acquire(timeout=0)


# --- one crawl: scheduler/jobs.py with a fake crawl --------------------------


@pytest.fixture
def archive(tmp_path) -> Path:
    db_path = tmp_path / "archive.db"
    store.open_db(db_path).close()
    return db_path


def fake(mode: str, archive: Path, **job):
    """run_job of a job whose crawl is fake_crawl.py in `mode`."""
    job = Job(id=f"fake-{mode}", spider="feeds", every=60, **job)
    events = []

    def log(event, **fields):
        events.append((event, fields))

    def command(run_id):
        return [sys.executable, str(FAKE_CRAWL), mode, "--db", str(archive),
                "--run-id", str(run_id)]

    return job, command, events, log


def test_a_crawl_that_closes_its_run_keeps_its_verdict(archive):
    job, command, events, log = fake("ok", archive)
    outcome = jobs.run_job(job, archive, command=command, log=log)
    assert outcome.status == "ok" and outcome.returncode == 0
    [run] = runs(archive)
    assert run["status"] == "ok" and run["pages"] == 3 and run["new_articles"] == 2
    assert run["pid"] and run["finished_at"] and json.loads(run["args"])["job"] == "fake-ok"
    assert [event for event, _ in events] == ["started", "finished"]
    assert events[1][1]["new"] == 2 and events[1][1]["exit"] == "0"


def test_a_failed_crawl_gets_its_stderr_tail(archive):
    job, command, _, log = fake("fail", archive)
    assert jobs.run_job(job, archive, command=command, log=log).status == "failed"
    [run] = runs(archive)
    # its own message, and the error lines of its stderr (not the whole log)
    assert run["message"] == (
        "nothing could be fetched\n--- stderr ---\n2026-11-25 14:00:02 [scrapy.core.scraper]"
        " ERROR: Error downloading <GET http://127.0.0.1/feed.xml>: 500 Internal Server Error")


def test_a_crawl_that_dies_without_closing_its_run_is_failed(archive):
    job, command, _, log = fake("crash", archive)
    outcome = jobs.run_job(job, archive, command=command, log=log)
    assert outcome.status == "failed" and outcome.returncode == 3
    [run] = runs(archive)
    assert run["status"] == "failed" and run["finished_at"]
    assert run["message"].startswith("crashed (exit code 3) without closing its run")
    assert "sqlite3.OperationalError: disk I/O error" in run["message"]


def test_timeout_sigterm_then_the_crawl_closes(archive):
    job, command, events, log = fake("graceful", archive, timeout=1)
    outcome = jobs.run_job(job, archive, command=command, log=log, grace=10)
    assert (outcome.status, outcome.stopped, outcome.killed) == ("timeout", "timeout", False)
    assert outcome.seconds < 8
    [run] = runs(archive)
    assert run["status"] == "timeout" and run["pages"] == 2  # the crawl's counters are kept
    assert run["message"].startswith("timed out after 1s (wall clock): sent SIGTERM, exited")
    [stopping] = [fields for event, fields in events if event == "stopping"]
    assert stopping == {"job": job.id, "run": run["id"], "pid": run["pid"],
                        "reason": "timeout", "grace": "10s", "closed": None}


def test_timeout_sigkill_after_grace_reaches_the_crawls_workers(archive):
    job, command, _, log = fake("spawn", archive, timeout=1)
    outcome = jobs.run_job(job, archive, command=command, log=log, grace=0.5)
    assert (outcome.status, outcome.killed) == ("timeout", True)
    assert outcome.returncode == -signal.SIGKILL
    [run] = runs(archive)
    assert "killed after the grace period" in run["message"]
    worker = int(Path(f"{archive}.worker").read_text())
    wait_for(lambda: not psutil.pid_exists(worker) or
             psutil.Process(worker).status() == psutil.STATUS_ZOMBIE, 5, "the worker to die")


def crawl_in_thread(job, archive, command, log, **options):
    """jobs.run_job on a thread, as the scheduler runs it: (thread, {"outcome": ...})."""
    result = {}

    def run():
        result["outcome"] = jobs.run_job(job, archive, command=command, log=log, **options)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def crawl_up(archive: Path):
    """The fake crawl's run has a pid and its first counter: its signal handlers are set."""
    return [run for run in runs(archive) if run["status"] == "running" and run["pid"]
            and run["pages"]]


def test_stop_lets_a_crawl_close_or_marks_it_abandoned(archive):
    stop = threading.Event()
    job, command, events, log = fake("graceful", archive)
    thread, result = crawl_in_thread(job, archive, command, log, stop=stop, grace=10)
    wait_for(lambda: crawl_up(archive), 20, "the crawl to start")
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    outcome = result["outcome"]
    assert (outcome.status, outcome.stopped) == ("interrupted", "shutdown")
    assert runs(archive)[-1]["message"] == "interrupted: the scheduler was stopping"
    assert runs(archive)[-1]["status"] == "interrupted"  # cut short, not complete

    stop, force = threading.Event(), threading.Event()
    job, command, events, log = fake("stubborn", archive)
    thread, result = crawl_in_thread(job, archive, command, log, stop=stop, force=force,
                                     grace=60)
    wait_for(lambda: crawl_up(archive), 20, "the crawl to start")
    stop.set()
    wait_for(lambda: [fields for event, fields in events if event == "stopping"], 20,
             "the SIGTERM")
    force.set()  # a second Ctrl-C: no more grace
    thread.join(30)
    assert not thread.is_alive(), "the forced stop waited for the grace period"
    outcome = result["outcome"]
    assert (outcome.status, outcome.killed) == ("abandoned", True)
    assert runs(archive)[-1]["message"].startswith(
        "stopped with the scheduler: killed after the grace period\n--- stderr ---")
    # nothing starts once the scheduler is stopping
    assert jobs.run_job(job, archive, command=command, stop=stop) is None
    assert len(runs(archive)) == 2


def test_start_up_marks_dead_runs_abandoned_and_leaves_live_crawls_alone(archive):
    db = store.open_db(archive)
    dead = store.start_run(db, "feeds", {"job": "feeds"}, pid=2**22 + 7)  # no such process
    crawl = subprocess.Popen([sys.executable, str(FAKE_CRAWL), "graceful", "--db", str(archive),
                              "--run-id", "0", "crawl", "narrative_archive"])
    live = store.start_run(db, "feeds", {}, pid=crawl.pid)  # e.g. a manual crawl
    lines = []
    service = SchedulerService(archive, None, [], log=lambda event, **f: lines.append((event, f)))
    try:
        service.start()
        service.shutdown()
    finally:
        crawl.terminate()
        crawl.wait()
    by_id = {run["id"]: run for run in runs(archive)}
    assert by_id[dead]["status"] == "abandoned" and by_id[dead]["finished_at"]
    assert by_id[live]["status"] == "running"
    assert ("abandoned", {"job": "feeds", "run": dead, "spider": "feeds",
                          "pid": 2**22 + 7}) in lines
    assert [event for event, _ in lines][-3:] == ["idle", "stopping", "stopped"]


# --- the service: `narrative-archive schedule` with real crawls ---------------

SLOW_SECONDS = 1.5  # the slow outlet's feed takes this long to answer
OUTLETS = """\
- id: good-news
  name: Good News
  url: {base}/good/
  country: US
  language: en
  kind: commercial
  feeds: [{base}/good/feed.xml]
- id: broken-news
  name: Broken News
  url: {base}/broken/
  country: US
  language: en
  feeds: [{base}/broken/feed.xml]
- id: slow-news
  name: Slow News
  url: {base}/slow/
  language: en
  feeds: [{base}/slow/feed.xml]
- id: stuck-news
  name: Stuck News
  url: {base}/stuck/
  language: en
  feeds: [{base}/stuck/feed.xml]
"""


@pytest.fixture(scope="module")
def site():
    """Fixture outlets on 127.0.0.1: good (a feed and its articles), broken (500 for
    everything), slow (its feed takes SLOW_SECONDS) and stuck (its feed never answers
    while a test runs)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    base = server.url_for("/").rstrip("/")
    feed = (FILES / "feed.xml").read_text()
    page = (FILES / "article.html").read_text()
    release = threading.Event()
    names = {"good": "Good News", "slow": "Slow News", "stuck": "Stuck News"}

    def feed_of(outlet):
        def respond(request):
            if outlet == "slow":
                release.wait(SLOW_SECONDS)
            elif outlet == "stuck":
                release.wait(120)
            return Response(feed.format(base=f"{base}/{outlet}", name=names[outlet],
                                        slug=outlet), content_type="application/rss+xml")
        return respond

    def article(request):
        outlet = request.path.split("/")[1]
        title = ("Moscow denies supplying weapons to the Taliban" if "denies" in request.path
                 else "US general says Russia is arming the Taliban")
        return Response(page.format(base=f"{base}/{outlet}", name=names[outlet], title=title,
                                    url=f"{base}{request.path}"),
                        content_type="text/html; charset=utf-8")

    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    for outlet in names:
        server.expect_request(f"/{outlet}/feed.xml").respond_with_handler(feed_of(outlet))
    server.expect_request(re.compile(r"^/(good|slow|stuck)/world/[\w-]+\.html$")) \
        .respond_with_handler(article)
    server.expect_request(re.compile(r"^/broken/")).respond_with_data(
        "Internal Server Error", status=500)
    yield base
    release.set()
    server.clear()
    server.stop()


def write_config(directory: Path, base: str, *jobs: dict) -> Path:
    """A config directory: the fixture outlets and these jobs (narratives: the defaults)."""
    import yaml

    directory.mkdir(exist_ok=True)
    (directory / "outlets.yml").write_text(OUTLETS.format(base=base))
    (directory / "schedule.yml").write_text(yaml.safe_dump({"jobs": list(jobs)}))
    return directory


def feeds_job(job_id: str, outlet: str, every: str = "1s", **extra) -> dict:
    return {"id": job_id, "spider": "feeds", "every": every, "outlets": [outlet],
            "settings": {**FAST, "RETRY_TIMES": 0, "NARRATIVE_ARCHIVE_EXTRACT_WORKERS": 1},
            **extra}


class Scheduler:
    """`python -m narrative_archive schedule` (or `up`) in a subprocess, its stderr collected.

    In its own session, like a command started from a terminal: a Ctrl-C there is
    SIGINT to its process group (see ctrl_c)."""

    def __init__(self, db_path: Path, config_dir: Path, *options: str, command="schedule"):
        self.process = subprocess.Popen(
            dies_with_tests([sys.executable, "-m", "narrative_archive", command, "--db",
                             str(db_path), "--config", str(config_dir), "--grace", "3", *options]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self, event: str, **fields) -> list[str]:
        wanted = [f"event={event}", *(f"{k}={v}" for k, v in fields.items())]
        return [line for line in self.lines if all(f" {w}" in line for w in wanted)]

    def stop(self, timeout: float = 10) -> tuple[int, float]:
        """SIGTERM; the exit status and how long it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code, time.monotonic() - started

    def ctrl_c(self, timeout: float = 10) -> tuple[int, float]:
        """What a Ctrl-C in a terminal does: SIGINT to the whole foreground process group."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code, time.monotonic() - started

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start(tmp_path):
    """start(config_dir, *options) -> Scheduler on tmp_path/archive.db; killed after the test."""
    started = []

    def start(config_dir, *options, command="schedule"):
        started.append(Scheduler(tmp_path / "archive.db", config_dir, *options,
                                 command=command))
        return started[-1]

    yield start
    for scheduler in started:
        scheduler.kill()


def finished(db_path: Path, job_id: str, count: int):
    """Until `count` runs of a job are closed: those runs, else None."""
    closed = [run for run in job_runs(db_path, job_id) if run["status"] != "running"]
    return closed if len(closed) >= count else None


def test_runs_happen_are_recorded_and_sigterm_stops_cleanly(tmp_path, site, start):
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("good", "good-news"))
    scheduler = start(config)
    done = wait_for(lambda: finished(db_path, "good", 2), 30, "two runs of a 1 s job")
    first, second = done[:2]
    assert first["status"] == "ok", first["message"]
    assert first["pages"] == 2 and first["new_articles"] == 2 and first["mentions"] >= 1
    assert second["status"] == "ok" and second["id"] > first["id"]
    assert second["started_at"] >= first["finished_at"]
    args = json.loads(first["args"])  # the job, and the crawl arguments it ran with
    assert args["job"] == "good" and args["crawl"][:3] == ["feeds", "--outlet", "good-news"]
    assert "AUTOTHROTTLE_ENABLED=0" in args["crawl"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE outlet_id = 'good-news'"
                            ).fetchone()[0] == 2

    code, seconds = scheduler.stop()
    assert code == 0 and seconds < 3 + 3  # the grace period, and a margin
    assert all(run["status"] != "running" for run in runs(db_path))
    assert all(LOG_LINE.match(line) for line in scheduler.lines), scheduler.lines
    assert scheduler.events("scheduled", job="good")
    assert scheduler.events("started", job="good", run=first["id"])
    assert scheduler.events("finished", job="good", run=first["id"], status="ok", new=2)
    assert scheduler.lines[-1].endswith("event=stopped")
    assert scheduler_state(db_path) == {"running": False}


def test_a_slow_crawl_is_never_overlapped(tmp_path, site, start):
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("slow", "slow-news"),
                          feeds_job("good", "good-news"))
    scheduler = start(config, "--max-crawls", "1")
    done = wait_for(lambda: finished(db_path, "slow", 2), 30, "two runs of a slow job")
    assert [run["status"] for run in done] == ["ok"] * len(done), done
    # one crawl slot: no two runs at the same time, of the same job or of any two
    closed = [run for run in runs(db_path) if run["finished_at"]]
    for before, after in zip(closed, closed[1:], strict=False):
        assert after["started_at"] >= before["finished_at"], (before, after)
    # each slow run took longer than the interval: its ticks in between were skipped, not
    # queued; the other job's ticks waited for the slot
    assert scheduler.events("skipped", job="slow", reason="still-running")
    assert scheduler.events("skipped", job="good", reason="waiting-for-a-slot")
    assert scheduler.stop()[0] == 0


def test_sigterm_stops_a_running_crawl_and_a_restart_carries_on(tmp_path, site, start):
    db_path = tmp_path / "archive.db"
    hourly = feeds_job("hourly", "good-news", every="1h")
    config = write_config(tmp_path / "config", site, feeds_job("stuck", "stuck-news"), hourly)
    scheduler = start(config)
    [ran] = wait_for(lambda: finished(db_path, "hourly", 1), 30, "the hourly job's first run")
    running = wait_for(lambda: [run for run in job_runs(db_path, "stuck")
                                if run["status"] == "running" and run["pid"]], 20,
                       "a stuck crawl to start")[0]
    code, seconds = scheduler.stop()
    assert code == 0 and seconds < 3 + 3
    [stopped] = job_runs(db_path, "stuck")
    assert stopped["status"] in ("interrupted", "failed", "abandoned") and stopped["finished_at"]
    assert stopped["message"]
    assert scheduler.events("stopping", job="stuck", run=running["id"], reason="shutdown")
    wait_for(lambda: not process_or_zombie(running["pid"]), 5, "the crawl process to be gone")

    # a run left 'running' by a scheduler that was killed is marked abandoned at start-up
    db = store.open_db(db_path)
    orphan = store.start_run(db, "feeds", {"job": "stuck"}, pid=running["pid"])
    db.close()
    before = runs(db_path)
    config = write_config(tmp_path / "config", site, hourly, feeds_job("good", "good-news"))
    restarted = start(config)
    wait_for(lambda: finished(db_path, "good", 1), 30, "a run after the restart")
    assert restarted.stop()[0] == 0
    history = runs(db_path)
    # history kept, run ids carry on
    assert history[:len(before) - 1] == before[:-1]
    assert [run["id"] for run in history] == list(range(1, len(history) + 1))
    assert history[orphan - 1]["status"] == "abandoned"
    assert restarted.events("abandoned", job="stuck", run=orphan)
    assert [run["status"] for run in job_runs(db_path, "good")][0] == "ok"
    # the hourly job ran minutes ago: it is not run again at start-up, but an hour after
    assert len(job_runs(db_path, "hourly")) == 1
    due = datetime.fromisoformat(ran["started_at"].replace("Z", "+00:00")) + timedelta(hours=1)
    assert restarted.events("scheduled", job="hourly", next=due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            last=ran["started_at"])


def descendants(process: psutil.Process) -> list[psutil.Process]:
    """The process's descendants; [] when one listed a moment ago is already gone (psutil
    raises then)."""
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_crawl_does_not_outlive_a_killed_scheduler(tmp_path, site, start):
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("stuck", "stuck-news"))
    scheduler = start(config)  # --grace 3
    running = wait_for(lambda: [run for run in job_runs(db_path, "stuck")
                                if run["status"] == "running" and run["pid"]], 20,
                       "a stuck crawl to start")[0]
    crawl = psutil.Process(running["pid"])
    # stuck on its feed, the crawl has not started its extraction workers (they start with
    # the first article; test_crawl.py's kill -9 test has them): the crawl and whatever it
    # has started must go with the scheduler
    family = [crawl, *descendants(crawl)]
    scheduler.process.kill()  # kill -9: nothing of the scheduler runs any more
    scheduler.process.wait()
    wait_for(lambda: not any(process_or_zombie(p.pid) for p in family), 20,
             "the crawl and its workers to stop with their scheduler")
    # its run is closed: by the crawl's graceful stop ('interrupted': a signal cut it
    # short), or, when the stuck request held it past the grace, as abandoned before the kill
    [run] = job_runs(db_path, "stuck")
    assert run["finished_at"] and run["status"] in ("interrupted", "abandoned"), run
    if run["status"] == "abandoned":
        assert run["message"] == (f"its scheduler (pid {scheduler.process.pid}) died: stopped,"
                                  " killed after the grace period")


def test_a_restart_does_not_start_a_job_whose_previous_run_is_alive(tmp_path, site, start):
    import socket

    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("good", "good-news"))
    # the crawl of a scheduler that was killed, still closing its run
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                               "crawl", "narrative_archive"])
    try:
        db = store.open_db(db_path)
        previous = store.start_run(db, "feeds", {"job": "good", "host": socket.gethostname()},
                                   pid=orphan.pid)
        db.close()
        scheduler = start(config)
        wait_for(lambda: scheduler.events("skipped", job="good", run=previous,
                                          pid=orphan.pid, reason="still-running"), 30,
                 "the job's tick to be skipped")
        assert scheduler.events("still-running", job="good", run=previous, pid=orphan.pid)
        assert [run["id"] for run in job_runs(db_path, "good")] == [previous]
    finally:
        orphan.kill()
        orphan.wait()
    done = wait_for(lambda: finished(db_path, "good", 2), 30, "a run once the orphan is gone")
    assert (done[0]["id"], done[0]["status"]) == (previous, "abandoned")
    assert done[1]["status"] == "ok"
    assert scheduler.events("abandoned", job="good", run=previous)
    assert scheduler.stop()[0] == 0


def process_or_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_failing_job_is_recorded_and_the_scheduler_keeps_going(tmp_path, site, start):
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("broken", "broken-news"),
                          feeds_job("good", "good-news"))
    scheduler = start(config)
    broken = wait_for(lambda: finished(db_path, "broken", 2), 30, "two runs of the broken job")
    assert [run["status"] for run in broken[:2]] == ["failed", "failed"]
    assert "nothing could be fetched" in broken[0]["message"]
    assert "500" in broken[0]["message"] and broken[0]["errors"] >= 1
    # the good job runs on, after and alongside the failures
    good = wait_for(lambda: finished(db_path, "good", 2), 30, "two runs of the good job")
    assert good[1]["status"] == "ok" and good[1]["started_at"] >= broken[0]["finished_at"]
    assert scheduler.events("finished", job="broken", status="failed")
    assert scheduler.stop()[0] == 0

    # what a user sees: the failing outlet and the failed runs
    from click.testing import CliRunner

    from narrative_archive.cli import cli

    result = CliRunner().invoke(cli, ["status", "--db", str(db_path), "--config", str(config),
                                      "--format", "json"])
    report = json.loads(result.output)
    assert [row["outlet"] for row in report["failing_outlets"]] == ["broken-news"]
    assert "HTTP 500" in report["failing_outlets"][0]["last_error"]
    assert {run["id"]: run["status"] for run in report["last_runs"]}[broken[0]["id"]] == "failed"


def test_a_second_scheduler_on_the_same_archive_is_refused(tmp_path, site, start):
    config = write_config(tmp_path / "config", site, feeds_job("good", "good-news", every="1h"))
    first = start(config)
    wait_for(lambda: first.events("ready"), 20, "the first scheduler")
    second = start(config)
    assert second.process.wait(20) == 1
    second._reader.join(5)
    assert any("another scheduler is already running on this archive" in line
               for line in second.lines), second.lines
    assert first.process.poll() is None
    assert first.stop()[0] == 0


def test_timeout_stops_a_real_crawl(tmp_path, site):
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("stuck", "stuck-news",
                                                               timeout="2s"))
    store.open_db(db_path).close()
    from narrative_archive.config import load_config

    [job] = load_config(config).jobs
    outcome = jobs.run_job(job, db_path, config, grace=2)
    assert outcome.status == "timeout" and outcome.stopped == "timeout"
    [run] = runs(db_path)
    assert run["status"] == "timeout"
    assert run["message"].startswith("timed out after 2s (wall clock): sent SIGTERM")


def test_up_serves_and_schedules_and_ctrl_c_stops_all_of_it(tmp_path, site, start):
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config", site, feeds_job("good", "good-news", every="1h"))
    up = start(config, "--port", str(port), command="up")

    def answers():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/databases.json", timeout=2):
                return True
        except OSError:
            return False

    wait_for(answers, 30, "Datasette to answer")
    [run] = wait_for(lambda: finished(db_path, "good", 1), 30, "the first run")
    assert run["status"] == "ok"
    [serving] = up.events("serving", process="datasette")
    datasette = int(re.search(r" pid=(\d+)", serving)[1])

    code, seconds = up.ctrl_c()
    assert code == 0 and seconds < 3 + 10  # the crawl grace, Datasette's own stop
    wait_for(lambda: not process_or_zombie(datasette), 5, "Datasette to be gone")
    assert not answers()
    assert up.events("stopped") and up.events("exited", process="datasette")


def test_up_stops_everything_when_datasette_exits(tmp_path, site, start):
    import socket

    with socket.socket() as taken:  # Datasette cannot listen here
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = write_config(tmp_path / "config", site,
                              feeds_job("good", "good-news", every="1h"))
        up = start(config, "--port", str(taken.getsockname()[1]), command="up")
        assert up.process.wait(30) == 1
    up._reader.join(5)
    assert up.events("exited", process="datasette")
    assert up.events("stopped")
    assert all(run["status"] != "running" for run in runs(tmp_path / "archive.db"))


def test_a_scheduler_started_by_a_test_run_that_is_killed_ends_with_it(tmp_path, site):
    """A test run killed outright (no teardown) leaves no scheduler starting crawls behind:
    the daemons the tests start in their own sessions go with the process that started
    them (tests.conftest.dies_with_tests)."""
    config = write_config(tmp_path / "config", site, feeds_job("good", "good-news"))
    pid_file, log = tmp_path / "scheduler.pid", tmp_path / "scheduler.log"
    test_run = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "from tests.conftest import dies_with_tests\n"
        f"p = subprocess.Popen(dies_with_tests([sys.executable, '-m', 'narrative_archive', 'schedule',"
        f" '--db', {str(tmp_path / 'archive.db')!r}, '--config', {str(config)!r}]),"
        f" start_new_session=True, stdout=subprocess.DEVNULL, stderr=open({str(log)!r}, 'w'))\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n")], cwd=Path(__file__).parent.parent)
    try:
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30,
                           "the scheduler's pid"))
        wait_for(lambda: " event=ready" in log.read_text(), 60, "the scheduler to be ready")
    finally:
        test_run.kill()
        test_run.wait()
    wait_for(lambda: not alive(pid), 30, "the scheduler to end with the test run")


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
