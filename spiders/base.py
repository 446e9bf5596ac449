"""What the discovery spiders share: their arguments, the outlets, dedup and failures.

A spider only discovers article URLs and fetches them. It yields a `Page` for
every article page it got and a `Problem` for every URL it could not get; the
pipeline (narrative_archive.crawl.pipelines) extracts, stores and matches. Before a
URL is requested it is canonicalised, checked against the outlets crawled
(no wandering off their domains except through discovery), and skipped when
the archive fetched it within NARRATIVE_ARCHIVE_REFETCH_AFTER (asked through
narrative_archive.crawl.discovery, the one way a spider reads the archive).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from narrative_archive.config import Config, Narrative, Outlet, load_config, select_by_id
from narrative_archive.crawl import discovery, pacing
from narrative_archive.crawl.items import CAPTURE_IN_WORKER, STAT, Link, Page, Problem, Refused
from narrative_archive.crawl.settings_check import check_setting
from narrative_archive.paths import DEFAULT_DB
from narrative_archive.times import iso, now, parse_duration, parse_when
from narrative_archive.urls import bare_host, canonicalize_url

HTML_TYPES = ("text/html", "application/xhtml+xml")
WEB_SCHEMES = ("http", "https")


# --- dates -----------------------------------------------------------------


def in_range(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether a dated entry falls in [since, until]; an undated one always does."""
    if moment is None:
        return True
    return (since is None or moment >= since) and (until is None or moment <= until)


# --- outlets ---------------------------------------------------------------


class OutletIndex:
    """Which configured outlet a URL belongs to: its host or a parent domain in `domains`."""

    def __init__(self, outlets: Iterable[Outlet]):
        self.by_domain: dict[str, Outlet] = {}
        for outlet in outlets:
            for domain in outlet.domains:
                self.by_domain.setdefault(domain.lower().removeprefix("www."), outlet)

    def for_url(self, url: str) -> Outlet | None:
        host = bare_host(url)
        while host:
            if host in self.by_domain:
                return self.by_domain[host]
            _, _, host = host.partition(".")
        return None


# --- failures --------------------------------------------------------------


def _size(size: int) -> str:
    return f"{size // 2**20} MiB" if size >= 2**20 and not size % 2**20 else f"{size // 1024} KiB"


def describe_failure(failure: Failure, maxsize: int | None = None) -> str | None:
    """A short reason for a failed request; None for deliberate skips (robots.txt, offsite).

    `maxsize` is DOWNLOAD_MAXSIZE, named when a download was cut for its size.
    """
    error = failure.value
    request = getattr(failure, "request", None)
    maxsize = (request.meta.get("download_maxsize") if request is not None else None) or maxsize
    if isinstance(error, HttpError):
        response = error.response
        return f"HTTP {response.status}"
    if isinstance(error, Refused):
        return error.reason
    if isinstance(error, IgnoreRequest):
        message = str(error)
        if "robots.txt" in message or "offsite" in message.lower():
            return None
        if message.startswith("redirect"):
            return message
        if "redirections" in message:
            return "too many redirects"
        if "during decompression" in message:  # HttpCompressionMiddleware: a compression bomb
            size = re.search(r"DOWNLOAD_MAXSIZE \((\d+) B\)", message)
            limit = f" ({_size(int(size[1]))})" if size else ""
            return f"too big: decompresses beyond the download limit{limit}"
        return f"ignored: {message}"
    if isinstance(error, DownloadCancelledError):
        message = str(error)
        size = re.search(r"max size \((\d+)\)", message)
        if size or not message:  # no message: the body outgrew the limit while arriving
            cap = int(size[1]) if size else maxsize
            return f"too big: larger than the download limit{f' ({_size(cap)})' if cap else ''}"
        return f"download cancelled: {message}"
    if isinstance(error, DownloadTimeoutError):
        return "timed out"
    if isinstance(error, CannotResolveHostError):
        return "DNS lookup failed"
    if isinstance(error, DownloadConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ResponseDataLossError):
        return "connection closed before the whole page arrived"
    if isinstance(error, DownloadFailedError):
        return f"download failed: {error}"
    return f"{type(error).__name__}: {error}"


def skip_kind(failure: Failure) -> str | None:
    """'robots', 'offsite' or 'capped' when the request was skipped on purpose."""
    if isinstance(failure.value, Refused):
        return failure.value.skip
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        if "robots.txt" in message:
            return "robots"
        if "offsite" in message.lower():
            return "offsite"
    return None


