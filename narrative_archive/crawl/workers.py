"""Extraction and reading off the reactor thread: a pool of worker processes.

A worker extracts the page (~5 ms of CPU) and, with the pool's narratives and outlets,
reads the article (match.reading: which narratives match, with snippet, terms and stance;
its story signature; its citations), so the crawl process only writes what comes back
(issue 21: matching and analysis in the crawl process had cut the crawl to a third of
bare trafilatura's speed). Workers are started by a forkserver that has already imported
extraction and reading, so a new worker is ready in a fraction of a second. The pipeline
awaits the results; the reactor never blocks.

One page per task: sending a 70 KiB page and getting its article back costs the
crawl process ~0.1 ms, so batching pages would save little and hold articles
back. One worker per core by default: the crawl process (Scrapy and the archive writes)
needs about a third of a worker's CPU a page, so leaving it a core of its own left most of
that core idle on a small machine (on 2 cores, one worker was the crawl's limit).

Workers and their forkserver ignore SIGINT and SIGTERM (the crawl process
shuts the pool down after its graceful stop, so a signal to the whole process
group loses no page in flight; see _preload) and leave on their own when the crawl process disappears
(kill -9), so no orphan keeps a core busy.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from typing import Any

from narrative_archive.capture.writer import build_pair
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


class ExtractorPool:
    """Worker processes extracting pages; `await pool.extract(...)` from the event loop."""

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
        self._executor: ProcessPoolExecutor | None = None

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
        if self._executor is None and self._context()[1] == "forkserver":
            forkserver.ensure_running()

    def start(self) -> None:
        """Start the workers (and warm them up) now; extract() does on the first page."""
        if self._executor is not None:
            return
        import psutil  # not for a crawl that never starts its workers (0.1 s of start-up)

        context, _ = self._context()
        me = os.getpid()
        # No max_tasks_per_child: with it, CPython 3.11's executor can deadlock when it
        # replaces a worker, and extraction does not grow a worker's memory anyway
        # (flat over 6,000 pages).
        self._executor = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker,
            initargs=(me, psutil.Process(me).create_time(), self.readers),
        )
        # Spawn every worker now rather than on demand, so the warm-ups overlap the first fetches.
        for _ in range(self.workers):
            self._executor.submit(os.getpid)

    async def extract(self, body: bytes, url: str, encoding: str | None,
                      title: str | None = None,
                      capture: dict[str, Any] | None = None) -> dict[str, Any]:
        """The extracted article as a dict (with its "reading" when the pool reads, its
        "warc" records when `capture` asks for them: see extract_page); raises
        ExtractError, TimeoutError, or a worker's crash."""
        if self._executor is None:
            self.start()
        assert self._executor is not None  # start() made it
        future = self._executor.submit(extract_page, body, url, encoding, self.limits, title,
                                       capture)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop the workers: idle ones at once, a busy one after `grace` seconds at most."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        # A worker stuck on one page (past its timeout) would otherwise keep the crawl
        # process from exiting: concurrent.futures joins its workers at interpreter exit.
        deadline = time.monotonic() + self.grace
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
