"""Extraction and reading off the reactor thread: a pool of worker processes.

A worker extracts the page (~5 ms of CPU) and, with the pool's narratives and outlets,
reads the article (match.reading: which narratives match, with snippet, terms and stance;
its story signature; its citations), so the crawl process only writes what comes back
(issue 21). Workers are started by a forkserver that has already imported extraction and
reading, so a new worker is ready in a fraction of a second. The event loop writes pages
to the workers' pipes and reads their answers itself: no thread wakes for a page, the
reactor never blocks. One worker per core by default (on 2 cores, one was the limit).

Workers and their forkserver ignore SIGINT and SIGTERM (the crawl process
shuts the pool down after its graceful stop, so a signal to the whole process
group loses no page in flight; see _preload) and leave on their own when the crawl process
disappears (their task pipe closes; a watch on its pid besides), so no orphan keeps a core busy.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import fcntl
import itertools
import multiprocessing
import os
import pickle
import signal
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any

from narrative_archive.capture.writer import build_pair
from narrative_archive.crawl.quietgc import quiet_gc
from narrative_archive.extract.errors import ExtractError
from narrative_archive.match import reading

# How many workers the pool starts, for the forkserver's preload (_preload) to read.
POOL_SIZE_VARIABLE = "NARRATIVE_ARCHIVE_EXTRACT_POOL_SIZE"

# (trafilatura's and htmldate's lazy state, the language model) before real pages arrive.
_WARM_UP_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>This paragraph only exists to make a new extraction worker load its models"
    " before the first real page arrives, so that pages are not delayed.</p>" * 4
    + "</article></body></html>"
)
# A page body over this many bytes is hostile or close to it: after it the worker gives the
# heap it grew back to the system (trim_heap), not to keep it for the rest of the crawl.
TRIM_AFTER_BYTES = 1_000_000

# The worker's Reader (match.reading), built by _init_worker from the pool's narratives
# and outlets; None in a pool that only extracts.
_reader: reading.Reader | None = None
_WARM_UP_TEXT = ("A warm-up text long enough to be compared, so that a new worker computes one"
                 " story signature and reads one text for narratives and citations before the"
                 " first real page arrives, according to Reuters; the rest are filler words"
                 " for the shingles: one two three four five six seven eight nine ten.")


def extract_page(body: bytes, url: str, encoding: str | None,
                 limits: dict[str, int] | None = None, title: str | None = None,
                 capture: dict[str, Any] | None = None) -> dict[str, Any]:
    """Extract one page (in a worker): the Article as a dict; ExtractError says why not.

    `limits` are extract_article's caps (max_text_chars, max_links); `title` is the
    listing's, for a page without one. With a Reader in this worker the dict also holds
    the article's "reading" (match.reading: mentions with snippets and stance, story
    signature, citations), so the crawl process only writes. With `capture` (the page's
    capture.build_pair arguments, from the capture middleware) its WARC records come back
    built, as "warc" in the dict or on the ExtractError (capture.BuiltPair)."""
    from narrative_archive.extract import article as extract  # loaded by the forkserver

    pair = build_pair(**capture) if capture is not None else None
    try:
        article = extract.extract_article(body, url, encoding=encoding,
                                          **(limits or {})).to_dict()
    except ExtractError as error:
        error.warc = pair  # type: ignore[attr-defined]  # pickled with it (its __dict__)
        raise
    if pair is not None:
        article["warc"] = pair
    if not article.get("title") and title:
        article["title"] = title
    if _reader is not None:
        article["reading"] = reading.read_or_none(_reader, article)
    if len(body) > TRIM_AFTER_BYTES:
        trim_heap()
    return article


def trim_heap() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim; a few ms):
    Python frees a big page's objects but glibc keeps their pages, counted in the
    process's RSS until it exits."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def warm_up() -> None:
    """Load extraction's lazy state (trafilatura, htmldate, the language model) now."""
    from narrative_archive.extract import article as extract

    try:
        extract.extract_article(_WARM_UP_PAGE, "http://warm-up.invalid/article")
    except ExtractError:
        pass
    # reading's lazy state: citation patterns, stance cues, the MinHash permutations
    reading.warm_up(_WARM_UP_TEXT)


