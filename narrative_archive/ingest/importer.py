"""`narrative-archive import`: existing collections into the archive, recorded as a crawl
run of spider 'import', then one rematch pass per narrative.

    reader (this process) ──chunks of records──► workers: to_article (URLs, dates, HTML → text)
                                                  │ (line, article | Problem), in file order
    writer (this process) ◄──────────────────────┘ duplicate check, outlets, batches of upserts
    then: rematch every narrative once (one FTS5 scan each), stance of the new mentions in
    the workers

Rows are read (ingest.rows) and mapped to articles in worker processes while this
process writes the previous batch; each batch is one transaction, so an interruption
keeps whole batches and a second run upserts the rest. A small import (under
PARALLEL_BYTES) is read in this process: starting workers would cost more than it saves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narrative_archive import store
from narrative_archive.config import Config
from narrative_archive.ingest.rows import FORMATS as FORMATS
from narrative_archive.ingest.rows import Problem, check_format, checked, read_records, to_articles
from narrative_archive.ingest.rows import guess_format as guess_format
from narrative_archive.ingest.rows import read_articles as read_articles
from narrative_archive.ingest.rows import to_article as to_article
from narrative_archive.match import narratives as narratives_module
from narrative_archive.processes import forkserver_pool

BATCH_SIZE = 5000  # articles per transaction: FTS5 writes one index segment per commit
CHUNK = 250  # records per task for a worker
PARALLEL_BYTES = 8 * 2**20  # smaller imports are read in this process


def worker_pool(workers: int = 0) -> ProcessPoolExecutor:
    """Worker processes for an import (default: one per core), started by a forkserver
    that has imported the reading code once."""
    return forkserver_pool(["narrative_archive.ingest.rows", "narrative_archive.analysis.archive",
                            "narrative_archive.match.workers"], workers)


def read_in_workers(executor: Executor, path: str | Path, fmt: str | None,
                    progress: Callable[[int], None] | None = None, ahead: int = 16
                    ) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """read_articles(path, fmt, progress), with to_article run in `executor`'s workers on
    chunks of CHUNK records, at most `ahead` chunks in flight; rows come back in order."""
    fmt = check_format(path, fmt)
    records = read_records(path, fmt, progress)
    chunks = iter(lambda: list(itertools.islice(records, CHUNK)), [])
    pending = [executor.submit(to_articles, str(path), chunk)
               for chunk in itertools.islice(chunks, ahead)]

    def rows() -> Iterator[tuple[int, dict[str, Any] | Problem]]:
        while pending:
            done = pending.pop(0).result()
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append(executor.submit(to_articles, str(path), chunk))
            yield from done

    yield from checked(str(path), rows())


@dataclass
class Summary:
    """What an import did."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    mentions: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None
    unconfigured_outlets: list[str] = field(default_factory=list)


class OutletMap:
    """Which outlet an article belongs to: a configured outlet owning its host (or a parent
    domain), else an outlet row for its domain, created as search results get one."""

    def __init__(self, db, config: Config, outlet_id: str | None = None):
        self.db = db
        self.fixed = outlet_id
        self.by_domain = {domain.lower().removeprefix("www."): outlet.id
                          for outlet in config.outlets for domain in outlet.domains}
        self.unconfigured: list[str] = []  # domains no configured outlet owns

    def __call__(self, domain: str) -> str | None:
        if self.fixed:
            return self.fixed
        host = domain
        while host:
            if host in self.by_domain:
                return self.by_domain[host]
            _, _, host = host.partition(".")
        if not domain:
            return None
        outlet_id = store.ensure_outlet_for_domain(self.db, domain)
        self.by_domain[domain] = outlet_id
        self.unconfigured.append(outlet_id)
        return outlet_id


