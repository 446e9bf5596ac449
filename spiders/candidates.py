"""The backfill spider's candidates: narrative pages whose URL need not name the narrative.

The domain listings (wayback) find archived pages whose URL carries a slug term; a page
whose URL is an id (tass.ru/politika/4123456) is found here instead, without a CDX
request of its own:

- archived copies of each outlet's feeds and sitemaps (outlets.yml) in the range: one
  CDX query per feed or sitemap URL (a copy a day at most), each copy fetched raw
  (id_) and read. An entry dated in the range (or undated, in a copy of the range)
  whose title or URL carries a slug term is a candidate (every entry, with
  --all-urls). A sitemap index's sitemaps are read as archived that day, once each.
- GDELT's articles for the part of the range within its last three months (source
  gdelt; its English query, split as the search spider splits it), and Media Cloud's
  stories (source mediacloud, in its own module).

A candidate is looked up in the Wayback Machine by its replay URL, /web/{date}id_/{url}:
the archive serves, or redirects to, its copy nearest that date, so no CDX request is
spent on it (the replay slot's budget is twenty times the CDX server's). One the archive
does not hold is fetched live. Copies read are remembered (backfill_captures, source
"feeds", state "read"); a run resumes where the last stopped.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from urllib.parse import unquote

from scrapy.http import Response

from narrative_archive.config import Outlet
from narrative_archive.crawl import discovery
from narrative_archive.sources import gdelt, wayback
from narrative_archive.spiders.feeds import parse_feed
from narrative_archive.spiders.mediacloud import MediaCloudBackfill
from narrative_archive.spiders.search import gdelt_requests, search_clauses
from narrative_archive.spiders.sitemaps import parse_sitemap
from narrative_archive.times import iso, parse_iso
from narrative_archive.urls import canonicalize_url

MAX_CHILD_SITEMAPS = 20  # sitemaps of one archived index read (the ones dated in the range)


class CandidatesBackfill(MediaCloudBackfill):
    terms: list[str]

    # -- archived feeds and sitemaps --

    def wayback_listings(self):
        yield from super().wayback_listings()
        if not self.crawler.settings.getbool("NARRATIVE_ARCHIVE_BACKFILL_ARCHIVED_LISTINGS", True):
            return
        yield from self.resume("feeds")
        for outlet in self.outlets:
            for kind, urls in (("feed", outlet.feeds), ("sitemap", outlet.sitemaps)):
                for url in urls:
                    request = self.copies_listing(outlet, url, kind)
                    if request is not None:
                        yield request

    def copies_listing(self, outlet: Outlet, url: str, kind: str, resume_key: str | None = None):
        if resume_key is None:
            resume_key, done = discovery.backfill_cursor(self.db, "feeds", url, self.range_key)
            if done:
                self.count("listings_done_before")
                return None
        listing = wayback.copies_url(self.wayback_url, url, since=self.since, until=self.until,
                                     limit=self.page_size, resume_key=resume_key)
        return self.archive_request(listing, self.parse_copies, "wayback-cdx",
                                    outlet_id=outlet.id, listed_url=url, kind=kind, attempt=1)

    def parse_copies(self, response: Response):
        self.count("fetched")
        self.count("listings")
        meta = response.meta
        try:
            listing = wayback.parse_cdx(response.body)
        except ValueError as error:
            yield from self.broken_listing(response, str(error))
            return
        rows = [{"capture": f"{copy.timestamp} {copy.url}", "url": copy.url,
                 "captured_at": copy.captured_at, "outlet_id": meta["outlet_id"],
                 "fetch": {"timestamp": copy.timestamp, "kind": meta["kind"],
                           "listing_copy": True}}
                for copy in listing.captures if self.in_range(copy.captured_at)]
        yield from self.listed("feeds", meta["listed_url"], self.range_key, rows,
                               listing.resume_key)
        if listing.resume_key:
            request = self.copies_listing(self.selected[meta["outlet_id"]], meta["listed_url"],
                                          meta["kind"], listing.resume_key)
            if request is not None:
                yield request

    def feeds_capture(self, capture: dict):
        timestamp = capture["fetch"]["timestamp"]
        yield self.archive_request(
            wayback.raw_url(self.wayback_url, timestamp, capture["url"]), self.parse_copy,
            "wayback", listed=capture, handle_httpstatus_list=[404, 410, 403, 451])

    def parse_copy(self, response: Response):
        """An archived feed or sitemap: its candidates (or a sitemap index's sitemaps)."""
        self.count("fetched")
        capture = response.meta["listed"]
        fetch = capture["fetch"]
        if response.status != 200:
            yield self.fail(capture, f"HTTP {response.status} from the archive")
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except OSError as error:
                yield self.fail(capture, f"broken gzip: {error}")
                return
        try:
            entries, children = self.read_copy(body, capture)
        except ValueError as error:
            yield self.fail(capture, str(error))
            return
        if children:
            # One read per version of a sitemap: a day's index lists the same one again
            # until its lastmod changes (the capture id carries it: listed once).
            rows = [{"capture": f"{wayback.timestamp_of(changed) if changed else fetch['timestamp']}"
                                f" {child}", "url": child,
                     "captured_at": capture["captured_at"], "outlet_id": capture["outlet_id"],
                     "fetch": {"timestamp": fetch["timestamp"], "kind": "sitemap",
                               "listing_copy": True, "child": True}}
                    for child, changed in children[:MAX_CHILD_SITEMAPS]]
            yield from self.listed("feeds", capture["url"], f"children {self.range_key}", rows,
                                   None)
        candidates = [self.candidate(capture, *entry) for entry in entries]
        rows = [row for row in candidates if row is not None]
        self.count("candidates", len(rows))
        discovery.finish_capture(self.db, "feeds", capture["capture"], "read",
                                 f"{len(rows)} candidates of {len(entries)} entries")
        yield from self.listed("wayback", capture["url"], f"candidates {self.range_key}", rows,
                               None)

    def read_copy(self, body: bytes, capture: dict):
        """(entries as (url, title, date), child sitemaps) of an archived feed or sitemap."""
        if capture["fetch"]["kind"] == "feed":
            feed = parse_feed(body, capture["url"])
            if feed.error:
                raise ValueError(feed.error)
            return [(link.url, link.title, link.published_at) for link in feed.links], []
        sitemap = parse_sitemap(body, capture["url"])
        if sitemap.kind == "index":
            if capture["fetch"].get("child"):
                return [], []  # no deeper than one index
            children = [(entry.loc, entry.date) for entry in sitemap.entries
                        if entry.date is None or self.since <= entry.date]
            return [], children
        return [(entry.loc, entry.title, iso(entry.date) if entry.date else None)
                for entry in sitemap.entries], []

    def relevant(self, url: str, title: str | None) -> bool:
        """An entry worth looking up: its title or URL carries a slug term (any, --all-urls)."""
        if self.all_urls or not self.terms:
            return True
        text = f"{title or ''} {unquote(url)}".casefold()
        return any(term.casefold() in text for term in self.terms)

    def candidate(self, capture: dict, url: str, title: str | None, dated: str | None):
        """A row for the Wayback lookup of one listed entry, or None (out of range, off the
        outlet, not relevant)."""
        if dated and not self.in_range(dated):
            return None
        try:
            canonical = canonicalize_url(url)
        except ValueError:
            return None
        owner = self.outlet_index.for_url(url)
        if owner is None or owner.id not in self.selected or not self.relevant(url, title):
            return None
        moment = dated or capture["captured_at"]
        return {"capture": f"listed {canonical}", "url": url, "captured_at": moment,
                "outlet_id": owner.id,
                "fetch": {"timestamp": wayback.timestamp_of(parse_iso(moment) or self.since),
                          "title": title, "published_at": dated,
                    "listing": f"{self.wayback_url.rstrip('/')}/web/"
                               f"{capture['fetch']['timestamp']}/{capture['url']}",
                    "candidate": True}}

    def not_archived(self, capture: dict, status: int):
        """A candidate the archive does not hold: its live page, once."""
        if not capture["fetch"].get("candidate"):
            yield from super().not_archived(capture, status)
            return
        self.count("candidates_live")
        yield self.live_request({**capture, "archive_first": True})

    # -- GDELT --

    def gdelt_listings(self):
        """GDELT's articles for the part of the range within its last three months."""
        base = self.crawler.settings.get("NARRATIVE_ARCHIVE_GDELT_URL")
        since = max(self.since, datetime.now(UTC) - gdelt.WINDOW)
        if not base or since > self.until:
            self.logger.info("gdelt: the range is older than GDELT's last three months")
            return
        for narrative in self.narratives:
            try:
                asked = gdelt_requests(narrative, search_clauses(narrative))
            except ValueError as error:
                self.logger.warning("gdelt: %s: %s", narrative.id, error)
                continue
            for _, query in asked:
                key = f"{since:%Y%m%d}-{self.until:%Y%m%d} {query}"
                if discovery.backfill_cursor(self.db, "gdelt", narrative.id, key)[1]:
                    self.count("listings_done_before")
                    continue
                url = gdelt.artlist_url(base, query, since=since, until=self.until,
                                        max_records=250)
                yield self.archive_request(url, self.parse_gdelt_articles, "gdelt",
                                           narrative_id=narrative.id, key=key)

    def parse_gdelt_articles(self, response: Response):
        meta = response.meta
        try:
            articles = gdelt.parse_artlist(response.body)
        except ValueError as error:  # GDELT's refusals: plain text, HTTP 200
            yield self.listing_problem(response, str(error))
            return
        self.count("fetched")
        self.count("listings")
        stamp = wayback.timestamp_of(self.until)
        rows = []
        for url, title in articles:
            owner = self.outlet_index.for_url(url)
            if self.outlets_chosen and (owner is None or owner.id not in self.selected):
                continue
            try:
                canonical = canonicalize_url(url)
            except ValueError:
                continue
            rows.append({"capture": f"listed {canonical}", "url": url,
                         "captured_at": iso(self.until), "outlet_id": owner.id if owner else None,
                         "fetch": {"timestamp": stamp, "title": title, "candidate": True,
                                   "listing": response.url}})
        discovery.save_backfill_listing(self.db, "gdelt", meta["narrative_id"], meta["key"], [],
                                        None, done=True)
        yield from self.listed("wayback", "gdelt", f"candidates {meta['narrative_id']}"
                               f" {meta['key']}", rows, None)
