"""Scrapy glue for capture: every response the downloader receives becomes WARC records.

`CaptureMiddleware` is a downloader middleware at priority 950: above
HttpCacheMiddleware (900), RedirectMiddleware (600), HttpCompressionMiddleware
(590) and RetryMiddleware (550), so on the way back from the downloader it sees
each response first, exactly as the server sent it — Content-Encoding and
encoded body intact, every redirect, every error status, every retried
failure, robots.txt, feeds and sitemaps included. Transport errors (refused
connections, timeouts, oversized bodies) produce no response, so no record.

It is on when NARRATIVE_ARCHIVE_CAPTURES names a directory and
NARRATIVE_ARCHIVE_CAPTURE is true. The directory is checked when the crawler is
built, before anything is fetched (CaptureDirError). Writes run in one worker
thread and the response never waits for its write: `response.meta["capture"]`
is a concurrent.futures.Future of the CaptureRecord (`meta["captures"]`: the
futures of every record of the request's retries and redirects, in order), and
a spider hands it on in its Page. The pipeline stores one `captures` row per
record: it drains every finished record (`drain()`: feeds, sitemaps, robots.txt
and error responses too) and awaits a Page's own to link it to the article. The
middleware is `crawler.narrative_archive_capture` for the pipeline to find. A
failed write is logged and counted; the response goes on without a capture.

An article page's records are built in the extraction worker that extracts it (issue 21:
gzip and the payload digest cost the crawl process ~1 ms a page). A request whose meta
has CAPTURE_IN_WORKER gets, for its 200 response, a `DeferredCapture` in
`meta["capture"]` instead of a Future: the pipeline `take()`s its arguments, sends them
with the page, gets the records back as bytes (capture.writer.build_pair) and `resolve()`s
it, which only appends them to the file. Whatever is not taken is written here as before:
a page the pipeline does not send to a worker, a worker that failed or timed out
(`settle()`), a response that never became a Page (the spider said "not HTML", a meta
refresh) `DEFERRED_FOR` seconds after it arrived, or when the crawl ends. The bytes are
the same either way (the same build_pair of the same arguments); only the order of the
records in the file changes.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from datetime import UTC, datetime
from time import monotonic
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from narrative_archive.capture.paths import check_captures_dir
from narrative_archive.capture.writer import (
    DEFAULT_GZIP_LEVEL,
    DEFAULT_MAX_BYTES,
    BuiltPair,
    CaptureRecord,
    CaptureWriter,
)

log = logging.getLogger(__name__)

STAT = "narrative_archive/capture/"
DISK_FULL_STAT = "narrative_archive/disk_full"  # crawl.faults stops the crawl when it is set
# A write the disk refused: no space, a file over its size limit (RLIMIT_FSIZE), a quota
# (store.disk_full says the same of the archive's writes).
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# Our own credentials, never the page's evidence: the proxy's, and API keys sent to archives
# (backfill's Media Cloud token); WARC files get published.
NOT_RECORDED = {b"proxy-authorization", b"authorization"}
# Request meta: its 200 response's records may be built by the extraction worker.
CAPTURE_IN_WORKER = "narrative_archive_capture_in_worker"
# Seconds a deferred capture waits to be taken before the crawl process writes it itself.
DEFERRED_FOR = 30.0


def scrapy_pairs(headers) -> list[tuple[bytes, bytes]]:
    """Scrapy Headers as (name, value) pairs, repeated headers kept."""
    return [(name, value) for name, values in headers.items() for value in values
            if name.lower() not in NOT_RECORDED]


class DeferredCapture:
    """A response whose records are not written yet: the worker extracting the page may
    build them (CaptureMiddleware.take, resolve), or the crawl process writes them (settle).
    `future` is the CaptureRecord's once either has started."""

    __slots__ = ("arguments", "arrived", "future", "taken")

    def __init__(self, arguments: dict[str, Any]):
        self.arguments: dict[str, Any] | None = arguments
        self.arrived = monotonic()
        self.taken = False
        self.future: Future | None = None


