"""The backfill spider's Wayback Machine: CDX listings of each outlet's domains and raw
(id_) captures, one redirect to another capture followed.

The CDX server is asked through the paced "wayback-cdx" slot (crawl.pacing: 24 a
minute, a minute's pause after a 429, stopped for the run after a second); raw
captures through the "wayback" slot (two at a time, 0.5 s apart: at most 120 a
minute, well under the replay limit of about 600)."""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import Response

from narrative_archive.config import Outlet
from narrative_archive.crawl import discovery
from narrative_archive.extract.dates import parse_listed_date
from narrative_archive.sources import wayback
from narrative_archive.spiders.archive import REDIRECTS, ArchiveBackfill


class WaybackBackfill(ArchiveBackfill):
    wayback_url: str
    page_size: int

    def wayback_capture(self, capture: dict):
        fetch = capture["fetch"]
        hints = {key: fetch[key] for key in ("title", "published_at", "listing") if fetch.get(key)}
        yield self.wayback_request(fetch["timestamp"], capture["url"], {**capture, **hints})

    def not_archived(self, capture: dict, status: int):
        """What to do when the archive has no copy (404/410): record the failure."""
        yield self.fail(capture, f"HTTP {status} from the archive")

    def wayback_request(self, timestamp: str, url: str, capture: dict, hops: int = 0,
                        fallback: bool = False):
        return self.archive_request(
            wayback.raw_url(self.wayback_url, timestamp, url), self.parse_wayback, "wayback",
            listed=capture, hops=hops, fallback=fallback, dont_redirect=True,
            handle_httpstatus_list=[*REDIRECTS, 404, 410, 403, 451],
        )


    def from_wayback(self, capture: dict, reason: str):
        """The live page is gone: its Wayback capture nearest the story's date."""
        self.count("live_gone")
        self.logger.info("%s: %s live; asking the Wayback Machine", capture["url"], reason)
        moment = parse_listed_date(capture["captured_at"]) or self.since
        return self.wayback_request(wayback.timestamp_of(moment), capture["url"],
                                    {**capture, "fetch": {"timestamp": wayback.timestamp_of(moment)}},
                                    fallback=True)


    def wayback_listings(self):
        """The captures an earlier run listed but did not fetch, then each domain's listing."""
        yield from self.resume("wayback")
        for outlet in self.outlets:
            for domain in self.domains(outlet):
                request = self.wayback_listing(outlet, domain)
                if request is not None:
                    yield request

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


    def parse_wayback(self, response: Response):
        self.count("fetched")
        meta = response.meta
        capture = meta["listed"]
        if response.status in REDIRECTS:
            location = (response.headers.get("Location") or b"").decode("latin-1").strip()
            target = wayback.capture_of(self.wayback_url, urljoin(response.url, location))
            if target is None:
                self.skip(capture, "redirect", f"the capture redirects off the archive ({location})")
                return
            if meta["hops"] >= 1:
                yield self.fail(capture, "the capture redirects more than once")
                return
            timestamp, url = target
            # A candidate is dated by its listing: any copy of it will do.
            if not self.in_range(wayback.timestamp_iso(timestamp)) \
                    and not capture["fetch"].get("candidate"):
                self.skip(capture, "out_of_range",
                          f"the capture redirects to one of {wayback.timestamp_iso(timestamp)}")
                return
            yield self.wayback_request(timestamp, url, {**capture, "redirected": url},
                                       hops=meta["hops"] + 1, fallback=meta["fallback"])
            return
        if response.status in (404, 410):
            yield from self.not_archived(capture, response.status)
            return
        if response.status != 200:
            yield self.fail(capture, f"HTTP {response.status} from the archive")
            return
        target = wayback.capture_of(self.wayback_url, response.url)
        timestamp, url = target if target else (capture["fetch"]["timestamp"], capture["url"])
        page = self.page(
            capture, response.body, (response.headers.get("Content-Type") or b"").decode("latin-1"),
            url=url, source="wayback", archived_at=wayback.timestamp_iso(timestamp),
            archive_url=f"{self.wayback_url.rstrip('/')}/web/{timestamp}/{url}",
            response=response,
        )
        if page is not None:
            yield page

