"""Run one crawl as a subprocess and account for it in crawl_runs.

The contract with `narrative-archive crawl`:

- the scheduler creates the crawl_runs row (status 'running') and starts
  `python -m narrative_archive crawl <job args> --db PATH [--config DIR] --run-id N
  --supervisor PID --grace S`;
- the crawl stops by itself if the scheduler (PID) dies: SIGTERM to itself, SIGKILL
  to its group after the grace, so no crawl runs on unsupervised;
- the crawl updates that row's counters as it goes and closes it with status
  'ok', 'interrupted' (a signal cut it short) or 'failed' (every fetch failed);
- the scheduler owns everything the crawl cannot do for itself: its pid, the
  wall-clock timeout (SIGTERM, a grace period, then SIGKILL; status 'timeout'),
  a crawl that exits without closing its row (a crash: 'failed', with the tail
  of its stderr in crawl_runs.message), a crawl stopped because the scheduler
  is stopping ('interrupted' when it closed its run, 'abandoned' when it had to be
  killed), and the stderr tail of
  every failed run.

Each crawl runs in its own session (process group), so a Ctrl-C in the
terminal reaches the scheduler only, and the scheduler decides what the crawl
gets: SIGTERM to the crawl process for a graceful close, SIGKILL to the whole
group (extraction workers included) when the grace period is over.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from narrative_archive import store
from narrative_archive.config import Job
from narrative_archive.times import format_duration

STDERR_TAIL_LINES = 40
ERROR_LINES = 10
MESSAGE_LIMIT = 4000
_ERROR_LINE = re.compile(r"\] (ERROR|CRITICAL): |^Traceback |^\w+(Error|Exception): |^Error: ")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")

Log = Callable[..., None]


def _no_log(event: str, **fields) -> None:
    pass


@dataclass(frozen=True)
class CrawlOutcome:
    """What became of one run."""

    run_id: int
    status: str
    returncode: int | None
    seconds: float
    stopped: str | None = None  # 'timeout' or 'shutdown' when the scheduler stopped it
    killed: bool = False  # it needed SIGKILL


def crawl_command(job: Job, db_path: str | Path, config_dir: str | Path | None, run_id: int,
                  python: str = sys.executable, grace: float = 30.0) -> list[str]:
    """The command line of one scheduled run: it reports into run `run_id`; a crawl stops
    (SIGTERM, then SIGKILL after `grace` seconds) if this process, its scheduler, dies (a
    task commits as it goes and runs to its end)."""
    command = [python, "-m", "narrative_archive", *job.command_args(), "--db", str(db_path)]
    if config_dir is not None:
        command += ["--config", str(config_dir)]
    if job.task:
        return command + ["--run-id", str(run_id)]
    return command + ["--run-id", str(run_id), "--supervisor", str(os.getpid()),
                      "--grace", f"{grace:g}"]


def run_args(job: Job) -> dict:
    """What the scheduler records in crawl_runs.args: the job id (crawl_runs.job, which
    `status` and a restarted scheduler read, holds it too), the crawl arguments, and the
    host the crawl's pid belongs to."""
    if job.task:
        return {"job": job.id, "command": job.command_args(), "host": socket.gethostname()}
    return {"job": job.id, "crawl": job.crawl_args(), "host": socket.gethostname()}


def exit_field(returncode: int | None) -> str:
    """A return code for a log line: '0', '3' or 'SIGKILL'."""
    text = describe_exit(returncode)
    return text.removeprefix("exit code ").removeprefix("signal ")


def describe_exit(returncode: int | None) -> str:
    """'exit code 3' or 'signal SIGKILL'."""
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class OutputTail:
    """Reads a pipe to the end on a thread, keeping its last lines (ANSI codes stripped),
    and apart from them its last error lines (Scrapy's ERROR/CRITICAL, tracebacks)."""

    def __init__(self, pipe, lines: int = STDERR_TAIL_LINES):
        self._lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._errors: collections.deque[str] = collections.deque(maxlen=ERROR_LINES)
        self._pipe = pipe
        self._thread = threading.Thread(target=self._read, daemon=True, name="crawl-stderr")
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in iter(self._pipe.readline, b""):
                # progress displays redraw with \r: keep the last state of each line
                text = _ANSI.sub("", raw.decode("utf-8", "replace")).split("\r")[-1].rstrip()
                if text:
                    self._lines.append(text)
                    if _ERROR_LINE.search(text):
                        self._errors.append(text)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self._pipe.close()
            except OSError:
                pass

    def text(self, wait: float = 1.0) -> str:
        """The tail; waits up to `wait` seconds for the pipe to reach its end."""
        self._thread.join(wait)
        text = "\n".join(self._lines)
        return text[-MESSAGE_LIMIT:]

    def errors(self) -> str:
        """The last error lines (call text() first)."""
        return "\n".join(self._errors)[-MESSAGE_LIMIT:]


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _with_tail(message: str | None, tail: str) -> str | None:
    """A run's message with the stderr tail appended (once), cut to MESSAGE_LIMIT."""
    if not tail or (message and tail in message):
        return message
    text = f"{message}\n--- stderr ---\n{tail}" if message else tail
    return text[-MESSAGE_LIMIT:] if len(text) > MESSAGE_LIMIT else text


