"""What a crawl shows as it runs and when it ends: each spider's run and counters, the live
progress table, the summary and the most frequent errors."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from narrative_archive import store
from narrative_archive.times import clock

STAT = "narrative_archive/"
COUNTERS = ("fetched", "pages", "new", "updated", "unchanged", "mentions", "errors")
SKIPS = ("skipped_recent", "skipped_failed", "skipped_robots", "skipped_offsite", "skipped_out_of_range",
         "skipped_limit", "skipped_undated", "unmatched", "skipped_fetched_before",
         "skipped_not_html", "skipped_soft_404", "skipped_redirect", "skipped_not_ok",
         "skipped_stored")


@dataclass
class SpiderRun:
    """One spider's run: its crawl_runs row and, as it goes, its counters."""

    spider: str
    run_id: int | None  # None until the spider starts
    status: str = "waiting"
    message: str | None = None
    finish_reason: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    crawler: Any = field(default=None, repr=False)

    def value(self, key: str) -> int:
        stats = self.stats
        if self.crawler is not None:
            try:
                stats = self.crawler.stats.get_stats()
            except AttributeError:  # the crawler has not set itself up yet
                pass
        return int(stats.get(STAT + key, 0) or 0)

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def fetched(self) -> int:
        return self.value("fetched")



def progress_table(runs: Sequence[SpiderRun]) -> Table:
    """The live table: one row per spider, counters as they grow."""
    table = Table(title="narrative-archive crawl", title_justify="left", expand=False)
    for column in ("spider", "run", "fetched", "pages", "new", "updated", "mentions", "errors",
                   "skipped", "pages/s", "time"):
        table.add_column(column, justify="left" if column == "spider" else "right")
    for run in runs:
        if run.crawler is None and not run.stats:
            table.add_row(run.spider, str(run.run_id or ""), *["" for _ in range(9)])
            continue
        elapsed = run.elapsed
        pages = run.value("pages")
        table.add_row(
            run.spider, str(run.run_id), *(str(run.value(k)) for k in (
                "fetched", "pages", "new", "updated", "mentions", "errors")),
            str(sum(run.value(k) for k in SKIPS)),
            f"{pages / elapsed:.1f}" if elapsed > 0 else "",
            clock(elapsed),
        )
    return table


def summary_table(runs: Sequence[SpiderRun]) -> Table:
    """The table printed at the end: what each spider did and how the run ended."""
    table = Table(title="Crawl summary", title_justify="left")
    for column in ("spider", "run", "status", "fetched", "pages", "new", "updated", "unchanged",
                   "mentions", "errors", "skipped", "pages/s", "time"):
        table.add_column(column, justify="left" if column in ("spider", "status") else "right")
    for run in runs:
        elapsed = run.elapsed
        table.add_row(
            run.spider, str(run.run_id or ""), run.status,
            *(str(run.value(k)) for k in COUNTERS),
            str(sum(run.value(k) for k in SKIPS)),
            f"{run.value('pages') / elapsed:.1f}" if elapsed > 0 else "",
            clock(elapsed),
        )
    return table


def errors_table(db, runs: Sequence[SpiderRun], limit: int = 8,
                 kind: str = "error") -> Table | None:
    """The most frequent failure reasons of these runs (`kind` 'skipped': why pages were
    not fetched), with an example URL."""
    ids = [run.run_id for run in runs if run.run_id is not None]
    rows = store.run_error_reasons(db, ids, limit, kind) if ids else []
    if not rows:
        return None
    table = Table(title="Errors" if kind == "error" else "Not fetched", title_justify="left")
    table.add_column("count", justify="right")
    table.add_column("reason")
    table.add_column("example URL", overflow="fold")
    for reason, count, url in rows:
        table.add_row(str(count), reason, url or "")
    return table


def print_summary(runs: Sequence[SpiderRun], db_path: str | Path,
                  console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    console.print(summary_table(runs))
    db = store.open_db(db_path, migrate=False)
    try:
        tables = [errors_table(db, runs), errors_table(db, runs, kind="skipped")]
    finally:
        db.close()
    for table in tables:
        if table is not None:
            console.print(table)
    for run in runs:
        if run.message and run.run_id is not None:
            console.print(f"{run.spider} (run {run.run_id}): {run.status}: {run.message}",
                          highlight=False, soft_wrap=True)
