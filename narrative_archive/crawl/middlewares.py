"""Politeness in the downloader: retries that back off, redirect loops that fail loudly,
robots.txt's Crawl-delay (which Scrapy itself ignores) honoured, and the per-outlet caps
that keep one outlet from taking a whole run."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from scrapy.utils.url import url_is_from_any_domain
from twisted.internet.defer import Deferred

from narrative_archive.crawl.items import Refused
from narrative_archive.extract.bounds import trim_body
from narrative_archive.extract.dates import parse_listed_date
from narrative_archive.urls import bare_host

logger = logging.getLogger(__name__)

SLOW_DOWN = (429, 503)  # statuses that ask the whole site to slow down, not just this request


def retry_after(response: Response) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    moment = parse_listed_date(text)  # an HTTP date is RFC 822, as in feeds
    if moment is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before each retry: RETRY_BACKOFF_BASE seconds, doubling
    per attempt, jittered, capped at RETRY_BACKOFF_MAX, or what Retry-After asks (capped too).

    A failed DNS lookup is not retried. A Retry-After longer than
    NARRATIVE_ARCHIVE_RETRY_AFTER_MAX is not waited for at all (OutletCapsMiddleware
    fails the URL). A 429 or 503 also raises the delay of the outlet's download
    slot, so the requests queued behind it slow down as well (AutoThrottle lowers
    it again once the outlet answers normally).
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("NARRATIVE_ARCHIVE_RETRY_AFTER_MAX",
                                                 self.backoff_max)

    def backoff(self, request: Request, response: Response | None = None) -> float:
        attempt = request.meta.get("retry_times", 0)
        asked = retry_after(response) if response is not None else None
        if asked is not None:
            return min(asked, self.backoff_max)
        delay = self.backoff_base * (2 ** attempt) * random.uniform(0.5, 1.5)
        return min(delay, self.backoff_max)

    async def process_response(  # type: ignore[override]  # a coroutine, without spider
            self, request: Request, response: Response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = retry_after(response)
        if asked is not None and asked > self.retry_after_max:
            return response  # OutletCapsMiddleware says so
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        delay = self.backoff(request, response)
        if response.status in SLOW_DOWN:
            self._slow_down(request, delay)
        if delay > 0:
            await asyncio.sleep(delay)
        return retry

    async def process_exception(  # type: ignore[override]  # as process_response
            self, request: Request, exception: Exception):
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            return None
        if isinstance(exception, CannotResolveHostError):
            return None  # offline, or the host is gone: seconds later it fails the same way
        retry = self._retry(request, exception)
        if retry is None:
            return None
        delay = self.backoff(request)
        if delay > 0:
            await asyncio.sleep(delay)
        return retry

    def _slow_down(self, request: Request, delay: float) -> None:
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None and delay > slot.delay:
            slot.delay = delay


class RedirectLoopMiddleware:
    """Fail a request whose redirect leads back to a URL of its own redirect chain, or to
    a URL that is not http(s) (file:, ftp:, ...); refuse one that leads off the spider's
    allowed domains (say to 169.254.169.254, a cloud's metadata address).

    Scrapy's duplicate filter would otherwise drop the looping request without
    a word, and its OffsiteMiddleware the off-site one (when it is scheduled, so no
    errback hears of it); this turns the loop into an error the spider records and
    the off-site redirect into a page not fetched, with its reason.
    """

    def __init__(self, crawler=None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response):
        location = response.headers.get("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location \
                or request.meta.get("dont_redirect") \
                or response.status in request.meta.get("handle_httpstatus_list", ()):
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        if self._off_site(request, target):
            host = urlsplit(target).hostname or target[:100]
            raise Refused(f"not fetched: redirected off the outlet's domains (to {host})",
                          skip="offsite")
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            # RedirectMiddleware would hand the 3xx on, recorded as a bare "HTTP 302".
            raise IgnoreRequest(f"redirect to a non-HTTP URL: {request.url} -> {target[:200]}")
        chain = {*request.meta.get("redirect_urls", ()), request.url}
        if target in chain:
            raise IgnoreRequest(f"redirect loop: {request.url} -> {target}")
        return response

    def _off_site(self, request: Request, target: str) -> bool:
        """Whether OffsiteMiddleware would drop the redirect to `target`."""
        if request.dont_filter or request.meta.get("allow_offsite") or self.crawler is None:
            return False
        domains = getattr(self.crawler.spider, "allowed_domains", None)
        if not domains or urlsplit(target).scheme.lower() not in ("http", "https"):
            return False  # a spider that follows any domain; a non-HTTP target fails above
        return not url_is_from_any_domain(target, domains)


class RobotsCrawlDelay:
    """Extension: a robots.txt Crawl-delay for our user agent becomes that site's minimum
    download delay (capped at ROBOTSTXT_CRAWL_DELAY_MAX seconds), AutoThrottle or not."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.user_agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get(
            "USER_AGENT")
        self.maximum = crawler.settings.getfloat("ROBOTSTXT_CRAWL_DELAY_MAX", 30.0)
        self.delays: dict[str, float] = {}  # download slot → its Crawl-delay
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)
        # Connected after AutoThrottle's handler, so it runs after it and restores the floor.
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def robots_parsed(self, robotparser, request: Request) -> None:
        try:
            delay = robotparser.crawl_delay(self.user_agent)
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            return
        if not delay or delay <= 0:
            return
        delay = min(float(delay), self.maximum)
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        self.delays[key] = delay
        settings = downloader.per_slot_settings.setdefault(key, {})
        settings["delay"] = max(settings.get("delay", 0.0), delay)
        slot = downloader.slots.get(key)
        if slot is not None and slot.delay < delay:
            slot.delay = delay
        self.crawler.stats.set_value(f"robotstxt/crawl_delay/{key}", delay)

    def response_downloaded(self, response: Response, request: Request, spider=None) -> None:
        if not self.delays:
            return
        downloader = self.crawler.engine.downloader
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        floor = self.delays.get(key)
        slot = downloader.slots.get(key)
        if floor and slot is not None and slot.delay < floor:
            slot.delay = floor