def run_job(
    job: Job,
    db_path: str | Path,
    config_dir: str | Path | None = None,
    *,
    stop: threading.Event | None = None,
    force: threading.Event | None = None,
    grace: float = 30.0,
    log: Log = _no_log,
    command: Sequence[str] | Callable[[int], Sequence[str]] | None = None,
    poll: float = 0.1,
) -> CrawlOutcome | None:
    """Run `job` once as a crawl subprocess; return how it ended (None if `stop` was already set).

    `stop` set while the crawl runs: SIGTERM, up to `grace` seconds, then SIGKILL.
    `force` set: skip what is left of the grace period. `command` replaces the crawl
    command line (a list, or a function of the run id), for tests.
    """
    stop = stop or threading.Event()
    force = force or threading.Event()
    if stop.is_set():
        return None
    db = store.open_db(db_path, migrate=False)
    try:
        run_id = store.start_run(db, job.spider, run_args(job), job=job.id)
        if callable(command):
            argv = list(command(run_id))
        elif command is not None:
            argv = list(command)
        else:
            argv = crawl_command(job, Path(db_path).absolute(), config_dir, run_id,
                                 grace=grace)
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as error:
            message = f"could not start the crawl: {error}"
            store.finish_run(db, run_id, "failed", message=message)
            log("finished", job=job.id, run=run_id, status="failed", message=message)
            return CrawlOutcome(run_id, "failed", None, 0.0)
        store.update_run(db, run_id, pid=process.pid)
        log("started", job=job.id, run=run_id, pid=process.pid, spider=job.spider)
        tail = OutputTail(process.stderr)

        stopped, killed = None, False
        deadline = started + job.timeout
        while process.poll() is None:
            if stop.is_set():
                stopped = "shutdown"
            elif time.monotonic() >= deadline:
                stopped = "timeout"
            if stopped:
                # a crawl that already closed its run is only exiting: let it, within grace
                exiting = _run_status(db, run_id) != "running"
                log("stopping", job=job.id, run=run_id, pid=process.pid, reason=stopped,
                    grace=f"{grace:g}s", closed="yes" if exiting else None)
                killed = _terminate(process, grace, force, poll, signal_first=not exiting)
                if exiting and stopped == "shutdown" and not killed:
                    stopped = None  # it finished on its own: nothing was interrupted
                break
            try:
                process.wait(timeout=poll)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(process.pid, signal.SIGKILL)  # leftovers: workers the crawl did not reap
        seconds = time.monotonic() - started
        status = _close_run(db, job, run_id, process.returncode, tail, stopped, killed, seconds)
        row = store.get_run(db, run_id)
        counts = {"pages": row["pages"], "new": row["new_articles"],
                  "updated": row["updated_articles"], "mentions": row["mentions"],
                  "errors": row["errors"]} if row else {}
        log("finished", job=job.id, run=run_id, status=status,
            exit=exit_field(process.returncode), seconds=seconds, **counts,
            killed="yes" if killed else None)
        return CrawlOutcome(run_id, status, process.returncode, seconds, stopped, killed)
    finally:
        db.close()


def _run_status(db, run_id: int) -> str | None:
    row = store.get_run(db, run_id)
    return row["status"] if row else None


def _terminate(process: subprocess.Popen, grace: float, force: threading.Event,
               poll: float, signal_first: bool = True) -> bool:
    """SIGTERM the crawl, wait up to `grace` seconds, then SIGKILL its group. True if killed."""
    if signal_first:
        try:
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline and not force.is_set():
        try:
            process.wait(timeout=poll)
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
        return True
    return False


def _close_run(db, job: Job, run_id: int, returncode: int | None, output: OutputTail,
               stopped: str | None, killed: bool, seconds: float) -> str:
    """Give the run its final status; the crawl's own verdict stands unless the scheduler
    knows better. Returns the status.

    A run the crawl did not close gets the tail of its stderr; a failed run the crawl
    closed with its own message gets only its stderr's error lines.
    """
    tail = output.text()
    row = store.get_run(db, run_id)
    if row is None:  # the row was deleted under us: nothing to account for
        return "failed"
    status, message = row["status"], row["message"]
    exit_text = describe_exit(returncode)
    closed = status != "running"
    if stopped == "timeout":
        how = "killed after the grace period" if killed else f"exited ({exit_text})"
        note = (f"timed out after {format_duration(job.timeout)} (wall clock): sent SIGTERM, {how}"
                + (f"; the crawl said: {message}" if message else ""))
        store.finish_run(db, run_id, "timeout", message=_with_tail(note, tail))
        return "timeout"
    if stopped == "shutdown":
        if closed and not killed:
            note = "interrupted: the scheduler was stopping"
            status = "interrupted" if status == "ok" else status
            store.update_run(db, run_id, status=status,
                             message=f"{message}; {note}" if message else note)
            return status
        note = ("stopped with the scheduler: killed after the grace period" if killed
                else f"stopped with the scheduler: exited ({exit_text}) without closing its run")
        store.finish_run(db, run_id, "abandoned", message=_with_tail(note, tail))
        return "abandoned"
    if not closed:
        note = f"crashed ({exit_text}) without closing its run, after {seconds:.0f}s"
        store.finish_run(db, run_id, "failed", message=_with_tail(note, tail))
        return "failed"
    if status == "failed":
        extra = output.errors() if message else tail
        store.update_run(db, run_id, message=_with_tail(message, extra))
    return status