def not_fetched(failure: Failure, kind: str) -> str:
    """Why a page was deliberately not fetched (skip_kind's `kind`), for crawl_errors: the
    cap that stopped it, robots.txt, or where an off-site redirect would have led."""
    request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on errbacks
    redirected = bool(request.meta.get("redirect_urls"))
    if isinstance(failure.value, Refused) and failure.value.reason:
        return failure.value.reason  # a cap, or an off-site redirect: our middlewares say
    if kind == "offsite":
        host = urlsplit(request.url).hostname or request.url[:100]
        return (f"not fetched: redirected off the outlet's domains (to {host})" if redirected
                else f"not fetched: off the outlet's domains ({host})")
    if redirected:
        return f"not fetched: redirected to {request.url[:200]}, which robots.txt disallows"
    return "not fetched: robots.txt disallows it"


# --- the base spider -------------------------------------------------------


def _names(value: Any) -> tuple[str, ...]:
    """Spider arguments come as lists (from crawl) or comma-separated strings (from -a)."""
    if not value:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v and v.strip())


class ArchiveSpider(scrapy.Spider):
    """A discovery spider over the configured outlets; subclasses implement start()."""

    via: ClassVar[str] = ""
    default_since_setting: ClassVar[str | None] = None  # a setting with a default --since
    follows_any_domain: ClassVar[bool] = False  # search: results may be on any domain

    config: Config
    outlets: tuple[Outlet, ...]
    narratives: tuple[Narrative, ...]
    since: datetime | None
    until: datetime | None
    limit: int | None
    run_id: int | None

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        slots = {**settings.getdict("DOWNLOAD_SLOTS"), **pacing.paced_slots(settings)}
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup(crawler.settings, **kwargs)
        return spider

    def setup(self, settings, outlets=None, narratives=None, since=None, until=None, limit=None,
              run_id=None, config: Config | None = None, **_) -> None:
        """Read the config (unless the crawl command hands it over, just read) and the
        spider's arguments; raise ValueError for bad ones."""
        self.config = config or load_config(settings.get("NARRATIVE_ARCHIVE_CONFIG") or None,
                                            check_setting=check_setting)
        self.outlet_index = OutletIndex(self.config.outlets)
        self.outlets = select_by_id(self.config.outlets, _names(outlets), "outlet")
        self.outlets_chosen = bool(_names(outlets))
        self.narratives = select_by_id(self.config.narratives, _names(narratives), "narrative")
        if since in (None, "") and self.default_since_setting:
            since = settings.get(self.default_since_setting) or None
        self.since = parse_when(since)
        self.until = parse_when(until, end=True)
        if self.since and self.until and self.since > self.until:
            raise ValueError("--since is after --until")
        self.limit = int(limit) if limit not in (None, "", 0, "0") else None
        self.run_id = int(run_id) if run_id not in (None, "") else None
        self.run_args = {
            key: value for key, value in (
                ("outlets", list(_names(outlets))), ("narratives", list(_names(narratives))),
                ("since", iso(self.since) if self.since else None),
                ("until", iso(self.until) if self.until else None), ("limit", self.limit),
            ) if value
        }
        self.db_path = settings.get("NARRATIVE_ARCHIVE_DB") or DEFAULT_DB
        self.refetch_after = parse_duration(settings.get("NARRATIVE_ARCHIVE_REFETCH_AFTER") or 0) or 0
        self.max_sitemap_size = settings.getint("NARRATIVE_ARCHIVE_SITEMAP_MAXSIZE")
        self._db: Any = None  # the archive, opened on first use (discovery.open_archive)
        self.seen: set[str] = set()
        self.requested: Counter[str] = Counter()  # article requests per outlet or narrative
        if not self.follows_any_domain:
            # The safety net behind follow(): OffsiteMiddleware drops anything else.
            domains = {d for outlet in self.outlets for d in outlet.domains}
            for outlet in self.outlets:
                for url in (outlet.url, *outlet.feeds, *outlet.sitemaps):
                    domains.add(bare_host(url))
            self.allowed_domains = sorted(d for d in domains if d)

    @property
    def db(self):
        if self._db is None:
            self._db = discovery.open_archive(self.db_path)
        return self._db

    def closed(self, reason: str) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def count(self, key: str, value: int = 1) -> None:
        self.crawler.stats.inc_value(STAT + key, value)

    # -- following article links --

    def follow(self, links: Iterable[Link], *, outlet: Outlet | None = None, source: str,
               narrative: Narrative | None = None) -> Iterator[scrapy.Request]:
        """Requests for the article links worth fetching, in their order.

        Drops non-http(s) links, links off the crawled outlets' domains (unless
        this spider follows any domain), duplicates within the run, URLs the
        archive fetched, or failed to fetch, within NARRATIVE_ARCHIVE_REFETCH_AFTER,
        and links past --limit (per outlet; per narrative for search).
        """
        candidates: list[tuple[Link, str, Outlet | None]] = []
        selected = {o.id for o in self.outlets}
        for link in links:
            url = (link.url or "").strip()
            if urlsplit(url).scheme.lower() not in WEB_SCHEMES:
                self.count("skipped_not_http")
                continue
            try:
                canonical = canonicalize_url(url)
            except ValueError:
                self.count("skipped_not_http")
                continue
            owner = self.outlet_index.for_url(url)
            if self.follows_any_domain and not self.outlets_chosen:
                pass  # search: any domain, known or not
            elif owner is None or owner.id not in selected:
                self.count("skipped_offsite")
                self.logger.debug("Not following %s: not on the domains of %s", url,
                                  outlet.id if outlet else "the outlets crawled")
                continue
            if canonical in self.seen:
                self.count("skipped_duplicate")
                continue
            self.seen.add(canonical)
            candidates.append((link, canonical, owner))
        recent = discovery.fetched_lately(
            self.db, [canonical for _, canonical, _ in candidates], self.refetch_after)
        failed = discovery.failed_lately(
            self.db, [link.url.strip() for link, _, _ in candidates], self.refetch_after)
        for link, canonical, owner in candidates:
            if canonical in recent:
                self.count("skipped_recent")
                continue
            if link.url.strip() in failed:
                self.count("skipped_failed")
                continue
            key = narrative.id if narrative else (owner.id if owner else "")
            if self.limit and self.requested[key] >= self.limit:
                self.count("skipped_limit")
                continue
            self.requested[key] += 1
            self.count("requested")
            yield scrapy.Request(
                link.url.strip(), callback=self.parse_article, errback=self.failed,
                meta={
                    "outlet_id": owner.id if owner else None, "title": link.title,
                    "published_at": link.published_at, "source": source,
                    "narrative_id": narrative.id if narrative else None,
                    CAPTURE_IN_WORKER: True,
                },
            )

    def listing_request(self, url: str, callback, *, outlet: Outlet | None = None, **meta):
        """A request for a feed, sitemap or search answer: discovery may live on other hosts."""
        return scrapy.Request(
            url, callback=callback, errback=self.failed,
            meta={"allow_offsite": True, "outlet_id": outlet.id if outlet else None, **meta},
        )

    # -- responses --

    def parse_article(self, response: Response):
        """Hand an article page to the pipeline (or say why it is not one)."""
        self.count("fetched")
        meta = response.meta
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        mime = content_type.split(";")[0].strip().lower()
        if mime and mime not in HTML_TYPES:
            yield Problem(response.url, f"not HTML ({mime})", meta.get("outlet_id"))
            return
        yield Page(
            url=response.url, body=response.body,
            encoding=http_content_type_encoding(content_type) if content_type else None,
            fetched_at=now(), outlet_id=meta.get("outlet_id"), via=self.via,
            title=meta.get("title"), published_at=meta.get("published_at"),
            source=meta.get("source"), narrative_id=meta.get("narrative_id"),
            capture=meta.get("capture"),
        )

    def failed(self, failure: Failure):
        """Errback: a Problem for the pipeline to record: a failure, or (kind 'skipped') a
        page deliberately not fetched (robots.txt, an off-site redirect, a cap)."""
        request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on errbacks
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # the URL discovery listed
        kind = skip_kind(failure)
        if kind:
            self.count(f"skipped_{kind}")
            why = not_fetched(failure, kind)
            self.logger.info("Not fetched %s: %s", url, why)
            yield Problem(url, why, request.meta.get("outlet_id"), kind="skipped")
            return
        reason = describe_failure(failure, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if reason is None:
            return
        self.logger.info("Failed %s: %s", url, reason)
        yield Problem(url, reason, request.meta.get("outlet_id"))

    def listing_problem(self, response: Response, reason: str) -> Problem:
        self.logger.warning("%s: %s", response.url, reason)
        return Problem(response.url, reason, response.meta.get("outlet_id"))
