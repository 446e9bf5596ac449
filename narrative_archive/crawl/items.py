"""What spiders hand the pipeline (Scrapy's items): a fetched Page, a RevisitOutcome
with no page, a Problem (a URL that could not be got), and the Links discovery finds.
Refused is what our own middlewares refuse a request with; STAT prefixes the counters
the spiders and the pipeline keep in crawler.stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import IgnoreRequest

# Request meta for an article page: its WARC records may be built by the extraction worker
# (capture.middleware.DeferredCapture), the spiders' name for it.
from narrative_archive.capture.middleware import CAPTURE_IN_WORKER  # noqa: F401

STAT = "narrative_archive/"  # prefix of the spiders' and the pipeline's counters in crawler.stats


@dataclass(frozen=True, eq=False)
class Page:
    """One fetched article page, on its way to extraction."""

    url: str  # where the page was fetched from (after redirects)
    body: bytes = field(repr=False)
    encoding: str | None  # the charset of the Content-Type header, if it named one
    fetched_at: str  # when the response arrived (UTC ISO 8601)
    outlet_id: str | None  # None: a search result from a domain no outlet claims
    via: str  # feed | sitemap | search | revisit | archive
    title: str | None = None  # discovery hints: what the feed, sitemap or search said
    published_at: str | None = None
    source: str | None = None  # the feed, sitemap or search URL that listed the page
    narrative_id: str | None = None  # the narrative a search result was found for
    # An archived copy (via archive): url is the original URL, these say where the copy came from.
    archive_source: str | None = None  # wayback | commoncrawl
    archive_url: str | None = None  # the capture as the archive serves it
    archived_at: str | None = None  # the capture's timestamp (UTC ISO 8601)
    article_id: int | None = None  # revisit: the stored article this page is a new look at
    etag: str | None = None  # revisit: the validators for the next conditional request
    last_modified: str | None = None
    # its WARC capture: a concurrent.futures.Future of a capture.CaptureRecord (or the record)
    capture: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RevisitOutcome:
    """A revisit that produced no page to extract (304, 3xx, 4xx, 5xx, soft 404, ...)."""

    article_id: int
    url: str
    outcome: str  # unchanged | moved | gone | blocked | failing (store.REVISIT_OUTCOMES)
    http_status: int | None = None
    new_url: str | None = None
    detail: str | None = None
    outlet_id: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    checked_at: str | None = None
    # its WARC capture (the 304, 3xx, 4xx or soft 404 as received), as in Page
    capture: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Problem:
    """A URL that could not be fetched or used, and why (a crawl_errors row); `kind`
    'skipped' for a page the crawl decided not to fetch (robots.txt, an off-site
    redirect, a per-outlet cap), which is no failure of the outlet."""

    url: str | None
    reason: str
    outlet_id: str | None = None
    kind: str = "error"


@dataclass(frozen=True)
class Link:
    """An article URL found by discovery, with what the listing said about it."""

    url: str
    title: str | None = None
    published_at: str | None = None


class Refused(IgnoreRequest):
    """A request our own middlewares refused; `reason` is its crawl_errors reason. `skip`
    names a page deliberately not fetched rather than a failure: 'capped' (an outlet
    over its caps) or 'offsite' (a redirect off the outlet's domains)."""

    def __init__(self, reason: str | None, skip: str | None = None):
        super().__init__(reason or "refused")
        self.reason = reason
        self.skip = skip
