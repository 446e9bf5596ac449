"""What every archive source of the backfill spider shares: one request per archive slot,
the listed captures remembered (and resumed) in the archive, skips and failures with
their reasons, and the Page an archived copy becomes.

Each archive is a module of its own (wayback, commoncrawl, mediacloud); the backfill
spider (narrative_archive.spiders.backfill) is all of them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from w3lib.encoding import http_content_type_encoding

from narrative_archive.config import Outlet
from narrative_archive.crawl import discovery
from narrative_archive.crawl.items import Page, Problem, Refused
from narrative_archive.extract.dates import parse_listed_date
from narrative_archive.spiders.base import HTML_TYPES, ArchiveSpider, describe_failure
from narrative_archive.times import now
from narrative_archive.urls import bare_host

SOURCES = ("wayback", "commoncrawl", "mediacloud", "gdelt")
BUSY = (408, 429)  # with every 5xx: the archive is busy or down for now, not the capture gone
REDIRECTS = (301, 302, 303, 307, 308)
LISTING_ATTEMPTS = 3  # a broken index page (truncated JSON, an HTML error page) is asked again
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_SOFT_404 = re.compile(
    r"\b404\b|page not found|not be found|page does not exist|страница не найдена"
    r"|страницу не найдено|сторінку не знайдено|الصفحة غير موجودة", re.I)


def fails_for_good(failure) -> bool:
    """Whether a failed archive fetch would fail the same way again (a 4xx, a body over the
    size limit, a bad redirect), rather than the archive being busy or out of reach for now
    (429, 5xx, a Retry-After too long to wait, timeouts, our own per-run caps)."""
    if failure.check(Refused):
        return False
    if failure.check(HttpError):
        status = failure.value.response.status
        return 400 <= status < 500 and status not in BUSY
    return bool(failure.check(DownloadCancelledError, IgnoreRequest))


def sources_for(source: str | None, mediacloud_key: str | None) -> list[str]:
    """The sources a --source value means; ValueError for an unknown one, or mediacloud
    asked for without a key. Default: wayback, plus mediacloud when there is a key."""
    if source in (None, ""):
        return ["wayback", "mediacloud"] if mediacloud_key else ["wayback"]
    if source == "all":
        return list(SOURCES)
    names = [s.strip() for s in str(source).split(",") if s.strip()]
    unknown = [s for s in names if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r} (known: {', '.join(SOURCES)}, all)")
    if "mediacloud" in names and not mediacloud_key:
        raise ValueError("--source mediacloud needs a Media Cloud API key: set "
                         "NARRATIVE_ARCHIVE_MEDIACLOUD_KEY (environment, or -s NAME=VALUE)")
    return list(dict.fromkeys(names))


def soft_404(body: bytes) -> bool:
    """Whether a 200 page says in its title that it is an error page."""
    match = _TITLE.search(body[:65536])
    if not match:
        return False
    return bool(_SOFT_404.search(match[1].decode("utf-8", "replace")))


def _mime(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()



class ArchiveBackfill(ArchiveSpider):
    """The backfill spider's shared half; each archive module adds its listings and fetches."""

    via = "archive"
    until: datetime  # setup() makes it now when --until is not given
    url_regex: str | None
    all_urls: bool
    selected: dict[str, Outlet]
    queued: set[tuple[str, str]]

    archive_meta: ClassVar[dict[str, Any]] = {
        "allow_offsite": True, "dont_obey_robotstxt": True, "autothrottle_dont_adjust_delay": True,
    }

    # -- helpers --

    @property
    def range_key(self) -> str:
        return f"{self.since:%Y%m%d}-{self.until:%Y%m%d} {self.url_regex or 'all-urls'}"

    def in_range(self, captured_at: str | None) -> bool:
        moment = parse_listed_date(captured_at)
        return moment is not None and self.since <= moment <= self.until

    # A request's listed capture goes in meta["listed"]: meta["capture"] is the capture
    # middleware's WARC record.
    def archive_request(self, url: str, callback, slot: str, *, errback=None, **meta):
        return scrapy.Request(url, callback=callback, errback=errback or self.failed,
                              meta={**self.archive_meta, "download_slot": slot, **meta},
                              dont_filter=True)

    def domains(self, outlet: Outlet) -> list[str]:
        """The outlet's domains to list, each once: a subdomain of another is in its listing
        (matchType=domain, *.domain), so it costs no index request of its own."""
        domains = list(dict.fromkeys(d.lower().removeprefix("www.") for d in outlet.domains))
        return [d for d in domains if not any(d.endswith(f".{o}") for o in domains)] or [
            bare_host(outlet.url)]

    def take(self, capture: dict) -> bool:
        """Whether to request this listed capture now: not already queued, within --limit."""
        key = (capture["source"], capture["capture"])
        if key in self.queued:
            return False
        self.queued.add(key)
        if not self.in_range(capture["captured_at"]):
            self.count("skipped_out_of_range")
            return False
        if capture.get("fetch", {}).get("listing_copy"):  # a feed's copy of a day: not an article
            return True
        canonical = capture["url"]
        if canonical in self.seen:
            self.count("skipped_duplicate")
            return False
        self.seen.add(canonical)
        outlet = capture.get("outlet_id") or ""
        if self.limit and self.requested[outlet] >= self.limit:
            self.count("skipped_limit")
            return False
        self.requested[outlet] += 1
        self.count("requested")
        return True

    def listed(self, source: str, domain: str, key: str, rows: list[dict],
               resume_key: str | None):
        """Remember a listed page and its resume point; requests for what is still to fetch."""
        pending = discovery.save_backfill_listing(self.db, source, domain, key, rows, resume_key,
                                              done=resume_key is None)
        self.count("skipped_fetched_before", len({r["capture"] for r in rows}
                                                 - {p["capture"] for p in pending}))
        for capture in pending:
            yield from self.capture_requests({**capture, "source": source})

    def capture_requests(self, capture: dict):
        """The request(s) that fetch a listed capture (its source's `{source}_capture`)."""
        if self.take(capture):
            yield from getattr(self, f"{capture['source']}_capture")(capture)

    def resume(self, source: str):
        """Requests for captures listed by an earlier run but never fetched."""
        for capture in discovery.pending_captures(self.db, source):
            outlet = capture["outlet_id"]
            wanted = outlet in self.selected or (outlet is None and not self.outlets_chosen)
            if wanted and self.in_range(capture["captured_at"]):
                self.count("resumed")
                yield from self.capture_requests({**capture, "source": source})

    def skip(self, capture: dict, kind: str, reason: str) -> None:
        self.count(f"skipped_{kind}")
        self.logger.info("Skipped %s (%s): %s", capture["url"], capture["source"], reason)
        discovery.finish_capture(self.db, capture["source"], capture["capture"], "skipped", reason)

    def fail(self, capture: dict, reason: str) -> Problem:
        discovery.finish_capture(self.db, capture["source"], capture["capture"], "failed", reason)
        self.logger.info("Failed %s (%s): %s", capture["url"], capture["source"], reason)
        return Problem(capture["url"], f"{capture['source']}: {reason}", capture.get("outlet_id"))

    def page(self, capture: dict, body: bytes, content_type: str, *, url: str | None = None,
             archive_url: str | None, archived_at: str | None, source: str | None,
             response: Response | None = None):
        """A Page for an archived (or live) copy, or None after skipping it with a reason.
        `response` carries the WARC capture of what was fetched (the archive's answer)."""
        mime = _mime(content_type)
        if mime and mime not in HTML_TYPES:
            self.skip(capture, "not_html", f"not HTML ({mime})")
            return None
        if soft_404(body):
            self.skip(capture, "soft_404", "an error page served as 200 (soft 404)")
            return None
        url = url or capture["url"]
        owner = self.outlet_index.for_url(url)
        return Page(
            url=url, body=body,
            encoding=http_content_type_encoding(content_type) if content_type else None,
            fetched_at=now(), outlet_id=owner.id if owner else capture.get("outlet_id"),
            via=self.via, title=capture.get("title"), published_at=capture.get("published_at"),
            source=capture.get("listing"), archive_source=source, archive_url=archive_url,
            archived_at=archived_at, capture=response.meta.get("capture") if response else None,
        )

    def broken_listing(self, response: Response, reason: str):
        """Ask a broken index page again (a few times), else record it and leave the cursor
        where it is: the next run resumes there."""
        attempt = response.meta.get("attempt", 1)
        if attempt < LISTING_ATTEMPTS:
            self.count("listings_retried")
            self.logger.info("%s: %s; asking again", response.url, reason)
            assert response.request is not None  # Scrapy sets it on every response it parses
            yield response.request.replace(meta={**response.meta, "attempt": attempt + 1})
            return
        yield self.listing_problem(response, f"{reason} (asked {attempt} times; the next run"
                                             " resumes here)")


    def failed(self, failure):
        """Errback: a capture that would fail again is remembered as failed (one the archive
        could not serve just now stays pending, for the next run); then the usual Problem."""
        capture = failure.request.meta.get("listed")
        reason = describe_failure(failure)
        if capture is not None and reason is not None and fails_for_good(failure):
            discovery.finish_capture(self.db, capture["source"], capture["capture"], "failed", reason)
        yield from super().failed(failure)