class CaptureMiddleware:
    """Downloader middleware: each response as a WARC response + request record pair."""

    def __init__(self, crawler, captures_dir: str, max_bytes: int, threaded: bool = True,
                 gzip_level: int = DEFAULT_GZIP_LEVEL):
        self.crawler = crawler
        self.captures_dir = captures_dir
        self.max_bytes = max_bytes
        self.threaded = threaded
        self.gzip_level = gzip_level
        self.writer: CaptureWriter | None = None
        self.pool: ThreadPoolExecutor | None = None
        self._lock = threading.RLock()  # an inline write's callback takes it again
        self._pending: set[Future] = set()
        self._done: deque[CaptureRecord] = deque()
        self._deferred: set[DeferredCapture] = set()  # not taken, not written yet
        crawler.narrative_archive_capture = self
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        directory = settings.get("NARRATIVE_ARCHIVE_CAPTURES")
        if not directory or not settings.getbool("NARRATIVE_ARCHIVE_CAPTURE", True):
            raise NotConfigured("capture is off")
        check_captures_dir(directory)
        return cls(crawler, directory,
                   settings.getint("NARRATIVE_ARCHIVE_CAPTURE_MAX_BYTES", DEFAULT_MAX_BYTES),
                   settings.getbool("NARRATIVE_ARCHIVE_CAPTURE_THREAD", True),
                   settings.getint("NARRATIVE_ARCHIVE_CAPTURE_GZIP_LEVEL", DEFAULT_GZIP_LEVEL))

    # -- lifecycle --

    def spider_opened(self, spider) -> None:
        run_id = (getattr(spider, "run_id", None)
                  or self.crawler.settings.get("NARRATIVE_ARCHIVE_RUN_ID")
                  or f"{spider.name}-{os.getpid()}")
        settings = self.crawler.settings
        self.writer = CaptureWriter(self.captures_dir, run_id, max_bytes=self.max_bytes,
                                    gzip_level=self.gzip_level, info={
            "http-header-user-agent": settings.get("USER_AGENT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "description": f"spider {spider.name}",
        })
        if self.threaded:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="narrative-archive-capture")

    def spider_closed(self, spider) -> None:
        self._expire(0.0)  # what nobody took is written before the writes stop
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # waits for queued writes
            self.pool = None
        if self.writer is not None:
            self.writer.close()
            log.info("captures: %s", ", ".join(self.writer.files) or "no responses")

    # -- responses --

    def process_response(self, request: Request, response: Response):
        if self.writer is None:
            return response
        arguments = self.arguments(request, response)
        capture: Future | DeferredCapture
        if response.status == 200 and request.meta.get(CAPTURE_IN_WORKER):
            capture = DeferredCapture(arguments)
            with self._lock:
                self._deferred.add(capture)
        else:
            capture = self._submit(response.url, self.writer.write, **arguments)
        request.meta["capture"] = capture
        request.meta.setdefault("captures", []).append(capture)
        return response

    def _submit(self, url: str, write, /, *args, here: bool = False, **kwargs) -> Future:
        """`write(*args, **kwargs)` in the writer thread (or at once, in this thread, with
        `here`): its Future, pending; `url` names it in the log if it fails."""
        if self.pool is not None and not here:
            future = self.pool.submit(write, *args, **kwargs)
        else:
            future = Future()
            try:
                future.set_result(write(*args, **kwargs))
            except Exception as error:  # disk full, permissions changed mid-crawl, ...
                future.set_exception(error)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(functools.partial(self._finished, url=url))
        return future

    # -- deferred captures: built by the extraction worker --

    def take(self, capture: Any) -> dict[str, Any] | None:
        """build_pair's arguments, for the worker that extracts the page (then resolve()
        or settle() it); None when its records are already being written here (or it is
        no DeferredCapture)."""
        if not isinstance(capture, DeferredCapture):
            return None
        with self._lock:
            if capture.taken or capture.future is not None or capture.arguments is None:
                return None
            capture.taken = True
            self._deferred.discard(capture)
            return {**capture.arguments, "gzip_level": self.gzip_level}

    def resolve(self, capture: DeferredCapture, pair: BuiltPair, here: bool = False) -> Future:
        """Append the records a worker built for a taken capture (in this thread with
        `here`): its CaptureRecord's Future."""
        with self._lock:
            if capture.future is None:
                capture.future = self._submit(pair.url, self._append, pair, here=here)
                capture.arguments = None
            return capture.future

    def append_here(self, capture: DeferredCapture, pair: BuiltPair) -> CaptureRecord | None:
        """resolve() in this thread (the pipeline's archive writer, which stores the
        record's row with its article next): the record, or None when the write failed
        (logged and counted). A 22 KB append costs less than handing it to another thread."""
        try:
            return self.resolve(capture, pair, here=True).result()
        except Exception:
            return None

    def finish(self, capture: DeferredCapture, pair: BuiltPair | None) -> Future:
        """A taken capture once its worker is done: the records it built appended, or
        (it failed) written here."""
        return self.resolve(capture, pair) if pair is not None else self.settle(capture)

    def _append(self, pair: BuiltPair) -> CaptureRecord:
        if self.writer is None:
            raise RuntimeError("the capture writer is closed")
        return self.writer.append(pair)

    def settle(self, capture: Any) -> Any:
        """A capture's Future: a deferred one's records written here now, unless they are
        already being written; anything else (a Future, a record, None) as it is."""
        if not isinstance(capture, DeferredCapture):
            return capture
        with self._lock:
            return self._settle(capture)

    def _settle(self, capture: DeferredCapture) -> Future:
        """settle(), with the lock held."""
        if capture.future is None:
            arguments = capture.arguments or {}
            self._deferred.discard(capture)
            if self.writer is None or not arguments:
                capture.future = Future()
                capture.future.set_exception(RuntimeError("the capture writer is closed"))
            else:
                capture.future = self._submit(arguments["url"], self.writer.write, **arguments)
            capture.arguments = None
        return capture.future

    def _expire(self, older_than: float) -> None:
        """Write here every deferred capture nobody took within `older_than` seconds."""
        limit = monotonic() - older_than
        with self._lock:
            for capture in [c for c in self._deferred if c.arrived <= limit]:
                self._settle(capture)

    def _finished(self, future: Future, url: str) -> None:
        """Runs in the writer thread (or at once): queue the record for the pipeline."""
        error = future.exception()
        stats = self.crawler.stats
        if error is not None:
            log.error("capture of %s failed: %s", url, error)
            stats.inc_value(STAT + "errors")
            full = isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS
            if full and not stats.get_value(DISK_FULL_STAT):
                stats.set_value(DISK_FULL_STAT, f"a WARC file: {error}")  # stops the crawl
        else:
            stats.inc_value(STAT + "records")
            stats.inc_value(STAT + "bytes", future.result().length)
        with self._lock:  # queued before it stops being pending: drain(wait=True) sees it
            if error is None:
                self._done.append(future.result())
            self._pending.discard(future)

    def drain(self, wait: bool = False) -> list[CaptureRecord]:
        """The records written since the last drain; with `wait`, after every queued write
        (and every deferred capture nobody took)."""
        self._expire(0.0 if wait else DEFERRED_FOR)
        while wait:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                break
            wait_for(pending)
        with self._lock:
            records = list(self._done)
            self._done.clear()
        return records

    def arguments(self, request: Request, response: Response) -> dict:
        """What CaptureWriter.write needs, read off a Scrapy request and response."""
        return {
            "url": response.url,
            "request_method": request.method,
            "request_headers": scrapy_pairs(request.headers),
            "request_body": request.body or b"",
            "status": response.status,
            "reason": None,  # Scrapy does not keep the reason phrase: the standard one is used
            "response_headers": scrapy_pairs(response.headers),
            "body": response.body,
            "fetched_at": datetime.now(UTC),
            "protocol": getattr(response, "protocol", None) or "HTTP/1.1",
            "truncated": "disconnect" if "dataloss" in (response.flags or ()) else None,
        }
