"""Scrapy glue: extract → store → match, for every Page the spiders yield.

    Page ──(worker)──► extract + match.reading (mentions with snippet, terms, stance;
         story signature; citations) ──(writer thread)──► store.save_article
         ──► narratives.match_article(readings) ──► analysis.analyse_article(reading)

What is a pure function of one article runs in the ExtractorPool; the crawl process
does only what is serial: Scrapy, the archive's reads and writes, all in one writer
thread (crawl.writer: writes that arrive together share a transaction, an article
always with its mentions). Every article from a configured outlet is stored; a search
result only when a narrative matches it, as the worker found on an in-memory FTS5 table
with the archive's tokenizer (`NarrativeMatcher`): one matcher semantics everywhere.

The pipeline owns the run's crawl_runs row: the crawl command's (spider argument run_id,
or the NARRATIVE_ARCHIVE_RUN_ID setting) or its own (`scrapy crawl feeds`). It updates
its counters every NARRATIVE_ARCHIVE_PROGRESS_EVERY seconds and closes it when the spider
closes: 'ok', 'interrupted' when a signal cut it short, 'failed' when nothing at all could
be fetched or the disk filled up (crawl.faults stops the crawl at its first refused
write). Every failure (from the spiders as a Problem, or here: no text, not HTML) becomes
a crawl_errors row and the run goes on; a bad date is a warning (articles.warnings,
counted in crawl_runs.warnings): the page is still stored.

With capture on, the pipeline also writes the `captures` rows: every WARC
record the capture middleware has written (drained with each counter update
and at the close), and a Page's (or a RevisitOutcome's) own record, awaited
after extraction and stored with the article so that its version points at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import sqlite_utils
from scrapy import signals

from narrative_archive import store, urls
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations
from narrative_archive.capture import CaptureRecord
from narrative_archive.config import Config, load_config
from narrative_archive.crawl import faults
from narrative_archive.crawl import revisit as lifecycle
from narrative_archive.crawl.items import STAT, Page, Problem, RevisitOutcome
from narrative_archive.crawl.pipeline_state import PipelineState
from narrative_archive.crawl.settings_check import check_setting
from narrative_archive.crawl.workers import ExtractorPool, WorkerCrashed
from narrative_archive.crawl.writer import BatchWriter, LoopResults, after_commit
from narrative_archive.extract.dates import is_date_warning, prefer_listed_date
from narrative_archive.extract.errors import ExtractError, extractor_version
from narrative_archive.fts import NarrativeMatcher
from narrative_archive.match import narratives as narratives_module
from narrative_archive.paths import DEFAULT_DB
from narrative_archive.times import parse_duration
from narrative_archive.urls import bare_host, canonicalize_url

logger = logging.getLogger(__name__)

# Counters shown while crawling and written to crawl_runs (stats key → column).
RUN_COLUMNS = {"pages": "pages", "new": "new_articles", "updated": "updated_articles",
               "mentions": "mentions", "warnings": "warnings"}


class ArchivePipeline(PipelineState):
    """Extract each Page off the reactor, store it, match the narratives; record Problems."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.settings = crawler.settings
        self.stats = crawler.stats
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None
        self.config: Config | None = None
        self.pool: ExtractorPool | None = None
        self.writer: BatchWriter | None = None
        self.matcher: NarrativeMatcher | None = None
        self.outlet_index: citations.OutletIndex | None = None  # built on first use
        self.captures = None  # the capture middleware (drain()), when capture is on
        self.flush_every = parse_duration(self.settings.get("NARRATIVE_ARCHIVE_PROGRESS_EVERY") or 2) or 2
        self.last_flush = 0.0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- lifecycle --

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        self.config = config = getattr(spider, "config", None) or load_config(
            self.settings.get("NARRATIVE_ARCHIVE_CONFIG") or None, check_setting=check_setting)
        self.pool = ExtractorPool(
            self.settings.getint("NARRATIVE_ARCHIVE_EXTRACT_WORKERS"),
            timeout=self.settings.getfloat("NARRATIVE_ARCHIVE_EXTRACT_TIMEOUT"),
            limits={"max_text_chars": self.settings.getint("NARRATIVE_ARCHIVE_MAX_TEXT_CHARS"),
                    "max_links": self.settings.getint("NARRATIVE_ARCHIVE_MAX_LINKS")},
            narratives=tuple(config.narratives), read=True,
            outlets=tuple((o.id, o.name, o.domains) for o in config.outlets),
        )
        self.prepare_pool_on_first_page(self.crawler)  # none for an empty crawl
        self.writer, self.results = BatchWriter(lambda: self.db), LoopResults(asyncio.get_running_loop())
        self.captures = getattr(self.crawler, "narrative_archive_capture", None)
        await self._write_alone(self._open, spider)
        self.stats.set_value(STAT + "run_id", self.run_id)

    def _open(self, spider) -> None:
        # WAL + NORMAL: a crash (even kill -9) loses no committed article; only a
        # power cut may lose the last few commits. Much faster than FULL.
        self.db = store.open_db(self.settings.get("NARRATIVE_ARCHIVE_DB") or DEFAULT_DB,
                                synchronous="NORMAL")
        narratives_module.sync_config(self.db, self._config)
        run_id = getattr(spider, "run_id", None) or self.settings.getint("NARRATIVE_ARCHIVE_RUN_ID")
        if run_id:
            self.run_id = run_id
            if store.get_run(self.db, run_id) is None:
                raise ValueError(f"crawl run {run_id} is not in the archive")
        else:
            self.run_id = store.start_run(self.db, spider.name, getattr(spider, "run_args", {}),
                                          pid=os.getpid())

    async def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            await asyncio.get_running_loop().run_in_executor(None, self.pool.join)
        if self.writer is not None:
            with faults.noted_if_disk_full(self.stats):  # then the run is closed as failed
                await self._write_alone(self._save_captures, True)
                await self._write_alone(self._flush)
            await asyncio.get_running_loop().run_in_executor(None, self.writer.shutdown)
            logger.info("%d archive writes in %d transactions", self.writer.writes,
                        self.writer.batches)
            self.writer = None

    def spider_closed(self, spider, reason: str) -> None:
        """Close the run, now that the reason is known (after close_spider)."""
        if self.db is None or self.run_id is None:
            return
        counts = self.counts()
        fetched = self.stats.get_value(STAT + "fetched", 0)
        errors = (store.get_run(self.db, self.run_id) or {}).get("errors", 0)
        summary = (f"{counts['pages']} pages, {counts['new']} new, {counts['updated']} updated,"
                   f" {counts['mentions']} mentions, {errors} errors")
        if reason == "shutdown":  # Ctrl-C, SIGTERM, the scheduler stopping: cut short
            status, message = "interrupted", f"interrupted by a signal: {summary}"
        elif reason == faults.DISK_FULL or self.stats.get_value(faults.STAT):  # cut short
            status, message = "failed", faults.stopped_message(self.stats, summary)
        elif fetched:
            status = "ok"
            message = summary if reason == "finished" else f"stopped early ({reason}): {summary}"
        elif getattr(spider, "idle_reason", None):  # revisit: nothing was due, nothing failed
            status, message = "ok", spider.idle_reason
        else:
            status = "failed"
            first = [(reason, count) for reason, count, _ in
                     store.run_error_reasons(self.db, [self.run_id], limit=3)]
            skipped = {key.removeprefix(STAT + "skipped_"): value
                       for key, value in self.stats.get_stats().items()
                       if key.startswith(STAT + "skipped_") and value}
            why = "; ".join(f"{r} ({n})" for r, n in first) or (
                "everything was skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items())
                if skipped else "there was nothing to fetch")
            message = f"nothing could be fetched: {why}"
        with faults.noted_if_disk_full(self.stats):  # run.py reports it, the next run settles it
            store.finish_run(self.db, self.run_id, status, message=message, **self.run_counters())
        self.db.close()
        self.db = None

    # -- items --

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, Problem):
            await self._write(self._record, item.url, item.reason, item.outlet_id, item.kind)
            return {"url": item.url, "outlet_id": item.outlet_id, "status": item.kind,
                    "reason": item.reason}
        if isinstance(item, RevisitOutcome):
            record = await self._capture_of(item)
            return await self._write(self._store_revisit_outcome, item, record)
        if not isinstance(item, Page):
            return item
        if item.via == "revisit" and item.article_id is not None:
            return await self._revisit_page(item, item.article_id)
        self.count("pages")
        article, reason = await self._extract(item, item.title, built_here=True)
        if reason is not None:
            await self._write(self._record, item.url, reason, item.outlet_id)
            return {"url": item.url, "outlet_id": item.outlet_id, "status": "error",
                    "reason": reason}
        # records the worker built are appended in the writer thread (_store_page)
        record = None if article and "warc" in article else await self._capture_of(item)
        return await self._write(self._store_page, item, article, record)

    async def _extract(self, item: Page, title: str | None = None, built_here: bool = False
                       ) -> tuple[dict[str, Any] | None, str | None]:
        """The extracted article (with `title` when the page has none), or None and why
        not (never raises). With `built_here`, the worker also builds the page's WARC
        records when the capture middleware left them to it (middleware.DeferredCapture)."""
        article, reason, pair = None, None, None
        arguments = self.captures.take(item.capture) if built_here and self.captures else None
        try:
            article = await self._pool.extract(item.body, item.url, item.encoding, title,
                                               arguments)
            pair = article.get("warc")  # appended by _store_page
        except ExtractError as error:
            pair = getattr(error, "warc", None)
            reason = str(error)
        except TimeoutError:
            reason = f"extraction took longer than {self._pool.timeout:g} s"
        except WorkerCrashed:  # the pool has started another worker
            reason = "extraction crashed its worker process"
        except Exception as error:  # a bug in extraction must not stop the crawl
            logger.exception("Extraction of %s failed", item.url)
            reason = f"extraction failed: {type(error).__name__}: {error}"
        if arguments is not None and (article is None or pair is None):
            # no article to append them with: the worker's records, or written here
            self.captures.finish(item.capture, pair)
        return article, reason

    def _store(self, page: Page, article: dict[str, Any],
               record: CaptureRecord | None = None) -> dict[str, Any]:
        """Runs in the writer thread: decide, save, record the mentions (the worker's
        reading; read here only when the worker could not), count."""
        reading = article.pop("reading", None)
        article["published_at"] = prefer_listed_date(article.get("published_at"), page.published_at)
        if not article.get("title") and page.title:
            article["title"] = page.title
        outlet_id = page.outlet_id
        self._check_canonical(page, article)
        outcome = {"url": page.url, "canonical_url": article.get("canonical_url"),
                   "outlet_id": page.outlet_id, "via": page.via}
        # Which narratives match, decided in memory (constant cost, in the worker); the
        # archive's own FTS index (whose cost grows with the archive) is never asked.
        mentions = reading["mentions"] if reading else None
        if mentions is None:
            self.matcher = matcher = self.matcher or NarrativeMatcher(self._config.narratives)
            likely = set(matcher.match(article.get("title"), article.get("text")))
        else:
            likely = set(mentions)
        if page.via == "search" or (page.via == "archive" and page.outlet_id is None):
            if not likely:
                store.save_unmatched(self._db, [page.url, article.get("canonical_url")])
                self.count("unmatched")
                self._maybe_flush()
                return {**outcome, "status": "unmatched"}
            if outlet_id is None:
                outlet_id = store.ensure_outlet_for_domain(self._db, bare_host(page.url))
        # A bad date is a warning, not an error: the page is stored (with the listing's
        # date when there is one), the warning kept on the article and counted on the run.
        for warning in article.get("warnings") or ():
            if is_date_warning(warning):
                logger.warning("%s: %s", page.url, warning)
                self.count("warnings")
            elif warning.startswith("cut:"):  # stored, shortened by a NARRATIVE_ARCHIVE_MAX_ cap
                logger.warning("%s: %s", page.url, warning)
                self.count("cut")
            else:
                logger.debug("%s: %s", page.url, warning)
        # One transaction: a crash (even kill -9) leaves the article with its mentions
        # or not stored at all, and then the next run fetches it again.
        archive = {"source": page.archive_source, "url": page.archive_url,
                   "archived_at": page.archived_at} if page.archived_at else None
        with store.transaction(self._db):
            capture_id = self._save_capture(record, source=page.archive_source or "live")
            article_id, status = store.save_article(
                self._db, article, outlet_id, via=page.via, archive=archive,
                capture_id=capture_id, extractor=extractor_version(), origin="crawl")
            if capture_id is not None:
                store.link_capture(self._db, capture_id, article_id)
            if status == "new":  # no mentions yet: only the narratives that match can add one
                candidates = [n for n in self._config.narratives if n.id in likely]
            elif status == "updated":  # a changed text may also lose a mention: ask them all
                candidates = list(self._config.narratives)
            else:
                candidates = []
            matched = []
            if candidates:
                matched = narratives_module.match_article(self._db, article_id, candidates,
                                                          mentions)
            if status != "unchanged":
                self._analyse(article_id, article, reading)
        self.count(status)
        self.count("mentions", len(matched))
        self._maybe_flush()
        return {**outcome, "outlet_id": outlet_id, "status": status, "article_id": article_id,
                "mentions": matched}

    def _analyse(self, article_id: int, article: dict[str, Any],
                 reading: dict[str, Any] | None = None) -> None:
        """Story cluster and citations of a new or changed article (same transaction as it):
        from the worker's reading, or computed here when there is none."""
        if self.outlet_index is None and not (reading and "citations" in reading):
            self.outlet_index = citations.outlet_index(self._config.outlets)
        assignment = analysis.analyse_article(self._db, article_id, article, self.outlet_index,
                                              reading)
        if assignment.story_id != article_id:
            self.count("copies")

    def _check_canonical(self, page: Page, article: dict[str, Any]) -> None:
        """A canonical URL on another site than the page (and not its outlet's) is only a
        claim: the article is keyed on the fetched URL and the claim kept beside it."""
        claimed = article.get("canonical_url")
        domains: tuple[str, ...] = ()
        if page.outlet_id:
            with contextlib.suppress(KeyError):
                domains = self._config.outlet(page.outlet_id).domains
        if not claimed or urls.trusted_canonical(page.url, claimed, domains):
            return
        logger.warning("%s names %s as its canonical URL: another site's, not believed",
                       page.url, claimed)
        article["claimed_canonical_url"] = claimed
        article["canonical_url"] = canonicalize_url(page.url)

    # -- revisits --

    async def _revisit_page(self, page: Page, article_id: int) -> dict[str, Any]:
        """A revisited article page (of the stored article `article_id`): extract it, then
        compare it with the stored article."""
        self.count("pages")
        article, reason = await self._extract(page)
        record = await self._capture_of(page)
        if reason is not None:
            verdict = lifecycle.Verdict("failing", reason)
            if reason.startswith(("no article text", "empty page")):
                verdict = lifecycle.classify_text(None, None, lifecycle.html_text(page.body))
            outcome = RevisitOutcome(
                article_id=article_id, url=page.url, outcome=verdict.outcome,
                http_status=200, detail=verdict.detail, outlet_id=page.outlet_id,
                checked_at=page.fetched_at)
            return await self._write(self._store_revisit_outcome, outcome, record)
        return await self._write(self._store_revisit, page, article_id, article, record)

    def _store_revisit(self, page: Page, article_id: int, article: dict[str, Any],
                       record: CaptureRecord | None = None) -> dict[str, Any]:
        """Runs in the writer thread: an edit becomes a new version (origin 'revisit') and the
        narratives are asked again; a paywall teaser or an empty page is no edit."""
        reading = article.pop("reading", None)
        stored = store.get_article(self._db, article_id) or {}
        verdict = lifecycle.classify_text(
            stored.get("text"), article.get("text"), lifecycle.html_text(page.body))
        if verdict.outcome != "page":
            return self._store_revisit_outcome(RevisitOutcome(
                article_id=article_id, url=page.url, outcome=verdict.outcome,
                http_status=200, detail=verdict.detail, outlet_id=page.outlet_id,
                checked_at=page.fetched_at), record)
        with store.transaction(self._db):
            capture_id = self._save_capture(record, article_id)
            outcome = store.revise_article(self._db, article_id, article, page.fetched_at,
                                           capture_id=capture_id, extractor=extractor_version())
            store.record_revisit(
                self._db, article_id, outcome, checked_at=page.fetched_at, http_status=200,
                run_id=self.run_id, etag=page.etag, last_modified=page.last_modified,
                detail="the title or text changed" if outcome == "edited"
                else "the title and text are as stored")
            matched = []
            if outcome == "edited":
                matched = narratives_module.match_article(
                    self._db, article_id, list(self._config.narratives),
                    reading["mentions"] if reading else None)
        self.count("revisit_" + outcome)
        self.count("updated" if outcome == "edited" else "unchanged")
        self.count("mentions", len(matched))
        self._maybe_flush()
        return {"url": page.url, "article_id": article_id, "outlet_id": page.outlet_id,
                "via": page.via, "status": outcome, "mentions": matched}

    def _store_revisit_outcome(self, item: RevisitOutcome,
                               record: CaptureRecord | None = None) -> dict[str, Any]:
        """Runs in the writer thread: a revisit with no page to compare. A failing one is
        also a crawl error (it counts against the outlet's health). Its capture (the 404,
        the 301, the login page) is the article's: the evidence of what the revisit saw."""
        with store.transaction(self._db):
            self._save_capture(record, item.article_id)
            store.record_revisit(
                self._db, item.article_id, item.outcome, checked_at=item.checked_at,
                http_status=item.http_status, new_url=item.new_url, run_id=self.run_id,
                detail=item.detail, etag=item.etag, last_modified=item.last_modified)
            if item.outcome == "failing":
                self._record(item.url, f"revisit: {item.detail}", item.outlet_id)
        self.count("revisit_" + item.outcome)
        if item.outcome == "unchanged":
            self.count("unchanged")
        self._maybe_flush()
        return {"url": item.url, "article_id": item.article_id, "outlet_id": item.outlet_id,
                "via": "revisit", "status": item.outcome, "http_status": item.http_status,
                "new_url": item.new_url, "detail": item.detail}

    # -- captures: one row per WARC response record --

    def _save_capture(self, record: CaptureRecord | None, article_id: int | None = None,
                      source: str = "live") -> int | None:
        """The page's captures row; `source` says whose copy it is (live, wayback, commoncrawl)."""
        if record is None:
            return None
        return store.save_capture(self._db, record, self.run_id, article_id=article_id,
                                  source=source)

    def _save_captures(self, wait: bool = False) -> None:
        """Runs in the writer thread: a captures row for every record written so far (feeds,
        sitemaps, robots.txt, errors; pages are linked to their article when stored)."""
        if self.captures is not None and self.db is not None:
            store.save_captures(self.db, self.captures.drain(wait=wait), self.run_id)

    def _record(self, url: str | None, reason: str, outlet_id: str | None,
                kind: str = "error") -> None:
        store.record_error(self._db, self.run_id, url, reason, outlet_id, kind)
        if kind == "error":  # a skip is counted by the spider (skipped_robots, ...)
            self.count("errors")

    # -- counters --

    def count(self, key: str, value: int = 1) -> None:
        """Now, or once the archive write counting it has committed (writer.after_commit)."""
        after_commit(self.stats.inc_value, STAT + key, value)

    def counts(self) -> dict[str, int]:
        keys = ("pages", "new", "updated", "unchanged", "mentions", "errors", "unmatched",
                "warnings")
        return {key: self.stats.get_value(STAT + key, 0) for key in keys}

    def run_counters(self) -> dict[str, int]:
        counts = self.counts()
        return {column: counts[key] for key, column in RUN_COLUMNS.items()}

    def _maybe_flush(self) -> None:
        if time.monotonic() - self.last_flush >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        self._save_captures()
        if self.db is not None and self.run_id is not None:
            store.update_run(self.db, self.run_id, **self.run_counters())
        self.last_flush = time.monotonic()

    async def _write(self, function, *args):
        """`function(*args)` in the writer thread, in a transaction shared with the writes
        queued beside it (writer.BatchWriter); its result once committed."""
        return await faults.written(self._writer.submit(function, *args), self.stats, self._wrap)

    async def _write_alone(self, function, *args):
        """Run `function(*args)` in the writer thread, outside any batch."""
        return await asyncio.wrap_future(self._writer.submit(function, *args, batch=False))
