"""backfill: archived copies of the outlets' articles from a date range, from web archives.

Sources (--source; default wayback, plus mediacloud when a key is configured, plus
gdelt when the range reaches into GDELT's last three months):

- wayback: per outlet domain, the Wayback CDX server lists the HTML captures
  (status 200) of the range whose URL carries one of the narratives' slug terms
  (narrative_archive.sources.terms; --all-urls: every URL), one per URL; each
  is fetched raw (id_). A replay that redirects to another capture is followed
  once. Then the archived copies of the outlets' feeds and sitemaps in the range:
  their entries whose title or URL carries a slug term are looked up in the
  archive too (spiders.candidates), which finds pages whose URL is only an id.
- commoncrawl: the crawls of collinfo.json that overlap the range, per domain,
  the same filter (pywb's syntax); each record is fetched by byte range and read
  with warcio.
- mediacloud: per narrative, Media Cloud's story search for the range within the
  narrative's collections or sources; each story is fetched live, and from the
  Wayback Machine when the live page is gone.
- gdelt: per narrative, GDELT's articles for the part of the range in its last
  three months, looked up in the Wayback Machine (live when it has none).

Articles keep their original URL and the outlet of its domain; where the copy
came from (archive_source, archive_url, archived_at) goes with the Page. The
archives' APIs are paced (crawl.pacing: CDX 24 a minute, Media Cloud 2, GDELT one
every 5 s, Common Crawl's index 60; a 429 pauses a minute, a second one stops that
API for the run); their fetches have slots of their own
(NARRATIVE_ARCHIVE_BACKFILL_SLOTS); robots.txt is not asked of the APIs. Every
capture listed is remembered in the archive (backfill_captures) with the listing's
resume point (backfill_cursors), in one transaction per index page: a run that is
stopped, even by kill -9, resumes where it stopped and fetches no capture twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from narrative_archive.crawl import pacing
from narrative_archive.sources import commoncrawl, gdelt, terms, wayback
from narrative_archive.spiders.archive import SOURCES, sources_for
from narrative_archive.spiders.candidates import CandidatesBackfill
from narrative_archive.spiders.commoncrawl import CommonCrawlBackfill

__all__ = ["SOURCES", "BackfillSpider", "sources_for"]


class BackfillSpider(CandidatesBackfill, CommonCrawlBackfill):
    """Archived copies of the configured outlets' articles, per narrative, over a date range."""

    name = "backfill"
    until: datetime  # setup() makes it now when --until is not given

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        slots = {**settings.getdict("DOWNLOAD_SLOTS"),
                 **settings.getdict("NARRATIVE_ARCHIVE_BACKFILL_SLOTS"),
                 **pacing.paced_slots(settings)}  # the paced APIs keep their pace
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    def setup(self, settings, source=None, all_urls=None, **kwargs) -> None:
        super().setup(settings, **kwargs)
        if self.since is None:
            raise ValueError("backfill needs --since (and --until): the date range to fill")
        if self.until is None:
            self.until = datetime.now(UTC)
        self.mediacloud_key = settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY") or ""
        self.sources = sources_for(source, self.mediacloud_key)
        if source in (None, "") and self.until > datetime.now(UTC) - gdelt.WINDOW:
            self.sources.append("gdelt")  # the range reaches into GDELT's last three months
        self.all_urls = str(all_urls).lower() in ("1", "true", "yes") if all_urls else False
        self.wayback_url = settings.get("NARRATIVE_ARCHIVE_WAYBACK_URL") or wayback.DEFAULT_URL
        self.cc_index_url = (settings.get("NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL")
                             or commoncrawl.DEFAULT_INDEX_URL)
        self.cc_data_url = (settings.get("NARRATIVE_ARCHIVE_COMMONCRAWL_DATA_URL")
                            or commoncrawl.DEFAULT_DATA_URL)
        self.page_size = settings.getint("NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE") or wayback.PAGE_SIZE
        self.terms = [] if self.all_urls else terms.narrative_terms(self.narratives)
        self.url_regex = terms.url_regex(self.terms) if self.terms else None
        self.selected = {outlet.id: outlet for outlet in self.outlets}
        self.queued: set[tuple[str, str]] = set()  # (source, capture) requested in this run
        self.mediacloud_setup(settings)
        self.run_args.update({"sources": self.sources, "all_urls": self.all_urls,
                              "url_terms": self.terms})

    async def start(self):
        if "mediacloud" in self.sources and not self.mediacloud_key:
            self.logger.info("mediacloud: skipped, no API key (set NARRATIVE_ARCHIVE_MEDIACLOUD_KEY)")
        if self.terms:
            self.logger.info("URL filter: URLs containing %s", ", ".join(self.terms))
        for source in self.sources:
            if source != "mediacloud" or self.mediacloud_key:
                for request in getattr(self, f"{source}_listings")():
                    yield request