def _alive(pid: int, started: float) -> bool:
    """Whether the crawl process still runs (not gone, not a zombie, not a reused pid)."""
    import psutil  # imported by the forkserver's preload (the crawl process's at start())

    try:
        process = psutil.Process(pid)
        return process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _init_worker(crawl_pid: int, crawl_started: float, readers: tuple | None = None) -> None:
    global _reader
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        # A worker's parent is the forkserver, which itself stays up while any
        # worker lives: only the crawl process itself tells whether to go on.
        while _alive(crawl_pid, crawl_started):
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="crawl-watch", daemon=True).start()
    warm_up()  # quick when the forkserver preloaded everything
    if readers is not None:
        narratives, outlets = readers
        _reader = reading.Reader(narratives, outlets)
        _reader.read({"title": "Warm-up", "text": _WARM_UP_TEXT, "language": "en"})
    quiet_gc()  # what the worker holds now lives as long as it


class WorkerCrashed(Exception):
    """The worker process extracting a page died (a segfault, the OOM killer, kill -9): that
    page fails; the pool starts another worker and sends it the pages queued behind."""


# Pages sent ahead to one worker: the one it extracts and the next, already in its pipe.
DEPTH = 2
# Each pipe holds this many bytes (Linux's default is 64 KiB, less than a 70 KiB page plus
# its capture arguments), so a page is written in one call and the reactor never waits.
PIPE_BYTES = 1 << 20
_HEADER = struct.Struct("!i")  # multiprocessing.connection's frame: a length, the bytes


def _serve(tasks: Connection, results: Connection, crawl_pid: int, crawl_started: float,
           readers: tuple | None) -> None:
    """A worker's life: read a page from `tasks`, answer on `results`, until `tasks` closes."""
    _init_worker(crawl_pid, crawl_started, readers)
    while True:
        try:
            task_id, arguments = pickle.loads(tasks.recv_bytes())
        except EOFError:  # the pool closed, or the crawl process is gone
            return
        try:
            answer: tuple[int, bool, Any] = (task_id, True, extract_page(*arguments))
        except Exception as error:
            answer = (task_id, False, error)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # an answer that cannot cross: its error can
            payload = pickle.dumps((task_id, False, RuntimeError(
                f"unpicklable answer from the extraction worker: {error!r}")))
        frame = memoryview(_HEADER.pack(len(payload)) + payload)  # one write: one wake-up
        try:
            while frame:
                frame = frame[os.write(results.fileno(), frame):]
        except OSError:  # the pool closed while this page was extracted
            return


@dataclass(eq=False)
class _Task:
    id: int
    frame: bytes  # header + pickled (id, extract_page's arguments)
    future: asyncio.Future
    timer: Any = None  # asyncio.TimerHandle: the page's timeout


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's Process
    tasks: Connection  # our end of its task pipe (non-blocking writes)
    results: Connection  # our end of its result pipe (read by the event loop)
    inflight: deque = field(default_factory=deque)  # _Tasks sent, in the order it answers
    outbox: bytearray = field(default_factory=bytearray)  # what its pipe could not take yet
    inbox: bytearray = field(default_factory=bytearray)


def _pipe(context) -> tuple[Connection, Connection]:
    reader, writer = context.Pipe(duplex=False)
    with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux only
        fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return reader, writer


