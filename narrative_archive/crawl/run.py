"""Run spiders in this process: the engine behind `narrative-archive crawl`.

One process, one Twisted reactor, the spiders one after another (never two at
once: that would double the load on an outlet). Each spider reports into its
own crawl_runs row, created here (or given by the scheduler with --run-id),
and the pipeline keeps its counters current and closes it. On a terminal a
live table shows the counters; at the end a summary table goes to stdout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from narrative_archive import store
from narrative_archive.capture import CaptureDirError
from narrative_archive.config import SPIDERS, Config, load_config, select_by_id
from narrative_archive.crawl import runs
from narrative_archive.crawl.faults import DISK_FULL
from narrative_archive.crawl.faults import STAT as DISK_FULL_STAT
from narrative_archive.crawl.report import (
    SpiderRun,
    progress_table,
)
from narrative_archive.crawl.settings_check import check_setting
from narrative_archive.paths import DEFAULT_DB, captures_dir

ON_DEMAND = ("backfill",)  # spiders run only when named (never by a bare `crawl`)


def parse_settings(pairs: Iterable[str]) -> dict[str, str]:
    """-s NAME=VALUE pairs as a dict; ValueError for a pair without '='."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def scrapy_settings(db_path: str | Path, config_dir: str | Path | None,
                    overrides: dict[str, Any] | None = None):
    """narrative_archive.crawl.settings, then the archive and config paths, then -s overrides."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("narrative_archive.crawl.settings", priority="project")
    settings.set("NARRATIVE_ARCHIVE_DB", str(db_path), priority="cmdline")
    if config_dir:
        settings.set("NARRATIVE_ARCHIVE_CONFIG", str(config_dir), priority="cmdline")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def capture_settings(db_path: str | Path, captures: str | Path | None, capture: bool,
                     overrides: dict[str, Any]) -> dict[str, Any]:
    """The capture settings of a crawl, after checking the directory (CaptureDirError).

    `-s NARRATIVE_ARCHIVE_CAPTURES=...` and `-s NARRATIVE_ARCHIVE_CAPTURE=0` win over
    --captures and the default.
    """
    from scrapy.settings import BaseSettings

    from narrative_archive.capture import check_captures_dir

    given = BaseSettings(overrides)
    if not given.getbool("NARRATIVE_ARCHIVE_CAPTURE", True):
        capture = False
    directory = overrides.get("NARRATIVE_ARCHIVE_CAPTURES") or captures_dir(
        db_path, captures, capture)
    if not capture or not directory:
        return {"NARRATIVE_ARCHIVE_CAPTURE": False}
    return {"NARRATIVE_ARCHIVE_CAPTURE": True,
            "NARRATIVE_ARCHIVE_CAPTURES": str(check_captures_dir(directory))}


def _wait_for_exit(pid: int) -> None:
    """Return once process `pid`, this process's parent, has exited."""
    if os.getppid() != pid:
        return  # already gone: this process was handed to another parent
    try:
        handle = os.pidfd_open(pid)  # Linux: readable when the process exits
    except (AttributeError, OSError):
        while os.getppid() == pid:
            time.sleep(0.5)
        return
    try:
        if os.getppid() == pid:  # the handle names the parent, not a reused pid
            select.select([handle], [], [])
    finally:
        os.close(handle)


def watch_supervisor(pid: int, grace: float, db_path: str | Path | None = None,
                     run_id: int | None = None) -> threading.Thread:
    """Stop this crawl when its scheduler (`pid`, its parent) dies, however it dies.

    A crawl left running by a scheduler killed with -9 would run on with no timeout,
    and a restarted scheduler would start the same job beside it. Once the scheduler
    is gone the crawl gets what the scheduler's stop would have given it: SIGTERM (a
    graceful close of its run), then after `grace` seconds its run `run_id` marked
    'abandoned' (if still open) and SIGKILL for its process group, extraction
    workers included.
    """

    def watch() -> None:
        _wait_for_exit(pid)
        logging.getLogger(__name__).warning(
            "the scheduler (pid %d) is gone: stopping this crawl", pid)
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
            os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's graceful stop
            time.sleep(grace)
        # else still starting up: nothing to close gracefully, and SIGTERM would kill
        # this process before its run is closed
        if db_path is not None and run_id is not None:
            with contextlib.suppress(Exception):  # being killed matters more than the note
                db = store.open_db(db_path, migrate=False)
                store.abandon_run(db, run_id, f"its scheduler (pid {pid}) died: stopped, "
                                  "killed after the grace period")
                db.close()
        if os.getpgrp() == os.getpid():  # our own group (the scheduler starts us so)
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="supervisor-watch", daemon=True)
    thread.start()
    return thread


