"""`narrative-archive crawl` and `extract` as a user and the scheduler run them: arguments,
--run-id, exit codes, progress and summary, Ctrl-C/SIGTERM and kill -9, `scrapy crawl`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.crawl.run import exit_code, parse_settings
from narrative_archive.times import parse_when
from tests.conftest import wait_for
from tests.fixture_server import (
    FAST,
    OUTLETS,
    REPO,
    FixtureServer,
    Reply,
    crawl_command,
    crawl_env,
    query,
    run_crawl,
    write_config,
)

EXTRACT_FILES = Path(__file__).parent / "files" / "extract"


@pytest.fixture(scope="module")
def server():
    with FixtureServer() as fixture:
        yield fixture


# --- plain functions ----------------------------------------------------------------------


def test_parse_settings():
    assert parse_settings(["DOWNLOAD_DELAY=0", "X=a=b", "EMPTY="]) == {
        "DOWNLOAD_DELAY": "0", "X": "a=b", "EMPTY": ""}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_settings(["DOWNLOAD_DELAY"])


def test_parse_when():
    now = datetime(2024, 5, 21, 12, 0, tzinfo=UTC)
    assert parse_when("3d", now=now) == now - timedelta(days=3)
    assert parse_when("90m", now=now) == now - timedelta(minutes=90)
    assert parse_when("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_when("2024-05-01", end=True) == datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_when("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert parse_when("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_when(None) is None and parse_when("") is None
    for bad in ("yesterday", "2024-13-01", "3 weeks"):
        with pytest.raises(ValueError, match="expected a date"):
            parse_when(bad)


# --- arguments (no crawl starts) ------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["feeds", "--outlet", "nope"], "unknown outlet: nope"),
    (["search", "--narrative", "nope"], "unknown narrative: nope"),
    (["feeds", "--since", "yesterday"], "expected a date"),
    (["sitemaps", "--since", "2024-05-02", "--until", "2024-05-01"], "--since is after --until"),
    (["feeds", "sitemaps", "--run-id", "1"], "--run-id needs exactly one spider"),
    (["feeds", "-s", "DOWNLOAD_DELAY"], "expected NAME=VALUE"),
    (["spiderman"], "Invalid value for '[SPIDER]...'"),
])
def test_bad_arguments_exit_2_before_crawling(tmp_path, args, message):
    config = write_config(tmp_path / "config")
    result = CliRunner().invoke(cli, ["crawl", *args, "--db", str(tmp_path / "a.db"),
                                      "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    if not (tmp_path / "a.db").exists():
        return
    assert query(tmp_path / "a.db", "SELECT count(*) AS n FROM crawl_runs")[0]["n"] == 0


def test_run_id_must_exist(tmp_path):
    config = write_config(tmp_path / "config")
    result = CliRunner().invoke(cli, ["crawl", "feeds", "--run-id", "42", "--db",
                                      str(tmp_path / "a.db"), "--config", str(config)])
    assert result.exit_code == 2 and "no such crawl run" in result.output


# --- extract ------------------------------------------------------------------------------


def test_extract_prints_what_would_be_stored():
    page = EXTRACT_FILES / "jsonld_newsarticle.html"
    result = CliRunner().invoke(cli, ["extract", str(page), "--url", "https://example.com/a"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for field in ("title", "text", "authors", "published_at", "modified_at", "language",
                  "canonical_url", "links", "content_hash"):
        assert field in data
    assert data["file"] == str(page) and data["url"] == "https://example.com/a"
    assert data["title"] == "US general says Russia is arming the Taliban"


def test_extract_jsonl_in_order_with_errors():
    files = [EXTRACT_FILES / "opengraph_only.html", EXTRACT_FILES / "nav_only.html",
             EXTRACT_FILES / "arabic.html"]
    result = CliRunner().invoke(cli, ["extract", *map(str, files), "--format", "jsonl"])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    failed = [line for line in lines if "error" in line]
    assert result.exit_code == (1 if failed else 0)
    assert lines[2]["language"] == "ar"


# --- crawls -------------------------------------------------------------------------------


def test_exit_1_when_nothing_could_be_fetched(tmp_path):
    with socket_nobody_listens_on() as port:
        down = {"id": "down", "name": "Down", "url": f"http://127.0.0.1:{port}/",
                "domains": ["127.0.0.1"], "feeds": [f"http://127.0.0.1:{port}/feed.xml"]}
        config = write_config(tmp_path / "config", [down])
        result = run_crawl(None, ["feeds"], tmp_path / "a.db", config,
                           settings={"RETRY_TIMES": "1"})
    assert result.returncode == 1, result.stderr[-2000:]
    [run] = query(tmp_path / "a.db", "SELECT * FROM crawl_runs")
    assert run["status"] == "failed" and run["finished_at"]
    assert run["message"] == "nothing could be fetched: connection refused (1)"
    [error] = query(tmp_path / "a.db", "SELECT url, reason, outlet_id FROM crawl_errors")
    assert error == {"url": f"http://127.0.0.1:{port}/feed.xml", "reason": "connection refused",
                     "outlet_id": "down"}
    assert "failed" in result.stdout and "connection refused" in result.stdout


class socket_nobody_listens_on:
    """A local port that refuses connections."""

    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()


def direct_outlet(server: FixtureServer, count: int, delay: float = 0.0,
                  claim: Callable[[int], str] | None = None) -> dict:
    """An outlet on 127.0.0.1:<port> itself (no proxy): a feed of `count` articles;
    `claim(number)`, when given, is one more paragraph of article `number`."""
    items = []
    for number in range(count):
        text = " ".join(
            f"Paragraph {p} of story {number}: the Taliban administration in Kabul announced new"
            f" measures on trade, roads and irrigation in province number {number}."
            for p in range(8))
        extra = f"<p>{claim(number)}</p>" if claim else ""
        html = (f"<html><head><title>Story {number}</title></head><body><nav><a href='/'>Home</a>"
                f"</nav><article><h1>Story {number}</h1><p>{text}</p>{extra}<p>{text}</p></article>"
                "</body></html>")
        server.add("127.0.0.1", f"/story/{number}", Reply(200, html.encode(), delay=delay))
        items.append(f"<item><title>Story {number}</title>"
                     f"<link>{server.url}/story/{number}</link></item>")
    feed = f"<rss version='2.0'><channel><title>Direct</title>{''.join(items)}</channel></rss>"
    server.add("127.0.0.1", "/feed.xml", Reply(200, feed.encode(),
                                                {"Content-Type": "application/rss+xml"}))
    return {"id": "direct", "name": "Direct", "url": f"{server.url}/", "domains": ["127.0.0.1"],
            "feeds": [f"{server.url}/feed.xml"]}


def test_run_id_is_reported_into_and_limit_applies(server, tmp_path):
    config = write_config(tmp_path / "config", [direct_outlet(server, 4)])
    db = store.open_db(tmp_path / "a.db")
    run_id = store.start_run(db, "feeds", {"job": "feeds"})
    db.close()
    result = run_crawl(None, ["feeds"], tmp_path / "a.db", config, "--run-id", str(run_id),
                       "--limit", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    runs = query(tmp_path / "a.db", "SELECT * FROM crawl_runs")
    assert len(runs) == 1  # no second row
    [run] = runs
    assert (run["id"], run["status"], run["pages"], run["new_articles"]) == (run_id, "ok", 3, 3)
    assert run["pid"] and run["finished_at"] and run["args"] == '{"job": "feeds"}'
    assert query(tmp_path / "a.db", "SELECT count(*) AS n FROM articles")[0]["n"] == 3


def test_progress_and_summary(server, tmp_path):
    config = write_config(tmp_path / "config")
    result = run_crawl(server, ["feeds"], tmp_path / "a.db", config, "--outlet", "dawn",
                       "--progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "narrative-archive crawl" in result.stderr  # the live table (its last frame here)
    assert "Crawl summary" in result.stdout and "feeds" in result.stdout
    assert "[scrapy" not in result.stderr  # INFO logs make way for the table


def wait_for_articles(db_path: Path, count: int, timeout: float = 30) -> int:
    def stored() -> int:
        try:
            connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)
            try:
                found = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
            finally:
                connection.close()
        except sqlite3.Error:
            return 0
        return found if found >= count else 0

    return wait_for(stored, timeout, f"{count} articles")
    raise AssertionError(f"fewer than {count} articles after {timeout} s")


# Few requests in flight, so a stop leaves some articles unfetched.
SLOW = {"CONCURRENT_REQUESTS": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}


def start_crawl(server, db_path, config, spiders=("feeds",)) -> subprocess.Popen:
    return subprocess.Popen(
        crawl_command(spiders, db_path, config, settings=SLOW), env=crawl_env(None),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_complete_without_duplicates(db_path: Path, expected: int) -> None:
    [row] = query(db_path, "SELECT count(*) AS n, count(DISTINCT canonical_url) AS urls,"
                           " count(DISTINCT content_hash) AS texts FROM articles")
    assert row == {"n": expected, "urls": expected, "texts": expected}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_stop_then_resume(server, tmp_path, sig):
    config = write_config(tmp_path / "config", [direct_outlet(server, 8, delay=0.3)])
    db_path = tmp_path / "a.db"
    process = start_crawl(server, db_path, config, spiders=("feeds", "sitemaps"))
    wait_for_articles(db_path, 2)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    [run] = query(db_path, "SELECT * FROM crawl_runs")  # sitemaps never started: no row
    assert run["status"] == "interrupted"  # not 'ok': a user can tell it was cut short
    assert run["message"].startswith("interrupted by a signal: ")
    stored = query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"]
    assert 2 <= stored < 8 and run["new_articles"] == stored
    assert "not started" in stdout  # the summary says so

    result = run_crawl(None, ["feeds"], db_path, config)  # started again: the rest, once
    assert result.returncode == 0, result.stderr[-2000:]
    assert_complete_without_duplicates(db_path, 8)
    last = query(db_path, "SELECT new_articles FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert last["new_articles"] == 8 - stored


def test_kill_9_loses_nothing_stored_and_leaves_no_workers(server, tmp_path):
    config = write_config(tmp_path / "config", [direct_outlet(server, 8, delay=0.3)])
    db_path = tmp_path / "a.db"
    process = start_crawl(server, db_path, config)
    wait_for_articles(db_path, 2)
    children = psutil.Process(process.pid).children(recursive=True)
    assert children  # the forkserver and the extraction workers
    process.kill()
    process.communicate(timeout=10)
    stored = query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"orphaned workers: {alive}"
    [run] = query(db_path, "SELECT id, status FROM crawl_runs")
    assert run["status"] == "running"  # nobody could close it

    result = run_crawl(None, ["feeds"], db_path, config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_complete_without_duplicates(db_path, 8)
    # the next crawl saw its process gone
    assert query(db_path, "SELECT status, message FROM crawl_runs WHERE id = ?", [run["id"]]) \
        == [{"status": "abandoned", "message": "process ended without closing the run"}]
    assert query(db_path, "SELECT new_articles FROM crawl_runs ORDER BY id DESC LIMIT 1")[0][
        "new_articles"] == 8 - stored


def test_scrapy_list_and_scrapy_crawl_from_the_repo_root(server, tmp_path):
    scrapy = [sys.executable, "-m", "scrapy"]
    listed = subprocess.run([*scrapy, "list"], cwd=REPO, capture_output=True, text=True,
                            env=crawl_env(None), timeout=60)
    assert listed.stdout.split() == ["backfill", "feeds", "revisit", "search", "sitemaps"], \
        listed.stderr[-2000:]

    config = write_config(tmp_path / "config", [o for o in OUTLETS if o["id"] == "tass"])
    settings = {**FAST, "NARRATIVE_ARCHIVE_DB": str(tmp_path / "a.db"),
                "NARRATIVE_ARCHIVE_CONFIG": str(config)}
    command = [*scrapy, "crawl", "feeds", "-a", "outlets=tass"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    crawled = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                             env=crawl_env(server), timeout=60)
    assert crawled.returncode == 0, crawled.stderr[-2000:]
    [run] = query(tmp_path / "a.db", "SELECT spider, status, args, new_articles FROM crawl_runs")
    assert run == {"spider": "feeds", "status": "ok", "args": '{"outlets": ["tass"]}',
                   "new_articles": 3}


def test_exit_code_counts_any_fetch():
    class Run:
        def __init__(self, fetched):
            self.fetched = fetched

    assert exit_code([Run(0), Run(3)]) == 0
    assert exit_code([Run(0)]) == 1


def test_sigterm_to_the_whole_process_group_loses_no_page(server, tmp_path):
    # what systemd (KillMode=control-group) and `docker stop` do: every process of the
    # crawl gets SIGTERM, the extraction workers and their forkserver included
    # 24 slow pages, 4 at a time: the crawl cannot be done when the signal arrives
    config = write_config(tmp_path / "config", [direct_outlet(server, 24, delay=1.0)])
    db_path = tmp_path / "a.db"
    process = subprocess.Popen(
        crawl_command(("feeds",), db_path, config,
                      settings={"CONCURRENT_REQUESTS": "4", "CONCURRENT_REQUESTS_PER_DOMAIN": "4"}),
        env=crawl_env(None), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    wait_for_articles(db_path, 1)
    os.killpg(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    assert query(db_path, "SELECT url, reason FROM crawl_errors") == []
    [run] = query(db_path, "SELECT status, message, pages, new_articles FROM crawl_runs")
    assert run["status"] == "interrupted"
    assert run["message"].startswith("interrupted by a signal: ")
    assert run["pages"] == run["new_articles"]  # every page in flight was stored

    result = run_crawl(None, ["feeds"], db_path, config)  # the rest now, not in a day
    assert result.returncode == 0, result.stderr[-2000:]
    assert_complete_without_duplicates(db_path, 24)
