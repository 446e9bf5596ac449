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

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from narrative_archive.capture.paths import check_captures_dir
from narrative_archive.capture.writer import (
    DEFAULT_GZIP_LEVEL,
    DEFAULT_MAX_BYTES,
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


def scrapy_pairs(headers) -> list[tuple[bytes, bytes]]:
    """Scrapy Headers as (name, value) pairs, repeated headers kept."""
    return [(name, value) for name, values in headers.items() for value in values
            if name.lower() not in NOT_RECORDED]


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
        self._lock = threading.Lock()
        self._pending: set[Future] = set()
        self._done: deque[CaptureRecord] = deque()
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
        if self.pool is not None:
            future = self.pool.submit(self.writer.write, **arguments)
        else:
            future = Future()
            try:
                future.set_result(self.writer.write(**arguments))
            except Exception as error:  # disk full, permissions changed mid-crawl, ...
                future.set_exception(error)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(functools.partial(self._finished, url=response.url))
        request.meta["capture"] = future
        request.meta.setdefault("captures", []).append(future)
        return response

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
        """The records written since the last drain; with `wait`, after every queued write."""
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
