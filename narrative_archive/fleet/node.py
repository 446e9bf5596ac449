"""On a crawl node: the pipeline extracts as on one machine, and leaves batches.

`BatchPipeline` is ArchivePipeline with its archive writes replaced: the spider, the
extraction pool, the narrative matcher (which decides whether a search result is
kept) and the counters are the ones the single-machine crawl uses; where that
pipeline's writer thread would store an article, this one appends it to a batch
(batches.py), and where it would record a crawl error, the batch keeps it. A batch is
published every NARRATIVE_ARCHIVE_BATCH_ARTICLES articles or
NARRATIVE_ARCHIVE_BATCH_SECONDS seconds, and a final one when the spider closes,
carrying the run's status. The node never opens the archive.

Settings (the dispatcher passes them with schedule.json):
NARRATIVE_ARCHIVE_BATCH_URL (a directory or s3://bucket/prefix), NARRATIVE_ARCHIVE_NODE
(this node's name), NARRATIVE_ARCHIVE_JOB (the scheduled job), and the spider argument
run_id (the crawl_runs row the archive host opened for this attempt).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from typing import Any

from narrative_archive import store
from narrative_archive.capture import CaptureRecord, record_bytes
from narrative_archive.crawl.items import STAT, Page
from narrative_archive.crawl.pipelines import ArchivePipeline, prefer_listed_date
from narrative_archive.fleet.batches import BatchWriter
from narrative_archive.fleet.storage import open_storage
from narrative_archive.fts import NarrativeMatcher
from narrative_archive.paths import DEFAULT_DB

logger = logging.getLogger(__name__)
CAPTURE_FIELDS = ("payload_digest", "record_id", "content_type", "status", "url", "fetched_at")


class BatchPipeline(ArchivePipeline):
    """ArchivePipeline for a crawl node: batches to shared storage instead of archive.db,
    and the URLs it fetched remembered in the node's scratch file (unmatched_urls, which
    discovery's fetched_lately reads)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.batch: BatchWriter | None = None
        self.batch_seconds = self.settings.getfloat("NARRATIVE_ARCHIVE_BATCH_SECONDS", 30.0)
        self.batch_started = time.monotonic()

    @property
    def _batch(self) -> BatchWriter:
        """The open batch (from _open until the final one is published)."""
        if self.batch is None:
            raise RuntimeError("no batch: open_spider has not run, or the spider closed")
        return self.batch

    def _open(self, spider) -> None:
        url = self.settings.get("NARRATIVE_ARCHIVE_BATCH_URL") or os.environ.get(
            "NARRATIVE_ARCHIVE_BATCH_URL")
        if not url:
            raise ValueError("a crawl node needs NARRATIVE_ARCHIVE_BATCH_URL")
        run_id = getattr(spider, "run_id", None) or self.settings.getint(
            "NARRATIVE_ARCHIVE_RUN_ID") or None
        self.run_id = run_id
        job_key = self.settings.get("NARRATIVE_ARCHIVE_JOB_KEY") or getattr(
            spider, "_job", None) or f"{spider.name}-{os.getpid()}-{int(time.time())}"
        # The node's memory of what it fetched (its scratch NARRATIVE_ARCHIVE_DB, never the
        # archive): discovery reads it, so a page is not fetched again within
        # NARRATIVE_ARCHIVE_REFETCH_AFTER on this node, which keeps its outlets.
        self.memory = store.open_db(self.settings.get("NARRATIVE_ARCHIVE_DB") or DEFAULT_DB,
                                    synchronous="NORMAL")
        # ArchivePipeline's writer thread runs every write in a transaction of self.db: on a
        # node that is the scratch file, the only database it writes
        self.db = self.memory
        self.batch = BatchWriter(
            open_storage(url), job_key, run_id, self.settings.get("NARRATIVE_ARCHIVE_JOB"),
            self.settings.get("NARRATIVE_ARCHIVE_NODE") or socket.gethostname(), spider.name,
            max_articles=self.settings.getint("NARRATIVE_ARCHIVE_BATCH_ARTICLES", 500))

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, Page) and item.via == "revisit":
            raise ValueError("revisits read the archive: run them on the archive host")
        return await super().process_item(item)

    def _store(self, page: Page, article: dict[str, Any],
               record: CaptureRecord | None = None) -> dict[str, Any]:
        """Runs in the writer thread: what ArchivePipeline._store decides before it writes
        (dates, title, canonical URL, whether a search result matches), then the batch."""
        article["published_at"] = prefer_listed_date(article.get("published_at"),
                                                     page.published_at)
        if not article.get("title") and page.title:
            article["title"] = page.title
        self._check_canonical(page, article)
        outcome = {"url": page.url, "canonical_url": article.get("canonical_url"),
                   "outlet_id": page.outlet_id, "via": page.via}
        if page.via == "search" or (page.via == "archive" and page.outlet_id is None):
            self.matcher = matcher = self.matcher or NarrativeMatcher(self._config.narratives)
            if not matcher.match(article.get("title"), article.get("text")):
                self.count("unmatched")
                self._maybe_flush()
                return {**outcome, "status": "unmatched"}
        for warning in article.get("warnings") or ():
            self.count("warnings" if "date" in warning.lower() else "cut"
                       if warning.startswith("cut:") else "other_warnings")
        line = {key: article.get(key) for key in (
            "url", "canonical_url", "title", "text", "description", "authors", "language",
            "links", "published_at", "modified_at")}
        line.update(fetched_at=page.fetched_at, outlet_id=page.outlet_id, via=page.via,
                    claimed_canonical_url=article.get("claimed_canonical_url"),
                    archive_source=page.archive_source, archive_url=page.archive_url,
                    archived_at=page.archived_at)
        capture, data = None, None
        if record is not None and self.captures is not None:
            with contextlib.suppress(OSError, ValueError):  # logged by the capture middleware
                data = record_bytes(self.captures.captures_dir, record.warc_file, record.offset,
                                    record.length)
                capture = {name: getattr(record, name) for name in CAPTURE_FIELDS}
        self._batch.add(line, capture, data)
        store.save_unmatched(self.memory, [page.url, article.get("canonical_url")])
        self.count("batched")
        if self._batch.full:
            self._publish()
        self._maybe_flush()
        return {**outcome, "status": "batched"}

    def _record(self, url: str | None, reason: str, outlet_id: str | None,
                kind: str = "error") -> None:
        self._batch.add_error(url, reason, outlet_id, kind)
        if kind == "error":  # a skip is counted by the spider (skipped_robots, ...)
            self.count("errors")

    def _save_captures(self, wait: bool = False) -> None:
        if self.captures is not None:  # feeds, sitemaps, robots.txt stay in the node's WARCs
            self.captures.drain(wait=wait)

    def _flush(self) -> None:
        self._save_captures()
        if self.batch is not None and time.monotonic() - self.batch_started >= self.batch_seconds:
            self._publish()
        self.last_flush = time.monotonic()

    def _publish(self, **final: Any) -> None:
        self._batch.publish(self.run_counters() | {"errors": self.counts()["errors"],
                                                   "fetched": self._fetched()}, **final)
        self.batch_started = time.monotonic()

    def _fetched(self) -> int:
        return self.stats.get_value(STAT + "fetched", 0)

    def spider_closed(self, spider, reason: str) -> None:
        """The final batch: the run's status and message, as ArchivePipeline closes a run."""
        if self.batch is None:
            return
        counts = self.counts()
        summary = (f"{counts['pages']} pages, {self.stats.get_value(STAT + 'batched', 0)} "
                   f"articles batched, {counts['errors']} errors")
        if self._fetched():
            status = "ok"
            message = summary if reason == "finished" else f"stopped early ({reason}): {summary}"
        else:
            status, message = "failed", f"nothing could be fetched: {summary}"
        self._publish(final=True, status=status, message=message)
        self.batch = None
        self.memory.close()