class OutletCapsMiddleware:
    """One outlet cannot take a whole run: at most NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET
    requests to it, none once NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET of them failed (an
    HTTP error, a timeout, a refused connection...; 0 turns a cap off), and no waiting
    for a Retry-After longer than NARRATIVE_ARCHIVE_RETRY_AFTER_MAX: that URL fails at once
    and is left for a later run. Retries count as requests; robots.txt does not.

    An outlet is its id, or the host for a search result no outlet claims. Every
    request refused becomes a crawl_errors row of kind 'skipped' saying which cap
    cut the outlet off, is counted (skipped_capped), and the count is logged when
    the spider closes. What was not fetched is listed again by the next run's
    feeds and sitemaps. Placed after the retry middleware, so it sees what
    retries could not mend.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        self.max_requests = settings.getint("NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET")
        self.max_errors = settings.getint("NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET")
        self.retry_after_max = settings.getfloat("NARRATIVE_ARCHIVE_RETRY_AFTER_MAX",
                                                 settings.getfloat("RETRY_BACKOFF_MAX", 60.0))
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.stopped: dict[str, str] = {}  # outlet → why it gets no more requests this run
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def outlet(request: Request) -> str | None:
        if request.meta.get("dont_obey_robotstxt"):  # RobotsTxtMiddleware's own request
            return None
        return request.meta.get("outlet_id") or bare_host(request.url)

    def process_request(self, request: Request):
        key = self.outlet(request)
        if key is None:
            return None
        if key not in self.stopped and self.max_requests and self.requests[key] >= self.max_requests:
            self.stopped[key] = (
                f"request cap reached: {self.requests[key]} requests to {key} in this run"
                " (NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET); the rest waits for the next run")
        if key in self.stopped:
            self.refused[key] += 1
            raise Refused(self.stopped[key], skip="capped")
        self.requests[key] += 1
        return None

    def process_response(self, request: Request, response: Response):
        if response.status in request.meta.get("answer_statuses", ()):
            return response  # a revisit's 404 or 403 is its answer, not the outlet failing
        if response.status >= 400 and self.outlet(request) is not None:
            self._failed(request)
            asked = retry_after(response)
            if asked is not None and asked > self.retry_after_max:
                raise Refused(
                    f"HTTP {response.status}, asked to retry after {asked:.0f} s: left for a"
                    f" later run (NARRATIVE_ARCHIVE_RETRY_AFTER_MAX is {self.retry_after_max:g} s)")
        return response

    def process_exception(self, request: Request, exception: Exception):
        if not isinstance(exception, IgnoreRequest):  # ours, robots.txt's: not failures
            self._failed(request)

    def _failed(self, request: Request) -> None:
        key = self.outlet(request)
        if key is None:
            return
        self.errors[key] += 1
        if self.max_errors and self.errors[key] >= self.max_errors and key not in self.stopped:
            self.stopped[key] = (
                f"gave up on {key} for this run after {self.errors[key]} failed requests"
                " (NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET); the rest waits for the next run")

    def spider_closed(self, spider) -> None:
        for key, refused in sorted(self.refused.items()):
            logger.warning("%s: %d requests not made in this run: %s", key, refused,
                           self.stopped[key])


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware for requests that wait together for one site's robots.txt.

    Scrapy's waits on one shared Deferred turned into a Future per waiter; the first
    waiter's Future takes the parser and leaves None to the rest (Deferred.asFuture's
    callback returns None), so every other request queued behind the robots.txt
    download went out unchecked. Here a waiter left with None reads the parser that
    was stored for the site once the download finished.
    """

    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser


class PageTrimMiddleware:
    """An HTML page over NARRATIVE_ARCHIVE_MAX_PAGE_BYTES (0: off) is made smaller as soon
    as it arrives, before the spider and the pipeline hold it: its scripts (but JSON-LD),
    styles and comments dropped, then the rest cut at the limit (extract.bounds.trim_body).

    Extraction would throw those parts away, and trims the markup the same way in the
    worker; but a crawl holds every page it has downloaded until a worker is free for it,
    so hostile pages of 10 MiB each, arriving faster than they are extracted, held
    hundreds of MiB in the crawl process. Placed after the capture middleware (responses
    run 950 → 100) and after decompression: the WARC record keeps the page as it came.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.max_bytes = crawler.settings.getint("NARRATIVE_ARCHIVE_MAX_PAGE_BYTES")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response):
        if not self.max_bytes or len(response.body) <= self.max_bytes:
            return response
        kind = (response.headers.get("Content-Type") or b"").split(b";")[0].strip().lower()
        if kind not in (b"text/html", b"application/xhtml+xml"):
            return response
        trimmed = trim_body(response.body, self.max_bytes)
        if trimmed is None:
            return response
        logger.info("%s: trimmed before extraction from %d to %d bytes (scripts, styles and"
                    " comments dropped, cut at NARRATIVE_ARCHIVE_MAX_PAGE_BYTES)",
                    response.url, len(response.body), len(trimmed))
        self.crawler.stats.inc_value("narrative_archive/trimmed_pages")
        return response.replace(body=trimmed)


# Scrapy reads a refresh in the first 4,096 characters of the decoded page: at most 4 bytes
# a character, and a byte-order mark.
_REFRESH_SCAN = 4 * 4096 + 4


class QuickMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware (follows <meta http-equiv="refresh">), without decoding
    every HTML page to look: it decodes the whole body (response.text, ~70 KB a news page,
    which nothing else in the crawl process decodes) to search its first 4,096 characters.
    A page whose first 16 KiB hold neither "refresh" (any case) nor a NUL byte (UTF-16 or
    -32, where ASCII letters are not single bytes) cannot declare one in an
    ASCII-compatible encoding, and passes through as it came; any other goes to Scrapy's."""

    def process_response(self, request: Request, response: Response):  # type: ignore[override]
        if isinstance(response, HtmlResponse):
            start = response.body[:_REFRESH_SCAN]
            if b"\x00" not in start and b"refresh" not in start.lower():
                return response
        return super().process_response(request, response)
