"""backfill: archived copies of the outlets' articles from a date range, from web archives.

Sources (--source; default wayback, plus mediacloud when a key is configured):

- wayback: per outlet domain, the Wayback CDX server lists the HTML captures
  (status 200) of the range whose URL carries one of the narratives' slug terms
  (narrative_archive.sources.terms; --all-urls: every URL), one per URL; each
  is fetched raw (id_). A replay that redirects to another capture is followed
  once.
- commoncrawl: the crawls of collinfo.json that overlap the range, per domain,
  the same filter; each record is fetched by byte range and read with warcio.
- mediacloud: per narrative, Media Cloud's story search for the range (its
  query made from the narrative's); each story is fetched live, and from the
  Wayback Machine when the live page is gone.

Articles keep their original URL and the outlet of its domain; where the copy
came from (archive_source, archive_url, archived_at) goes with the Page.
Archives get their own download slots (NARRATIVE_ARCHIVE_BACKFILL_SLOTS: at
most one index request a second, a few fetches a second), robots.txt is not
asked of their APIs, and 429/503 back off (Retry-After honoured) through the
project's retry middleware. Every capture listed is remembered in the archive
(backfill_captures) with the listing's resume point (backfill_cursors), in
one transaction per index page: a run that is stopped, even by kill -9,
resumes where it stopped and fetches no capture twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from w3lib.encoding import http_content_type_encoding

from narrative_archive.config import Outlet
from narrative_archive.crawl import discovery
from narrative_archive.crawl.items import Page, Problem, Refused
from narrative_archive.extract.dates import parse_listed_date
from narrative_archive.sources import commoncrawl, mediacloud, terms, wayback
from narrative_archive.spiders.base import HTML_TYPES, ArchiveSpider, describe_failure, skip_kind
from narrative_archive.times import iso, now
from narrative_archive.urls import bare_host

SOURCES = ("wayback", "commoncrawl", "mediacloud")
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


class BackfillSpider(ArchiveSpider):
    """Archived copies of the configured outlets' articles, per narrative, over a date range."""

    name = "backfill"
    via = "archive"
    until: datetime  # setup() makes it now when --until is not given

    archive_meta: ClassVar[dict[str, Any]] = {
        "allow_offsite": True, "dont_obey_robotstxt": True, "autothrottle_dont_adjust_delay": True,
    }

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        slots.update(settings.getdict("NARRATIVE_ARCHIVE_BACKFILL_SLOTS"))
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    def setup(self, settings, source=None, all_urls=None, **kwargs) -> None:
        super().setup(settings, **kwargs)
        if self.since is None:
            raise ValueError("backfill needs --since (and --until): the date range to fill")
        if self.until is None:
            self.until = datetime.now(UTC)
        self.mediacloud_key = settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY") or ""
        self.sources = sources_for(source, self.mediacloud_key)
        self.all_urls = str(all_urls).lower() in ("1", "true", "yes") if all_urls else False
        self.wayback_url = settings.get("NARRATIVE_ARCHIVE_WAYBACK_URL") or wayback.DEFAULT_URL
        self.cc_index_url = (settings.get("NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL")
                             or commoncrawl.DEFAULT_INDEX_URL)
        self.cc_data_url = (settings.get("NARRATIVE_ARCHIVE_COMMONCRAWL_DATA_URL")
                            or commoncrawl.DEFAULT_DATA_URL)
        self.mediacloud_url = settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_URL") or mediacloud.DEFAULT_URL
        self.page_size = settings.getint("NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE") or wayback.PAGE_SIZE
        self.terms = [] if self.all_urls else terms.narrative_terms(self.narratives)
        self.url_regex = terms.url_regex(self.terms) if self.terms else None
        self.selected = {outlet.id: outlet for outlet in self.outlets}
        self.queued: set[tuple[str, str]] = set()  # (source, capture) requested in this run
        self.run_args.update({"sources": self.sources, "all_urls": self.all_urls,
                              "url_terms": self.terms})

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
        return list(dict.fromkeys(d.lower().removeprefix("www.") for d in outlet.domains)) or [
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
        if not self.take(capture):
            return
        if capture["source"] == "wayback":
            yield self.wayback_request(capture["fetch"]["timestamp"], capture["url"], capture)
        elif capture["source"] == "mediacloud":
            capture = {**capture, **capture["fetch"]}  # title, published_at, listing: hints
            yield scrapy.Request(capture["url"], callback=self.parse_live,
                                 errback=self.live_failed, dont_filter=True,
                                 meta={"allow_offsite": True, "listed": capture,
                                       "handle_httpstatus_list": [404, 410]})
        else:
            fetch = capture["fetch"]
            record = commoncrawl.Record(capture["url"], fetch["timestamp"], fetch["filename"],
                                        int(fetch["offset"]), int(fetch["length"]))
            yield self.archive_request(
                commoncrawl.data_url(self.cc_data_url, record), self.parse_cc_record,
                "commoncrawl-data", listed=capture, record=record,
                handle_httpstatus_list=[200, 206],
            ).replace(headers={"Range": commoncrawl.byte_range(record)})

    def wayback_request(self, timestamp: str, url: str, capture: dict, hops: int = 0,
                        fallback: bool = False):
        return self.archive_request(
            wayback.raw_url(self.wayback_url, timestamp, url), self.parse_wayback, "wayback",
            listed=capture, hops=hops, fallback=fallback, dont_redirect=True,
            handle_httpstatus_list=[*REDIRECTS, 404, 410, 403, 451],
        )

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

    # -- start --

    async def start(self):
        if "mediacloud" in self.sources and not self.mediacloud_key:
            self.logger.info("mediacloud: skipped, no API key (set NARRATIVE_ARCHIVE_MEDIACLOUD_KEY)")
        if self.terms:
            self.logger.info("URL filter: URLs containing %s", ", ".join(self.terms))
        for source in self.sources:
            if source == "wayback":
                for request in self.resume("wayback"):
                    yield request
                for outlet in self.outlets:
                    for domain in self.domains(outlet):
                        request = self.wayback_listing(outlet, domain)
                        if request is not None:
                            yield request
            elif source == "commoncrawl":
                for request in self.resume("commoncrawl"):
                    yield request
                yield self.archive_request(
                    f"{self.cc_index_url.rstrip('/')}/collinfo.json", self.parse_collinfo,
                    "commoncrawl-index")
            elif source == "mediacloud" and self.mediacloud_key:
                for request in self.resume("mediacloud"):
                    yield request
                for narrative in self.narratives:
                    request = self.mediacloud_listing(narrative.id)
                    if request is not None:
                        yield request

    # -- wayback --

    def wayback_listing(self, outlet: Outlet, domain: str, sized: bool = False):
        resume_key, done = discovery.backfill_cursor(self.db, "wayback", domain, self.range_key)
        if done:
            self.count("listings_done_before")
            self.logger.info("wayback: %s already listed for this range", domain)
            return None
        meta = {"outlet_id": outlet.id, "domain": domain, "attempt": 1}
        if self.all_urls and resume_key is None and not sized:
            url = wayback.cdx_url(self.wayback_url, domain, since=self.since, until=self.until,
                                  num_pages=True)
            return self.archive_request(url, self.parse_wayback_size, "wayback-cdx", **meta)
        url = wayback.cdx_url(self.wayback_url, domain, since=self.since, until=self.until,
                              url_regex=self.url_regex, limit=self.page_size,
                              resume_key=resume_key)
        return self.archive_request(url, self.parse_cdx, "wayback-cdx", **meta)

    def parse_wayback_size(self, response: Response):
        self.count("fetched")
        domain = response.meta["domain"]
        try:
            pages = wayback.parse_num_pages(response.body)
        except ValueError as error:
            self.logger.warning("wayback: %s: no size estimate (%s)", domain, error)
        else:
            self.logger.warning(
                "--all-urls: the Wayback index holds %d page(s) of captures for %s (each page"
                " is thousands of captures); every HTML capture in the range will be fetched",
                pages, domain)
        outlet = self.selected[response.meta["outlet_id"]]
        request = self.wayback_listing(outlet, domain, sized=True)
        if request is not None:
            yield request

    def parse_cdx(self, response: Response):
        self.count("fetched")
        self.count("listings")
        meta = response.meta
        try:
            listing = wayback.parse_cdx(response.body)
        except ValueError as error:
            yield from self.broken_listing(response, str(error))
            return
        rows = []
        for capture in listing.captures:
            if not self.in_range(capture.captured_at):
                self.count("skipped_out_of_range")
                continue
            rows.append({"capture": f"{capture.timestamp} {capture.url}", "url": capture.url,
                         "captured_at": capture.captured_at, "outlet_id": meta["outlet_id"],
                         "fetch": {"timestamp": capture.timestamp}})
        yield from self.listed("wayback", meta["domain"], self.range_key, rows,
                               listing.resume_key)
        if listing.resume_key:
            url = wayback.cdx_url(self.wayback_url, meta["domain"], since=self.since,
                                  until=self.until, url_regex=self.url_regex,
                                  limit=self.page_size, resume_key=listing.resume_key)
            yield self.archive_request(url, self.parse_cdx, "wayback-cdx",
                                       outlet_id=meta["outlet_id"], domain=meta["domain"],
                                       attempt=1)

    def broken_listing(self, response: Response, reason: str):
        """Ask a broken index page again (a few times), else record it and leave the cursor
        where it is: the next run resumes there."""
        attempt = response.meta.get("attempt", 1)
        if attempt < LISTING_ATTEMPTS:
            self.count("listings_retried")
            self.logger.info("%s: %s; asking again", response.url, reason)
            yield response.request.replace(meta={**response.meta, "attempt": attempt + 1})
            return
        yield self.listing_problem(response, f"{reason} (asked {attempt} times; the next run"
                                             " resumes here)")

    def parse_wayback(self, response: Response):
        self.count("fetched")
        meta = response.meta
        capture = meta["listed"]
        if response.status in REDIRECTS:
            location = response.headers.get("Location", b"").decode("latin-1").strip()
            target = wayback.capture_of(self.wayback_url, urljoin(response.url, location))
            if target is None:
                self.skip(capture, "redirect", f"the capture redirects off the archive ({location})")
                return
            if meta["hops"] >= 1:
                yield self.fail(capture, "the capture redirects more than once")
                return
            timestamp, url = target
            if not self.in_range(wayback.timestamp_iso(timestamp)):
                self.skip(capture, "out_of_range",
                          f"the capture redirects to one of {wayback.timestamp_iso(timestamp)}")
                return
            yield self.wayback_request(timestamp, url, {**capture, "redirected": url},
                                       hops=meta["hops"] + 1, fallback=meta["fallback"])
            return
        if response.status != 200:
            yield self.fail(capture, f"HTTP {response.status} from the archive")
            return
        target = wayback.capture_of(self.wayback_url, response.url)
        timestamp, url = target if target else (capture["fetch"]["timestamp"], capture["url"])
        page = self.page(
            capture, response.body, response.headers.get("Content-Type", b"").decode("latin-1"),
            url=url, source="wayback", archived_at=wayback.timestamp_iso(timestamp),
            archive_url=f"{self.wayback_url.rstrip('/')}/web/{timestamp}/{url}",
            response=response,
        )
        if page is not None:
            yield page

    # -- common crawl --

    def parse_collinfo(self, response: Response):
        self.count("fetched")
        self.count("listings")
        try:
            crawls = commoncrawl.crawls_between(commoncrawl.parse_collinfo(response.body),
                                                self.since, self.until)
        except ValueError as error:
            yield self.listing_problem(response, str(error))
            return
        self.logger.info("commoncrawl: %d crawls in the range", len(crawls))
        for crawl in crawls:
            for outlet in self.outlets:
                for domain in self.domains(outlet):
                    key = f"{crawl.id} {self.range_key}"
                    resume_key, done = discovery.backfill_cursor(self.db, "commoncrawl", domain, key)
                    if done:
                        self.count("listings_done_before")
                        continue
                    url = commoncrawl.index_url(self.cc_index_url, crawl.id, domain,
                                                since=self.since, until=self.until,
                                                url_regex=self.url_regex, num_pages=True)
                    yield self.archive_request(
                        url, self.parse_cc_size, "commoncrawl-index", outlet_id=outlet.id,
                        domain=domain, crawl=crawl.id, key=key, page=int(resume_key or 0),
                        handle_httpstatus_list=[404])

    def cc_page_request(self, meta: dict, page: int, pages: int):
        url = commoncrawl.index_url(self.cc_index_url, meta["crawl"], meta["domain"],
                                    since=self.since, until=self.until, url_regex=self.url_regex,
                                    page=page)
        return self.archive_request(url, self.parse_cc_index, "commoncrawl-index",
                                    **{k: meta[k] for k in ("outlet_id", "domain", "crawl", "key")},
                                    page=page, pages=pages, attempt=1,
                                    handle_httpstatus_list=[404])

    def parse_cc_size(self, response: Response):
        self.count("fetched")
        meta = response.meta
        if response.status == 404:  # pywb: no captures at all
            discovery.save_backfill_listing(self.db, "commoncrawl", meta["domain"], meta["key"], [],
                                        None, done=True)
            return
        try:
            pages = commoncrawl.parse_num_pages(response.body)
        except ValueError as error:
            yield self.listing_problem(response, str(error))
            return
        if self.all_urls:
            self.logger.warning("--all-urls: %s has %d index page(s) of captures for %s",
                                meta["crawl"], pages, meta["domain"])
        if meta["page"] < pages:
            yield self.cc_page_request(meta, meta["page"], pages)
        else:
            discovery.save_backfill_listing(self.db, "commoncrawl", meta["domain"], meta["key"], [],
                                        None, done=True)

    def parse_cc_index(self, response: Response):
        self.count("fetched")
        self.count("listings")
        meta = response.meta
        records: list[commoncrawl.Record] = []
        if response.status != 404:
            try:
                records = commoncrawl.parse_index(response.body)
            except ValueError as error:
                yield from self.broken_listing(response, str(error))
                return
        rows = []
        for record in records:
            if not self.in_range(record.captured_at):
                self.count("skipped_out_of_range")
                continue
            rows.append({"capture": record.capture, "url": record.url,
                         "captured_at": record.captured_at, "outlet_id": meta["outlet_id"],
                         "fetch": {"timestamp": record.timestamp, "filename": record.filename,
                                   "offset": record.offset, "length": record.length}})
        following = meta["page"] + 1
        more = following < meta["pages"]
        yield from self.listed("commoncrawl", meta["domain"], meta["key"], rows,
                               str(following) if more else None)
        if more:
            yield self.cc_page_request(meta, following, meta["pages"])

    def parse_cc_record(self, response: Response):
        self.count("fetched")
        capture, record = response.meta["listed"], response.meta["record"]
        try:
            http = commoncrawl.read_record(response.body)
        except ValueError as error:
            yield self.fail(capture, str(error))
            return
        if http.status != 200:
            self.skip(capture, "not_ok", f"the archived response was HTTP {http.status}")
            return
        page = self.page(
            capture, http.body, http.content_type, source="commoncrawl", response=response,
            archived_at=record.captured_at,
            archive_url=(f"{commoncrawl.data_url(self.cc_data_url, record)}"
                         f"#offset={record.offset}&length={record.length}"),
        )
        if page is not None:
            yield page

    # -- media cloud --

    def mediacloud_listing(self, narrative_id: str, token: str | None = None):
        key = f"{narrative_id} {self.since:%Y%m%d}-{self.until:%Y%m%d}"
        if token is None:
            token, done = discovery.backfill_cursor(self.db, "mediacloud", "*", key)
            if done:
                self.count("listings_done_before")
                return None
        try:
            query = mediacloud.narrative_query(self.config.narrative(narrative_id))
        except ValueError as error:
            self.logger.warning("mediacloud: %s", error)
            return None
        url = mediacloud.story_list_url(self.mediacloud_url, query, since=self.since,
                                        until=self.until, pagination_token=token)
        request = self.archive_request(url, self.parse_stories, "mediacloud",
                                       narrative_id=narrative_id, key=key, attempt=1)
        return request.replace(headers=mediacloud.headers(self.mediacloud_key))

    def parse_stories(self, response: Response):
        self.count("fetched")
        self.count("listings")
        meta = response.meta
        try:
            stories, token = mediacloud.parse_story_list(response.body)
        except ValueError as error:
            yield from self.broken_listing(response, str(error))
            return
        candidates = []
        for story in stories:
            if story.published_at and not self.in_range(story.published_at):
                self.count("skipped_out_of_range")
                continue
            owner = self.outlet_index.for_url(story.url)
            if self.outlets_chosen and (owner is None or owner.id not in self.selected):
                self.count("skipped_offsite")
                continue
            candidates.append((story, owner))
        rows = [{"capture": story.url, "url": story.url,
                 "captured_at": story.published_at or iso(self.since),
                 "outlet_id": owner.id if owner else None,
                 "fetch": {"title": story.title, "published_at": story.published_at,
                           "listing": response.url}} for story, owner in candidates]
        yield from self.listed("mediacloud", "*", meta["key"], rows, token)
        if token:
            request = self.mediacloud_listing(meta["narrative_id"], token)
            if request is not None:
                yield request

    def parse_live(self, response: Response):
        self.count("fetched")
        capture = response.meta["listed"]
        if response.status in (404, 410):
            yield self.from_wayback(capture, f"HTTP {response.status}")
            return
        page = self.page(capture, response.body,
                         response.headers.get("Content-Type", b"").decode("latin-1"),
                         url=response.url, source=None, archive_url=None, archived_at=None,
                         response=response)
        if page is not None:
            yield page

    def live_failed(self, failure):
        capture = failure.request.meta["listed"]
        if skip_kind(failure):  # not fetched on purpose (robots.txt, a cap): not gone
            yield from self.failed(failure)
            return
        reason = describe_failure(failure)
        if reason is None:
            return
        yield self.from_wayback(capture, reason)

    def from_wayback(self, capture: dict, reason: str):
        """The live page is gone: its Wayback capture nearest the story's date."""
        self.count("live_gone")
        self.logger.info("%s: %s live; asking the Wayback Machine", capture["url"], reason)
        moment = parse_listed_date(capture["captured_at"]) or self.since
        return self.wayback_request(wayback.timestamp_of(moment), capture["url"],
                                    {**capture, "fetch": {"timestamp": wayback.timestamp_of(moment)}},
                                    fallback=True)

    def failed(self, failure):
        """Errback: a capture that would fail again is remembered as failed (one the archive
        could not serve just now stays pending, for the next run); then the usual Problem."""
        capture = failure.request.meta.get("listed")
        reason = describe_failure(failure)
        if capture is not None and reason is not None and fails_for_good(failure):
            discovery.finish_capture(self.db, capture["source"], capture["capture"], "failed", reason)
        yield from super().failed(failure)
