"""`narrative-archive status`: the schedule with next runs, the last runs, failing outlets."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.config import Job
from narrative_archive.scheduler import status as status_module
from narrative_archive.scheduler.lock import SchedulerLock
from narrative_archive.times import humanize
from tests.conftest import article

SCHEDULE = """\
defaults:
  jitter: 2m
jobs:
  - id: feeds
    spider: feeds
    every: 30m
  - id: nightly-sitemaps
    spider: sitemaps
    cron: "0 3 * * *"
    since: 2d
"""


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def status(runner, db_path, config_dir, *args):
    result = runner.invoke(cli, ["status", "--db", str(db_path), "--config", str(config_dir),
                                 *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def history(db, config_dir):
    """schedule.yml with two jobs; feeds ran twice (ok, then failed), a manual crawl ran."""
    (config_dir / "schedule.yml").write_text(SCHEDULE)
    now = datetime.now(UTC)
    first = store.start_run(db, "feeds", {"job": "feeds", "crawl": ["feeds"]})
    store.finish_run(db, first, "ok", pages=12, new_articles=4)
    second = store.start_run(db, "feeds", {"job": "feeds", "crawl": ["feeds"]})
    store.finish_run(db, second, "failed", errors=3, message="nothing could be fetched\n"
                     "--- stderr (last lines) ---\nTraceback (most recent call last): ...")
    ten_minutes_ago = iso(now - timedelta(minutes=10))
    db.execute("UPDATE crawl_runs SET started_at = ? WHERE id = ?", [ten_minutes_ago, second])
    manual = store.start_run(db, "search", {"narratives": ["russia-arming-taliban"]})
    store.finish_run(db, manual, "ok")
    # example-news: its feed answers 500 since its last article; example-state recovered
    store.save_article(db, article("https://example.com/a", "Old text"), "example-news",
                       fetched_at=iso(now - timedelta(days=2)))
    for url in ("https://example.com/rss.xml", "https://example.com/b"):
        store.record_error(db, second, url, "HTTP 500", outlet_id="example-news")
    store.record_error(db, second, "https://state.example.org/x", "timeout",
                       outlet_id="example-state")
    db.execute("UPDATE crawl_errors SET at = ? WHERE outlet_id = 'example-state'",
               [iso(now - timedelta(hours=1))])
    store.save_article(db, article("https://state.example.org/y", "New text"), "example-state")
    return {"first": first, "second": second, "manual": manual, "now": now}


def test_status_shows_schedule_runs_and_failing_outlets(runner, db_path, config_dir, history):
    output = status(runner, db_path, config_dir)
    schedule = output.split("\nSchedule")[1].split("\nLast runs")[0]
    assert "scheduler not running" in schedule
    feeds_line = next(line for line in schedule.splitlines() if line.startswith("feeds "))
    # feeds ran 10 minutes ago: it would run 30 minutes after that run
    assert "every 30m (+ up to 2m jitter)" in feeds_line and "failed" in feeds_line
    nightly_line = next(line for line in schedule.splitlines() if line.startswith("nightly"))
    assert "cron 0 3 * * * UTC" in nightly_line and "T03:00:00Z" in nightly_line

    last_runs = output.split("\nLast runs")[1].split("\nFailing outlets")[0]
    assert "(manual)" in last_runs
    # a multi-line message is one line in the table
    assert "nothing could be fetched" in last_runs and "Traceback" not in last_runs

    failing = output.split("\nFailing outlets")[1]
    assert "example-news" in failing and "HTTP 500" in failing
    assert "example-state" not in failing  # an article came in after its error


def test_status_json(runner, db_path, config_dir, history):
    report = json.loads(status(runner, db_path, config_dir, "--format", "json"))
    assert report["scheduler"] == {"running": False}
    jobs = {row["job"]: row for row in report["schedule"]}
    assert set(jobs) == {"feeds", "nightly-sitemaps"}
    feeds = jobs["feeds"]
    assert (feeds["last_run"], feeds["last_status"]) == (history["second"], "failed")
    ran = datetime.fromisoformat(feeds["last_started_at"].replace("Z", "+00:00"))
    assert feeds["next_run_at"] == iso(ran + timedelta(minutes=30))
    assert jobs["nightly-sitemaps"]["last_run"] is None
    assert jobs["nightly-sitemaps"]["next_run_at"].endswith("T03:00:00Z")
    assert [run["job"] for run in report["last_runs"]] == [None, "feeds", "feeds"]
    [failing] = report["failing_outlets"]
    assert failing["outlet"] == "example-news" and failing["consecutive_failures"] == 2


def test_status_while_a_scheduler_runs(runner, db_path, config_dir, history):
    with SchedulerLock(db_path):
        output = status(runner, db_path, config_dir)
        report = json.loads(status(runner, db_path, config_dir, "--format", "json"))
    assert "scheduler running: pid" in output
    assert report["scheduler"]["running"] is True
    feeds = next(row for row in report["schedule"] if row["job"] == "feeds")
    assert feeds["next_run"].startswith(feeds["next_run_at"]) and "(in " in feeds["next_run"]


@pytest.fixture
def crawl_process():
    """A live process that looks like a crawl (its command line says so)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                                "crawl", "narrative_archive"])
    yield process
    process.kill()
    process.wait()


