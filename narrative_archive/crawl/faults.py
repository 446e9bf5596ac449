"""A crawl that cannot write any more stops, and says why.

When the disk holding the archive (or the captures) fills up, every page after it
fails the same way: SQLite's "database or disk is full" for the article, ENOSPC for
its WARC record. Going on would fetch the whole run's pages only to lose them, with
a traceback each, and close the run as if it had worked. `StopWhenDiskFull` (a
Scrapy extension) stops the spider at the first such failure, with the reason
DISK_FULL: the pipeline closes the run as failed with the error, the crawl
command exits 1 with a one-line message, and what was not stored is fetched again by
the next run (nothing of it was recorded as fetched). SQLite rolls the failed
transaction back, so the archive stays intact; a WARC pair cut short is cut off at
its start (capture.writer.CaptureWriter), so the file ends at a record boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from scrapy import signals
from scrapy.exceptions import DropItem

from narrative_archive.store import disk_full

logger = logging.getLogger(__name__)

DISK_FULL = "disk full"  # the spider's close reason
STAT = "narrative_archive/disk_full"  # the first error, as text (set by whoever met it)


def note_disk_full(stats, where: str, error: BaseException) -> bool:
    """Record a disk-full `error` met by `where` (the archive, a WARC file) in the crawl's
    stats, once; True if it was one."""
    if not disk_full(error):
        return False
    if not stats.get_value(STAT):
        stats.set_value(STAT, f"{where}: {error}")
    return True


async def written(future, stats, wrap=asyncio.wrap_future):
    """The result of an archive write (a concurrent Future), on the event loop (through
    `wrap`: writer.LoopResults.wrap). A write the disk refused is noted (StopWhenDiskFull
    stops the crawl) and its item dropped in one line, instead of a traceback for every
    page in flight."""
    try:
        return await wrap(future)
    except Exception as error:
        if not note_disk_full(stats, "the archive", error):
            raise
        raise DropItem(f"not stored, the disk is full ({error}): the next run fetches it"
                       " again") from error


@contextlib.contextmanager
def noted_if_disk_full(stats):
    """Around a crawl's last writes: a full disk is noted (the run closes as failed), not
    raised, so the close goes on."""
    try:
        yield
    except Exception as error:
        if not note_disk_full(stats, "the archive", error):
            raise


def stopped_message(stats, summary: str) -> str:
    """The message of a run stopped for a full disk (its crawl_runs row, status failed)."""
    return (f"stopped, the disk is full ({stats.get_value(STAT)}): {summary};"
            " the rest waits for the next run")


class StopWhenDiskFull:
    """Extension: close the spider (reason DISK_FULL) once a write fails for a full disk."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stopping = False
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.signals.connect(self.check, signal=signals.item_scraped)
        crawler.signals.connect(self.check, signal=signals.item_dropped)
        crawler.signals.connect(self.check, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def item_error(self, item, response, spider, failure) -> None:
        note_disk_full(self.crawler.stats, "the archive", failure.value)
        self.check()

    def check(self, *args, **kwargs) -> None:
        """Stop now if anyone noted a full disk (the capture writer notes it from its
        thread; this runs on the reactor)."""
        error = self.crawler.stats.get_value(STAT)
        if not error or self.stopping:
            return
        self.stopping = True
        logger.error("the disk is full (%s): stopping the crawl; pages not stored are fetched"
                     " again by the next run", error)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason=DISK_FULL))