class ExtractorPool:
    """Worker processes extracting pages; `await pool.extract(...)` from the event loop.

    Each worker has two pipes: pages go out on one (written by the event loop, without
    blocking: what a full pipe cannot take waits for the loop to say it is writable) and
    answers come back on the other, read by the event loop when it is readable. No thread
    of the crawl process wakes for a page (concurrent.futures' pool had two: 0.5 ms a page).
    A worker that dies fails the page it was extracting (WorkerCrashed) and is replaced;
    a page that takes longer than `timeout` fails with TimeoutError and its worker is
    killed and replaced."""

    def __init__(self, workers: int = 0, *, timeout: float = 120, grace: float = 5.0,
                 limits: dict[str, int] | None = None, narratives: tuple = (),
                 outlets: tuple = (), read: bool = False):
        self.workers = workers or os.cpu_count() or 1
        self.limits = dict(limits or {})  # extract_article's caps
        self.timeout = timeout  # for one page
        self.grace = grace  # for a busy worker to finish when the pool closes
        # With read=True every article comes back with its "reading" (match.reading) of
        # these narratives and outlets (config.Narrative, and (id, name, domains) tuples).
        self.readers = (tuple(narratives), tuple(outlets)) if read else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live: list[_Worker] = []
        self._stopped: list[_Worker] = []  # to join
        self._pending: deque[_Task] = deque()  # not sent to a worker yet
        self._ids = itertools.count()
        self._initargs: tuple = ()
        self._buffer = bytearray(PIPE_BYTES)  # what the loop reads a pipe into

    def _context(self):
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["narrative_archive.crawl._preload"])
            os.environ[POOL_SIZE_VARIABLE] = str(self.workers)  # for _preload to read
        return context, method

    def prepare(self) -> None:
        """Start the forkserver, which imports and warms up extraction and reading, without
        waiting for it: the crawl goes on fetching (an empty crawl ends at once) and the
        workers, forked from it when the first page arrives, start warm."""
        if self._loop is None and self._context()[1] == "forkserver":
            forkserver.ensure_running()

    def start(self) -> None:
        """Start the workers (and warm them up) now, from the event loop that will await
        extract(); extract() does on the first page."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:  # another event loop's workers
            self.close()
        import psutil  # not for a crawl that never starts its workers (0.1 s of start-up)

        me = os.getpid()
        self._loop, self._initargs = loop, (me, psutil.Process(me).create_time(), self.readers)
        atexit.register(self.close)  # before multiprocessing's, which would wait for them
        # Every worker now rather than on demand, so the warm-ups overlap the first fetches.
        while len(self._live) < self.workers:
            self._spawn()

    def _spawn(self) -> _Worker:
        context, _ = self._context()
        tasks_in, tasks = _pipe(context)
        results, results_out = _pipe(context)
        process = context.Process(target=_serve, name="extraction-worker",
                                  args=(tasks_in, results_out, *self._initargs))
        process.start()
        tasks_in.close()  # the worker's ends are the worker's: its death closes its pipe
        results_out.close()
        os.set_blocking(tasks.fileno(), False)
        os.set_blocking(results.fileno(), False)
        worker = _Worker(process, tasks, results)
        self._live.append(worker)
        assert self._loop is not None
        self._loop.add_reader(results.fileno(), self._readable, worker)
        return worker

    async def extract(self, body: bytes, url: str, encoding: str | None,
                      title: str | None = None,
                      capture: dict[str, Any] | None = None) -> dict[str, Any]:
        """The extracted article as a dict (with its "reading" when the pool reads, its
        "warc" records when `capture` asks for them: see extract_page); raises
        ExtractError, TimeoutError, or WorkerCrashed."""
        self.start()
        assert self._loop is not None
        task_id = next(self._ids)
        payload = pickle.dumps((task_id, (body, url, encoding, self.limits, title, capture)),
                               protocol=pickle.HIGHEST_PROTOCOL)
        task = _Task(task_id, _HEADER.pack(len(payload)) + payload, self._loop.create_future())
        task.timer = self._loop.call_later(self.timeout, self._expire, task)
        self._pending.append(task)
        self._dispatch()
        try:
            return await task.future
        finally:
            task.timer.cancel()

    # -- in the event loop: sending, reading, losing workers --

    def _dispatch(self) -> None:
        while self._pending:
            if len(self._live) < self.workers:
                self._spawn()
            worker = min(self._live, key=lambda w: len(w.inflight))
            if len(worker.inflight) >= DEPTH:
                return
            task = self._pending.popleft()
            if task.future.done():  # timed out or cancelled while it waited
                continue
            worker.inflight.append(task)
            self._send(worker, task.frame)

    def _send(self, worker: _Worker, frame: bytes) -> None:
        if worker.outbox:
            worker.outbox += frame
            return
        try:
            written = os.write(worker.tasks.fileno(), frame)
        except BlockingIOError:
            written = 0
        except OSError:  # its reader is gone: the worker died, its pipe's EOF says so
            return
        if written < len(frame):
            worker.outbox += frame[written:]
            assert self._loop is not None
            self._loop.add_writer(worker.tasks.fileno(), self._writable, worker)

    def _writable(self, worker: _Worker) -> None:
        try:
            written = os.write(worker.tasks.fileno(), worker.outbox)
        except BlockingIOError:
            return
        except OSError:
            written = len(worker.outbox)
        del worker.outbox[:written]
        if not worker.outbox and self._loop is not None:
            self._loop.remove_writer(worker.tasks.fileno())

    def _readable(self, worker: _Worker) -> None:
        try:
            count = os.readv(worker.results.fileno(), [self._buffer])
        except BlockingIOError:
            return
        if not count:  # EOF: the worker is gone
            self._lose(worker, WorkerCrashed(
                f"the extraction worker (pid {worker.process.pid}) died"))
            self._dispatch()
            return
        inbox = worker.inbox
        inbox += memoryview(self._buffer)[:count]
        answered = False
        while len(inbox) >= _HEADER.size:
            size, start = _HEADER.unpack_from(inbox)[0], _HEADER.size
            if len(inbox) < start + size:
                break
            task_id, ok, value = pickle.loads(memoryview(inbox)[start:start + size])
            del inbox[:start + size]
            task = worker.inflight.popleft()
            assert task.id == task_id, (task.id, task_id)
            answered = True
            if not task.future.done():
                if ok:
                    task.future.set_result(value)
                else:
                    task.future.set_exception(value)
        if answered:
            self._dispatch()

    def _expire(self, task: _Task) -> None:
        if task.future.done():
            return
        task.future.set_exception(TimeoutError(f"extraction took longer than {self.timeout:g} s"))
        for worker in self._live:
            if task in worker.inflight:  # a worker stuck on it (or on the page before it)
                worker.inflight.remove(task)
                self._lose(worker, None)
                worker.process.kill()
                self._dispatch()
                return

    def _lose(self, worker: _Worker, error: Exception | None) -> None:
        """Forget a dead (or killed) worker: the page it was on fails with `error` (None: it
        already failed), the pages queued behind it go to the others."""
        self._live.remove(worker)
        self._stopped.append(worker)
        self._unhook(worker)
        if error is not None and worker.inflight:
            task = worker.inflight.popleft()
            if not task.future.done():
                task.future.set_exception(error)
        for task in worker.inflight:  # a new timeout each: they waited behind the lost page
            task.timer.cancel()
            task.timer = task.future.get_loop().call_later(self.timeout, self._expire, task)
        self._pending.extendleft(reversed(worker.inflight))
        worker.inflight.clear()

    def _unhook(self, worker: _Worker) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.results.fileno())
            if worker.outbox:
                self._loop.remove_writer(worker.tasks.fileno())
        worker.tasks.close()  # the worker reads EOF and leaves once its page is done
        worker.results.close()

    def close(self) -> None:
        """Stop the workers: idle ones at once, a busy one after `grace` seconds at most.
        From the event loop's thread (or after its loop has ended)."""
        self.stop()
        self.join()

    def stop(self) -> None:
        """Tell the workers to leave (their pipes close) and fail what is still waiting;
        from the event loop's thread (or after its loop has ended). join() waits."""
        for worker in self._live:
            self._unhook(worker)
            for task in worker.inflight:
                if not task.future.done() and not task.future.get_loop().is_closed():
                    task.future.cancel()
        for task in self._pending:
            if not task.future.done() and not task.future.get_loop().is_closed():
                task.future.cancel()
        self._stopped += self._live
        self._live, self._pending, self._loop = [], deque(), None
        atexit.unregister(self.close)

    def join(self) -> None:
        """Wait for the stopped workers to leave, `grace` seconds at most, then kill them
        (they ignore SIGTERM); from any thread."""
        stopped, self._stopped = self._stopped, []
        deadline = time.monotonic() + self.grace
        for worker in stopped:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1.0)