def test_status_shows_a_running_job(runner, db_path, config_dir, db, history, crawl_process):
    running = store.start_run(db, "feeds", {"job": "feeds"}, pid=crawl_process.pid)
    report = json.loads(status(runner, db_path, config_dir, "--format", "json"))
    feeds = next(row for row in report["schedule"] if row["job"] == "feeds")
    assert feeds["next_run"] == f"running now (run {running})"
    assert {run["id"]: run["status"] for run in report["last_runs"]}[running] == "running"


def test_status_marks_a_run_whose_process_is_gone_abandoned(runner, db_path, config_dir, db,
                                                            history, crawl_process):
    gone = subprocess.Popen([sys.executable, "-c", "pass", "crawl", "narrative_archive"])
    gone.wait()
    killed = store.start_run(db, "feeds", {"job": "feeds"}, pid=gone.pid)  # kill -9, say
    # the pid now names another crawl, started long after this run: not its process
    reused = store.start_run(db, "search", {}, pid=crawl_process.pid)
    db.execute("UPDATE crawl_runs SET started_at = ? WHERE id = ?",
               [iso(datetime.now(UTC) - timedelta(hours=2)), reused])
    live = store.start_run(db, "sitemaps", {}, pid=crawl_process.pid)
    other_host = store.start_run(db, "feeds", {"job": "feeds", "host": "elsewhere"},
                                 pid=gone.pid)  # a pid of another machine means nothing here
    report = json.loads(status(runner, db_path, config_dir, "--format", "json"))
    statuses = {run["id"]: run["status"] for run in report["last_runs"]}
    assert statuses[killed] == statuses[reused] == "abandoned"
    assert statuses[live] == statuses[other_host] == "running"
    message = next(run["message"] for run in report["last_runs"] if run["id"] == killed)
    assert message == "process ended without closing the run"
    assert "abandoned" in status(runner, db_path, config_dir)


def test_status_with_a_broken_schedule_still_reports(runner, db_path, config_dir, history):
    (config_dir / "schedule.yml").write_text("jobs:\n  - id: feeds\n    spider: nope\n")
    output = status(runner, db_path, config_dir)
    assert "job 'feeds': spider: expected one of feeds, sitemaps, search, revisit (line 3)" in output
    assert "Last runs" in output and "example-news" in output


def test_next_run_estimates():
    now = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    feeds = Job(id="feeds", spider="feeds", every=1800)
    from narrative_archive.scheduler.triggers import next_run_estimate

    # a running scheduler keeps the job on its grid: last start + n x interval
    last = now - timedelta(minutes=70)
    assert next_run_estimate(feeds, last, now, True) == now + timedelta(minutes=20)
    # a stopped one would run it at start-up
    assert next_run_estimate(feeds, last, now, False) == now
    assert humanize(7260) == "2h 1m" and humanize(42) == "42s"


def test_a_job_that_never_ran_is_due_now(db):
    fresh = Job(id="fresh", spider="feeds", every=1800, jitter=120)
    [row] = status_module.schedule(db, [fresh], scheduler_running=True)
    assert row["next_run"] == "due now (within 2m of jitter)"
