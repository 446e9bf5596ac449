"""Whether a run's crawl process still runs, and settling runs whose process is gone: a
run left 'running' after kill -9, a crash or a reboot becomes 'abandoned' when `status`,
`crawl` or the scheduler next looks."""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence

import sqlite_utils

from narrative_archive import store
from narrative_archive.times import parse_iso

# A scheduled run's row is written just before its process starts; a manual crawl's
# process starts before its row. Whole seconds in started_at, and load, give the margin.
START_MARGIN = 10.0


def crawl_alive(pid: int | None, started_at: str | None = None) -> bool:
    """Whether `pid` is a live crawl process that can be the one of a run started at
    `started_at`: not gone, not a zombie, a crawl's command line, and not started after
    the run (a pid the system reused for a later process is not the run's)."""
    import psutil

    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline, created = process.cmdline(), process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    command = " ".join(cmdline)
    if "crawl" not in cmdline or not any(
            name in command for name in ("narrative_archive", "narrative-archive", "scrapy")):
        return False
    started = parse_iso(started_at)
    return started is None or created <= started.timestamp() + START_MARGIN


def run_alive(run: dict, host: str | None = None) -> bool | None:
    """Whether a 'running' run's process still runs: True, False, or None when this
    machine cannot tell (no pid recorded yet, or the run's host is another machine or
    container, where its pid means nothing here)."""
    try:
        args = json.loads(run.get("args") or "{}")
    except ValueError:
        args = {}
    run_host = args.get("host") if isinstance(args, dict) else None
    if not run.get("pid") or (run_host and run_host != (host or socket.gethostname())):
        return None
    return crawl_alive(run["pid"], run.get("started_at"))


def settle_runs(db: sqlite_utils.Database, scheduler_gone: bool = False,
                skip: Sequence[int] = ()) -> tuple[list[dict], list[dict]]:
    """Mark 'running' runs whose process is gone 'abandoned'; return (abandoned, alive).

    Runs this machine cannot judge (see run_alive) count as alive, unless
    `scheduler_gone` (the scheduler at start-up, holding the archive's lock) and the
    run is a scheduled one: its scheduler is gone, and its crawls went with it.
    Runs in `skip` (the caller's own) are left alone.
    """
    abandoned, alive = [], []
    for run in store.running_runs(db):
        if run["id"] in skip:
            continue
        verdict = run_alive(run)
        if verdict is None and scheduler_gone and run.get("job"):
            verdict = False
        if verdict is False and store.abandon_run(db, run["id"]):
            abandoned.append(run)
        elif verdict is not False:
            alive.append(run)
    return abandoned, alive
