"""The backfill spider's Media Cloud: per narrative, its story search for the range; each
story fetched live, and from the Wayback Machine when the live page is gone."""

from __future__ import annotations

import scrapy
from scrapy.http import Response

from narrative_archive.crawl import discovery
from narrative_archive.sources import mediacloud
from narrative_archive.spiders.base import describe_failure
from narrative_archive.spiders.wayback import WaybackBackfill
from narrative_archive.times import iso


class MediaCloudBackfill(WaybackBackfill):
    mediacloud_url: str
    mediacloud_key: str

    def mediacloud_listings(self):
        yield from self.resume("mediacloud")
        for narrative in self.narratives:
            request = self.mediacloud_listing(narrative.id)
            if request is not None:
                yield request

    def mediacloud_capture(self, capture: dict):
        capture = {**capture, **capture["fetch"]}  # title, published_at, listing: hints
        yield scrapy.Request(capture["url"], callback=self.parse_live,
                             errback=self.live_failed, dont_filter=True,
                             meta={"allow_offsite": True, "listed": capture,
                                   "handle_httpstatus_list": [404, 410]})

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
        reason = describe_failure(failure)
        if reason is None:
            return
        yield self.from_wayback(capture, reason)