def check_arguments(config: Config, spiders: Sequence[str], outlets: Sequence[str],
                    narratives: Sequence[str], since: str | None, until: str | None,
                    run_id: int | None) -> None:
    """Raise ValueError naming the first bad argument, before anything starts."""
    from narrative_archive.times import parse_when

    unknown = [s for s in spiders if s not in SPIDERS and s not in ON_DEMAND]
    if unknown:
        raise ValueError(f"unknown spider {unknown[0]!r} (known: {', '.join(SPIDERS)})")
    select_by_id(config.outlets, tuple(outlets), "outlet")
    select_by_id(config.narratives, tuple(narratives), "narrative")
    start, end = parse_when(since), parse_when(until, end=True)
    if start and end and start > end:
        raise ValueError("--since is after --until")
    if run_id is not None and len(spiders) != 1:
        raise ValueError("--run-id needs exactly one spider")
    if "search" in spiders and not config.narratives:
        raise ValueError("the search spider needs narratives, and none are configured")


def run_crawl(
    spiders: Sequence[str] = (),
    *,
    db_path: str | Path = DEFAULT_DB,
    config_dir: str | Path | None = None,
    outlets: Sequence[str] = (),
    narratives: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
    settings: dict[str, Any] | None = None,
    run_id: int | None = None,
    progress: bool | None = None,
    console: Console | None = None,
    captures: str | Path | None = None,
    capture: bool = True,
    supervisor: int | None = None,
    grace: float = 30.0,
    spider_args: dict[str, Any] | None = None,
) -> list[SpiderRun]:
    """Run the spiders (all of them by default) one after another; return their runs.

    Every response is captured as WARC into `captures` (default: `captures/`
    beside the archive) unless `capture` is off. Raises ValueError (bad
    arguments), config.ConfigError or capture.CaptureDirError (a captures dir
    that cannot be used; a given --run-id is closed as failed) before anything
    is fetched. `progress` (default: when stderr is a terminal) shows a live table
    on stderr; `console` is where it goes. `supervisor`: the pid of the scheduler
    that started this crawl, which stops when it dies (see watch_supervisor).
    """
    if supervisor is not None:
        watch_supervisor(supervisor, grace, db_path, run_id)
    spiders = list(dict.fromkeys(spiders)) or list(SPIDERS)
    config = load_config(config_dir, check_setting=check_setting)
    check_arguments(config, spiders, outlets, narratives, since, until, run_id)
    overrides = crawl_overrides(db_path, settings, captures, capture, run_id)
    console = console or Console(stderr=True)
    if progress is None:
        progress = console.is_terminal
    scrapy_conf = scrapy_settings(db_path, config_dir, overrides)
    db = store.open_db(db_path)  # the pipeline stores outlets and narratives when it opens
    runs = open_runs(db, db_path, spiders, run_id)
    process = crawler_process(scrapy_conf, console, progress, explicit="LOG_LEVEL" in overrides)
    live = Live(progress_table(runs), console=console, refresh_per_second=4,
                transient=False) if progress else None
    spider_kwargs = {"outlets": list(outlets), "narratives": list(narratives), "since": since,
                     "until": until, "limit": limit}
    done = crawl_in_turn(process, db, runs, spider_kwargs, spider_args or {}, config)
    with live_display(live, runs):
        run_reactor(process, done)
    return close_runs(db, runs)


