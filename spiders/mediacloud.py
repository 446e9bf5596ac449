"""The backfill spider's Media Cloud: per narrative, its story search for the range; each
story fetched live, and from the Wayback Machine when the live page is gone."""

from __future__ import annotations

import scrapy
from scrapy.http import Response

from narrative_archive.config import Narrative, media_cloud_ids, require_media_cloud
from narrative_archive.crawl import discovery
from narrative_archive.sources import mediacloud
from narrative_archive.spiders.base import describe_failure, skip_kind
from narrative_archive.spiders.wayback import WaybackBackfill
from narrative_archive.times import iso

REFUSALS = (400, 401, 403, 404, 422)  # answers that say why: recorded, not asked again


class MediaCloudBackfill(WaybackBackfill):
    mediacloud_url: str
    mediacloud_key: str
    mediacloud_collections: tuple[int, ...]  # when a narrative names none of its own
    mediacloud_sources: tuple[int, ...]

    def mediacloud_setup(self, settings) -> None:
        """The key, and (when Media Cloud is asked for) every narrative's collections or
        sources: a ConfigError naming the narrative when one has none."""
        self.mediacloud_url = settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_URL") or mediacloud.DEFAULT_URL
        try:
            self.mediacloud_collections = media_cloud_ids(
                settings.getlist("NARRATIVE_ARCHIVE_MEDIACLOUD_COLLECTIONS"), "collection")
            self.mediacloud_sources = media_cloud_ids(
                settings.getlist("NARRATIVE_ARCHIVE_MEDIACLOUD_SOURCES"), "source")
        except ValueError as error:
            raise ValueError(f"NARRATIVE_ARCHIVE_MEDIACLOUD_*: {error}") from None
        if "mediacloud" in self.sources and self.mediacloud_key:
            require_media_cloud(self.config.paths.get("narratives.yml", "narratives.yml"),
                                self.narratives, self.mediacloud_collections,
                                self.mediacloud_sources)

    def mediacloud_scope(self, narrative: Narrative) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(collections, sources) a narrative's search is limited to: its own, else the global."""
        if narrative.mediacloud_collections or narrative.mediacloud_sources:
            return narrative.mediacloud_collections, narrative.mediacloud_sources
        return self.mediacloud_collections, self.mediacloud_sources

    def mediacloud_listings(self):
        yield from self.resume("mediacloud")
        for narrative in self.narratives:
            request = self.mediacloud_listing(narrative.id)
            if request is not None:
                yield request

    def mediacloud_capture(self, capture: dict):
        yield self.live_request({**capture, **capture["fetch"]})  # title, published_at: hints

    def mediacloud_listing(self, narrative_id: str, token: str | None = None):
        narrative = self.config.narrative(narrative_id)
        collections, sources = self.mediacloud_scope(narrative)
        key = (f"{narrative_id} {self.since:%Y%m%d}-{self.until:%Y%m%d}"
               f" cs={','.join(map(str, collections))} ss={','.join(map(str, sources))}")
        if token is None:
            token, done = discovery.backfill_cursor(self.db, "mediacloud", "*", key)
            if done:
                self.count("listings_done_before")
                return None
        try:
            query = mediacloud.narrative_query(narrative)
            url = mediacloud.story_list_url(
                self.mediacloud_url, query, since=self.since, until=self.until,
                collections=collections, sources=sources, pagination_token=token)
        except ValueError as error:
            self.logger.warning("mediacloud: %s", error)
            return None
        request = self.archive_request(url, self.parse_stories, "mediacloud",
                                       narrative_id=narrative_id, key=key, attempt=1,
                                       handle_httpstatus_list=list(REFUSALS))
        return request.replace(headers=mediacloud.headers(self.mediacloud_key))

    def parse_stories(self, response: Response):
        meta = response.meta
        if response.status in REFUSALS:  # not asked again; the run fetched nothing by it
            yield self.listing_problem(response, mediacloud.error_message(response.status,
                                                                          response.body))
            return
        self.count("fetched")
        self.count("listings")
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

    def live_request(self, capture: dict):
        """The live page of a listed story or candidate (hints from its listing)."""
        return scrapy.Request(capture["url"], callback=self.parse_live, errback=self.live_failed,
                              dont_filter=True,
                              meta={"allow_offsite": True, "listed": capture,
                                    "handle_httpstatus_list": [404, 410]})

    def parse_live(self, response: Response):
        self.count("fetched")
        capture = response.meta["listed"]
        if response.status in (404, 410):
            yield self.gone(capture, f"HTTP {response.status}")
            return
        page = self.page(capture, response.body,
                         (response.headers.get("Content-Type") or b"").decode("latin-1"),
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
        yield self.gone(capture, reason)

    def gone(self, capture: dict, reason: str):
        """The live page is not there: its archived copy, unless the archive was asked first."""
        if capture.get("archive_first"):
            return self.fail(capture, f"{reason} live, and no archived copy")
        return self.from_wayback(capture, reason)
