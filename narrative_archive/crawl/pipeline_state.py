"""What ArchivePipeline.open_spider sets up, None before it: typed accessors for it.

The archive, the configuration, the extractor pool and the archive writer exist only once
the spider opens (the archive is opened in the writer thread, and closed again when the
spider closes). Code that runs only in between reads them through `_db`, `_config`,
`_pool` and `_writer`: the value, or a RuntimeError naming what was used too early.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from narrative_archive.capture.middleware import DeferredCapture

if TYPE_CHECKING:
    import sqlite_utils

    from narrative_archive.capture import CaptureRecord
    from narrative_archive.config import Config
    from narrative_archive.crawl.workers import ExtractorPool
    from narrative_archive.crawl.writer import BatchWriter, LoopResults


class PipelineState:
    """The pipeline's open_spider state; `None` before it (the archive: and after the close)."""

    db: sqlite_utils.Database | None
    config: Config | None
    pool: ExtractorPool | None
    writer: BatchWriter | None
    captures: Any  # the capture middleware, when capture is on
    results: LoopResults | None = None  # the archive writes' results, back on the event loop

    @property
    def _db(self) -> sqlite_utils.Database:
        if self.db is None:
            raise RuntimeError("the archive is not open (open_spider has not run)")
        return self.db

    @property
    def _config(self) -> Config:
        if self.config is None:
            raise RuntimeError("no configuration: open_spider has not run")
        return self.config

    @property
    def _pool(self) -> ExtractorPool:
        if self.pool is None:
            raise RuntimeError("no extractor pool: open_spider has not run")
        return self.pool

    @property
    def _writer(self) -> BatchWriter:
        if self.writer is None:
            raise RuntimeError("no archive writer: open_spider has not run, or the spider closed")
        return self.writer

    def _wrap(self, future: Future) -> asyncio.Future:
        """An archive write's Future on the event loop: its batch wakes the loop once."""
        return self.results.wrap(future) if self.results else asyncio.wrap_future(future)

    def _store(self, page: Any, article: dict[str, Any],
               record: CaptureRecord | None = None) -> dict[str, Any]:
        raise NotImplementedError  # the pipeline's (or a crawl node's) writes

    def _store_page(self, page: Any, article: dict[str, Any],
                    record: CaptureRecord | None = None) -> dict[str, Any]:
        """Runs in the writer thread: the page's WARC records, built by its extraction worker
        ("warc"), appended to the run's file first, then _store with their CaptureRecord."""
        pair = article.pop("warc", None)
        if pair is not None:
            record = self.captures.append_here(page.capture, pair)
        return self._store(page, article, record)

    async def _capture_of(self, item: Any) -> CaptureRecord | None:
        """A Page's or RevisitOutcome's CaptureRecord once its WARC write is done (None:
        capture off or failed); one its worker did not build is written here now."""
        capture = item.capture
        if isinstance(capture, DeferredCapture):
            capture = self.captures.settle(capture) if self.captures is not None else None
        if isinstance(capture, Future):
            try:
                return await asyncio.wrap_future(capture)
            except Exception:  # logged and counted by the capture middleware
                return None
        return capture

    def prepare_pool_on_first_page(self, crawler) -> None:
        """Start the extraction workers' forkserver (it imports and warms up extraction and
        reading, ~2 s of CPU) when the first request for a page is scheduled, not for a crawl
        that only reads listings: an empty crawl exits at once, with no forkserver left
        behind. Listing requests (feeds, sitemaps, search answers) carry allow_offsite."""
        from scrapy import signals

        def scheduled(request, **_) -> None:
            if request.meta.get("allow_offsite") or self.pool is None:
                return
            crawler.signals.disconnect(scheduled, signal=signals.request_scheduled)
            self.pool.prepare()
        self._on_first_page = scheduled  # the signal keeps a weak reference only
        crawler.signals.connect(scheduled, signal=signals.request_scheduled)
