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
thread (zlib and SHA-1 release the GIL; benchmarks/capture.py measures it), and the
response waits for its write, so `response.meta["capture"]` holds the
CaptureRecord when the spider's callback runs (`meta["captures"]`: every record
of the request's retries and redirects, in order). A failed write is logged and
counted; the response goes on without a capture (`meta["capture_error"]`).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from narrative_archive.capture import (
    DEFAULT_GZIP_LEVEL,
    DEFAULT_MAX_BYTES,
    CaptureRecord,
    CaptureWriter,
    check_captures_dir,
)

log = logging.getLogger(__name__)

STAT = "narrative_archive/capture/"
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
        self.pool: ThreadPool | None = None
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
            self.pool = ThreadPool(minthreads=1, maxthreads=1, name="narrative-archive-capture")
            self.pool.start()

    def spider_closed(self, spider) -> None:
        if self.pool is not None:
            self.pool.stop()  # waits for queued writes
            self.pool = None
        if self.writer is not None:
            self.writer.close()
            log.info("captures: %s", ", ".join(self.writer.files) or "no responses")

    # -- responses --

    async def process_response(self, request: Request, response: Response):
        if self.writer is None:
            return response
        arguments = self.arguments(request, response)
        try:
            if self.pool is not None:
                from twisted.internet import reactor  # the installed one, imported late

                record = await maybe_deferred_to_future(
                    deferToThreadPool(reactor, self.pool, self.writer.write, **arguments))
            else:
                record = self.writer.write(**arguments)
        except Exception as error:  # disk full, permissions changed mid-crawl, ...
            log.error("capture of %s failed: %s", response.url, error)
            self.crawler.stats.inc_value(STAT + "errors")
            request.meta["capture_error"] = f"capture failed: {error}"
            return response
        self.remember(request, record)
        return response

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

    def remember(self, request: Request, record: CaptureRecord) -> None:
        request.meta["capture"] = record
        request.meta.setdefault("captures", []).append(record)
        stats = self.crawler.stats
        stats.inc_value(STAT + "records")
        stats.inc_value(STAT + "bytes", record.length)