def crawl_overrides(db_path: str | Path, settings: dict[str, Any] | None,
                    captures: str | Path | None, capture: bool,
                    run_id: int | None) -> dict[str, Any]:
    """The -s overrides plus the capture settings; a captures dir that cannot be used
    raises CaptureDirError and closes a given `run_id` as failed."""
    overrides = dict(settings or {})
    try:
        overrides.update(capture_settings(db_path, captures, capture, overrides))
    except CaptureDirError as error:
        if run_id is not None:
            db = store.open_db(db_path)
            store.finish_run(db, run_id, "failed", message=f"not started: {error}")
            db.close()
        raise
    return overrides


def open_runs(db, db_path: str | Path, spiders: Sequence[str],
              run_id: int | None) -> list[SpiderRun]:
    """One waiting SpiderRun per spider, after checking a given `run_id` (ValueError)."""
    if run_id is not None:
        row = store.get_run(db, run_id)
        if row is None:
            raise ValueError(f"--run-id {run_id}: no such crawl run in {db_path}")
        if row["pid"] is None:
            store.update_run(db, run_id, pid=os.getpid())
    # runs left 'running' by a crawl killed with -9 are closed now, as `status` does
    runs.settle_runs(db, skip=[run_id] if run_id is not None else [])
    # A spider's run row is created when it starts (a spider waiting its turn is not running).
    return [SpiderRun(name, run_id) for name in spiders]


def crawler_process(scrapy_conf, console: Console, progress: bool, explicit: bool):
    """Scrapy's CrawlerProcess; with `progress` its logs go to `console`, above the live table."""
    # Every crawl fetches over HTTP. Importing the download handler builds deprecated classes
    # with inspect.stack() (scrapy.utils.deprecate), whose cost grows with the stack: here
    # it is 0.08 s, at the first request (deep in the reactor's calls) 0.3 s.
    import scrapy.core.downloader.handlers.http11  # noqa: F401
    from scrapy.crawler import CrawlerProcess

    if progress:
        _log_to_console(console, scrapy_conf, explicit=explicit)
        scrapy_conf.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    # Scrapy leaves the root logger at NOTSET and filters in its handler, so its DEBUG lines
    # ("Crawled", "Scraped from", a few a page) are built as records and then dropped:
    # its loggers stop at the level shown. (After CrawlerProcess(), whose configure_logging
    # sets the "scrapy" logger to DEBUG.)
    process = CrawlerProcess(scrapy_conf)
    shown = scrapy_conf.get("LOG_LEVEL") if explicit or not progress else "WARNING"
    logging.getLogger("scrapy").setLevel(shown)
    return process


def crawl_in_turn(process, db, runs: list[SpiderRun], spider_kwargs: dict[str, Any],
                  spider_args: dict[str, Any], config: Config | None = None):
    """Start crawling the runs' spiders one after another; a Deferred fired when all are done.

    Creating the first crawler installs the asyncio reactor.
    """
    from twisted.internet import defer

    return defer.inlineCallbacks(_crawl_each)(process, db, runs, spider_kwargs, spider_args,
                                              config)


def _crawl_each(process, db, runs: list[SpiderRun], spider_kwargs: dict[str, Any],
                spider_args: dict[str, Any], config: Config | None = None):
    arguments = {key: value for key, value in (*spider_kwargs.items(), *spider_args.items())
                 if value}
    # The first spider is handed the config run_crawl has just read (reading it costs
    # ~0.1 s of start-up); a later one, which may start hours later, reads it again.
    given = {"config": config} if config is not None else {}
    for run in runs:
        if run.run_id is None:
            run.run_id = store.start_run(db, run.spider, arguments, pid=os.getpid())
        crawler = process.create_crawler(run.spider)
        run.crawler, run.started = crawler, time.monotonic()
        try:
            yield process.crawl(crawler, **spider_kwargs, run_id=run.run_id, **given,
                                **spider_args)
        except Exception as error:  # the spider could not even start
            logging.getLogger(__name__).error("%s could not start: %s", run.spider, error)
            run.message = f"could not start: {error}"
        given = {}
        run.finished = time.monotonic()
        run.stats = _stats(crawler)
        run.finish_reason = run.stats.get("finish_reason")
        if run.finish_reason == "shutdown":
            break  # Ctrl-C or SIGTERM: do not start the next spider