def import_files(
    db,
    paths: Iterable[str | Path],
    config: Config,
    fmt: str | None = None,
    outlet_id: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_batch: Callable[[Summary], None] | None = None,
    workers: int | None = None,
) -> Summary:
    """Import files into the archive (via='import'), recorded as a crawl run of spider
    'import'; then rematch every narrative once. Each batch is one transaction, so an
    interruption keeps whole batches and a second run upserts the rest. `workers`:
    processes that map rows to articles and read stances (None: one per core for an
    import of PARALLEL_BYTES or more, else none; 0: one per core)."""
    paths = [str(path) for path in paths]
    if outlet_id and outlet_id not in {outlet.id for outlet in config.outlets}:
        raise ValueError(f"unknown outlet {outlet_id!r}: not in outlets.yml")
    store.set_synchronous(db, "NORMAL")
    summary = Summary()
    try:
        narratives_module.sync_config(db, config)
        summary.run_id = run_id = store.start_run(db, "import", {"files": paths, "format": fmt,
                                                                 "outlet": outlet_id})
    except Exception as error:
        if store.disk_full(error):
            raise DiskFull(f"the disk is full: nothing imported ({error}); free some space and"
                           " import again") from error
        raise
    outlets = OutletMap(db, config, outlet_id)
    batch: list[dict[str, Any]] = []
    if workers is None:
        workers = 0 if total_bytes(paths) >= PARALLEL_BYTES else 1
    executor = worker_pool(workers) if workers != 1 else None

    def flush():
        for article in batch:
            article["outlet_id"] = outlets(article.pop("domain"))
        counts = store.save_articles_bulk(db, batch, via="import")
        for key, value in counts.items():
            setattr(summary, key, getattr(summary, key) + value)
        batch.clear()
        store.update_run(db, run_id, pages=summary.rows, new_articles=summary.new,
                         updated_articles=summary.updated, errors=summary.skipped)
        if on_batch:
            on_batch(summary)

    try:
        for path in paths:
            rows = (read_in_workers(executor, path, fmt, progress) if executor
                    else read_articles(path, fmt, progress))
            for _line, item in rows:
                summary.rows += 1
                if isinstance(item, Problem):
                    summary.skipped += 1
                    summary.problems.append(item)
                    store.record_error(db, summary.run_id, item.url, str(item))
                    if on_problem:
                        on_problem(item)
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
        flush()
        summary.mentions = narratives_module.rematch_many(
            db, config.narratives, executor=executor)
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        full = store.disk_full(error)
        message = (("interrupted: " if interrupted else "the disk is full: " if full
                    else f"{type(error).__name__}: {error}: ")
                   + f"{summary.new} new articles kept; import again to resume")
        try:
            store.finish_run(db, summary.run_id, "failed", pages=summary.rows,
                             new_articles=summary.new, updated_articles=summary.updated,
                             message=message)
        except Exception as closing:  # a full disk may refuse even this; the next one settles it
            if not store.disk_full(closing):
                raise
        if full:
            raise DiskFull(f"{message.removesuffix('; import again to resume')} ({error});"
                           " free some space and import again to resume") from error
        raise
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    summary.unconfigured_outlets = outlets.unconfigured
    mentions = sum(r.get("added", 0) for r in summary.mentions.values())
    store.finish_run(
        db, summary.run_id, run_status(summary), pages=summary.rows, new_articles=summary.new,
        updated_articles=summary.updated, mentions=mentions,
        message=describe(summary))
    return summary


class DiskFull(RuntimeError):
    """The archive's disk filled up during an import; whole batches before it are kept."""


def run_status(summary: Summary) -> str:
    """ok, unless there were rows and every one of them failed."""
    return "failed" if summary.rows and summary.skipped == summary.rows else "ok"


def describe(summary: Summary) -> str:
    return (f"{summary.rows} rows: {summary.new} new, {summary.updated} updated,"
            f" {summary.unchanged} already in the archive, {summary.skipped} skipped")


def total_bytes(paths: Iterable[str | Path]) -> int:
    return sum(Path(path).stat().st_size for path in paths)
