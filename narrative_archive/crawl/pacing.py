"""Paced APIs: services that count a client's requests and punish one that asks too often.

Each paced API gets a download slot of its own (the spiders name it in
meta["download_slot"]): one request at a time, no jitter, AutoThrottle not adjusting
it, and its interval counted from the arrival of the previous answer, so two requests
never reach the service closer together than the interval, whatever the network does.

| slot              | setting (default)                                   | the service's limit |
|-------------------|-----------------------------------------------------|---------------------|
| wayback-cdx       | NARRATIVE_ARCHIVE_WAYBACK_CDX_PER_MINUTE (24)       | ~30/min; 429s for over a minute block the IP for an hour |
| commoncrawl-index | NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_PER_MINUTE (60) | none published; cdx_toolkit asks once a second |
| mediacloud        | NARRATIVE_ARCHIVE_MEDIACLOUD_PER_MINUTE (2)         | 2/min for normal users, 100/min for staff |
| gdelt             | NARRATIVE_ARCHIVE_GDELT_INTERVAL (5 s)              | one request every 5 s |

(24 a minute is the edgi-govdata-archiving/wayback client's default, 80% of the CDX
server's hard limit, as the Internet Archive asked of it.)

A 429 pauses its slot for NARRATIVE_ARCHIVE_RATE_LIMIT_PAUSE seconds (60: the Wayback
Machine's 429 carries no Retry-After and blocks a client whose 429s go on for over a
minute) or what Retry-After asks, if longer, then asks again. Another 429 straight after
the pause stops the slot for the rest of the run: what is queued for it and every later
request fails with one recorded reason, and what a backfill had not listed or fetched
stays where its cursor is, for the next run.

NARRATIVE_ARCHIVE_CLOCK_SPEED (1) divides every interval and pause: the tests run the
pacing faster against fixture services that keep the same clock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from scrapy import signals
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from narrative_archive.crawl.items import Refused
from narrative_archive.crawl.middlewares import retry_after

logger = logging.getLogger(__name__)

RATE_LIMITED = 429


@dataclass(frozen=True)
class Pace:
    slot: str
    setting: str
    per_minute: bool  # the setting is requests a minute (else seconds between requests)
    service: str  # how errors name it


PACES = (
    Pace("wayback-cdx", "NARRATIVE_ARCHIVE_WAYBACK_CDX_PER_MINUTE", True,
         "the Wayback CDX server"),
    Pace("commoncrawl-index", "NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_PER_MINUTE", True,
         "the Common Crawl index"),
    Pace("mediacloud", "NARRATIVE_ARCHIVE_MEDIACLOUD_PER_MINUTE", True, "Media Cloud"),
    Pace("gdelt", "NARRATIVE_ARCHIVE_GDELT_INTERVAL", False, "the GDELT DOC API"),
)
PACED = {pace.slot: pace for pace in PACES}


def clock_speed(settings) -> float:
    speed = settings.getfloat("NARRATIVE_ARCHIVE_CLOCK_SPEED", 1.0)
    if speed <= 0:
        raise ValueError(f"NARRATIVE_ARCHIVE_CLOCK_SPEED must be above 0, got {speed}")
    return speed


def interval(settings, slot: str) -> float:
    """Seconds between one answer of a paced slot and its next request."""
    pace = PACED[slot]
    value = settings.getfloat(pace.setting)
    if value <= 0:
        raise ValueError(f"{pace.setting} must be above 0, got {value:g}")
    seconds = 60.0 / value if pace.per_minute else value
    return seconds / clock_speed(settings)


def paced_slots(settings) -> dict[str, dict]:
    """DOWNLOAD_SLOTS entries of the paced APIs (they win over any other entry of theirs)."""
    return {slot: {"concurrency": 1, "delay": interval(settings, slot), "jitter": 0}
            for slot in PACED}


class PacedApiMiddleware:
    """Downloader middleware (and signal handler) that keeps the paced slots' intervals
    from answer to request and handles their 429s: pause, ask again, stop for the run."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.speed = clock_speed(settings)
        self.pause = settings.getfloat("NARRATIVE_ARCHIVE_RATE_LIMIT_PAUSE", 60.0) / self.speed
        self.retry_after_max = settings.getfloat("NARRATIVE_ARCHIVE_RETRY_AFTER_MAX", 60.0)
        self.struck: dict[str, float] = {}  # slot → when a 429 came that no answer has undone
        self.stopped: dict[str, str] = {}  # slot → why it gets no more requests this run
        self.refused: dict[str, int] = {}
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def slot_of(request: Request) -> str | None:
        slot = request.meta.get("download_slot")
        return slot if slot in PACED else None

    def _slot(self, key: str):
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        return downloader.slots.get(key) if downloader is not None else None

    # -- requests --

    def process_request(self, request: Request):
        key = self.slot_of(request)
        if key is None:
            return None
        request.meta["autothrottle_dont_adjust_delay"] = True
        if key in self.stopped:
            self.refused[key] = self.refused.get(key, 0) + 1
            raise Refused(self.stopped[key] if self.refused[key] == 1 else None)
        return None

    # -- answers --

    def response_downloaded(self, response: Response, request: Request, spider=None) -> None:
        """The interval runs from this answer (and a 429's pause from now): before the
        downloader picks the slot's next request."""
        key = self.slot_of(request)
        slot = self._slot(key) if key else None
        if slot is None:
            return
        wait = 0.0
        if response.status == RATE_LIMITED:
            asked = retry_after(response)
            wait = max(self.pause, min(asked / self.speed, self.retry_after_max)
                       if asked is not None else 0.0)
        slot.lastseen = time.monotonic() + wait

    def process_response(self, request: Request, response: Response):
        key = self.slot_of(request)
        if key is None:
            return response
        if response.status != RATE_LIMITED:
            self.struck.pop(key, None)
            return response
        service = PACED[key].service
        self.crawler.stats.inc_value(f"narrative_archive/rate_limited/{key}")
        if key in self.struck:
            reason = (f"{service} kept answering 429 (too many requests) after a pause of"
                      f" {self.pause * self.speed:.0f} s: no more requests to it in this run, so"
                      " the IP is not blocked; the next run goes on from here")
            self.stop(key, reason)
            raise Refused(reason)
        self.struck[key] = time.monotonic()
        logger.warning("%s answered 429 (too many requests): pausing %s for %.0f s, then asking"
                       " again", service, key, self.pause * self.speed)
        retry = request.copy()
        retry.dont_filter = True
        return retry

    def stop(self, key: str, reason: str) -> None:
        """No more requests through this slot in this run, those queued for it included."""
        if key in self.stopped:
            return
        self.stopped[key] = reason
        self.refused[key] = 1  # the request that stopped it tells why
        logger.error("%s", reason)
        slot = self._slot(key)
        if slot is None:
            return
        queued = list(slot.queue)
        slot.queue.clear()
        for _, deferred in queued:
            self.refused[key] = self.refused.get(key, 0) + 1
            deferred.errback(Failure(Refused(None)))