@contextlib.contextmanager
def live_display(live: Live | None, runs: Sequence[SpiderRun]) -> Iterator[None]:
    """Show `live` (if any) while the block runs, its table refreshed four times a second."""
    if live is None:
        yield
        return
    from twisted.internet import task  # once the reactor is installed: LoopingCall imports it

    ticker = task.LoopingCall(lambda: live.update(progress_table(runs)))
    live.start()
    ticker.start(0.25, now=False)
    try:
        yield
    finally:
        if ticker.running:
            ticker.stop()
        live.update(progress_table(runs))
        live.stop()


def run_reactor(process, done) -> None:
    """Run the reactor until `done` fires, then stop it."""
    done.addBoth(_stop_reactor)
    if not done.called:  # every spider failed to start: no reactor to run
        from narrative_archive.crawl.quietgc import quiet_gc

        quiet_gc()  # what start-up built lives as long as the process
        process.start(stop_after_crawl=False)


def close_runs(db, runs: list[SpiderRun]) -> list[SpiderRun]:
    """Read back each run; close any the pipeline could not (a forced stop, a startup error)."""
    for run in runs:
        if run.crawler is not None and not run.stats:
            run.stats = _stats(run.crawler)
        run.crawler = None
        if run.run_id is None:  # never started (the crawl was stopped before its turn)
            run.status, run.message = "not started", None
            continue
        full = run.stats.get(DISK_FULL_STAT)
        try:
            row = store.get_run(db, run.run_id)
            if row and row["status"] == "running":  # could not start, or stopped by force
                status = "failed" if run.message or full else "interrupted"
                message = run.message or (f"stopped, the disk is full ({full})" if full else
                                          "stopped before the run was closed")
                store.finish_run(db, run.run_id, status, message=message)
                row = store.get_run(db, run.run_id)
        except sqlite3.Error as error:  # the disk is full: the next crawl settles the row
            if not store.disk_full(error):
                raise
            row = {"status": "failed", "message": f"stopped, the disk is full ({full or error});"
                   " this run stays 'running' in the archive until the next crawl settles it"}
        if row:
            run.status, run.message = row["status"], row["message"]
    return runs


def _stats(crawler) -> dict[str, Any]:
    try:
        return dict(crawler.stats.get_stats())
    except AttributeError:  # the crawler never set itself up
        return {}


def _stop_reactor(_=None) -> None:
    from twisted.internet import reactor

    with contextlib.suppress(RuntimeError):  # already stopping (Ctrl-C)
        reactor.stop()  # type: ignore[misc]  # the twisted stubs type the global reactor badly


def exit_code(runs: Sequence[SpiderRun]) -> int:
    """Non-zero when nothing at all could be fetched (a revisit with nothing due is ok) or
    when the disk filled up."""
    if any(getattr(run, "finish_reason", None) == DISK_FULL
           or (getattr(run, "stats", None) or {}).get(DISK_FULL_STAT) for run in runs):
        return 1
    return 0 if any(run.fetched or getattr(run, "status", None) == "ok" for run in runs) else 1


def exit_now(code: int) -> None:
    """Leave the process now that every run is closed and the summary printed.

    Everything worth keeping is committed. A normal interpreter exit would join
    the threads of the extraction pool and the archive writer, and after a
    forced stop (Ctrl-C twice) one of them may be stuck: a crawl must never
    outlive its work. Extraction workers notice and leave within a second.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (a killed scheduler)
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _log_to_console(console: Console, settings, explicit: bool) -> None:
    """Logs above the live table (rich), WARNING and up unless -s LOG_LEVEL asked for more."""
    from rich.logging import RichHandler

    level = settings.get("LOG_LEVEL") if explicit else "WARNING"
    handler = RichHandler(console=console, show_path=False, markup=False,
                          rich_tracebacks=False, log_time_format="%H:%M:%S")
    handler.setLevel(level)
    logging.root.addHandler(handler)
