"""The archive host takes in finished batches, each exactly once.

For every published batch (one whose manifest is there) not in the ledger
(fleet_batches), in key order: download its files and check them against the
manifest, copy its WARC file into the captures directory (named after the batch, so a
second copy overwrites the first), then in ONE transaction: store each article as the
crawl pipeline would (ingest.batch.ArticleStore: import mapping, upsert, match,
analyse), record the node's errors, add the counters to the node's crawl_runs row,
close that row when the batch is the run's final one, and write the ledger row. An
ingest killed mid-batch leaves nothing of that batch; the next one does it all. A
batch already in the ledger is skipped, and the ledger's primary key refuses a second
copy even from a second ingest process. The batch is then deleted from the storage
(unless kept).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from narrative_archive import store
from narrative_archive.config import Config
from narrative_archive.fleet import batches
from narrative_archive.fleet.storage import Storage
from narrative_archive.ingest.batch import ArticleStore
from narrative_archive.ingest.rows import RowError


@dataclass
class IngestSummary:
    batches: int = 0
    articles: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    skipped: list[str] = field(default_factory=list)  # already in the ledger
    refused: list[str] = field(default_factory=list)  # files not matching their manifest
    seconds: float = 0.0


def warc_name(ident: str) -> str:
    """The captures-dir file of a batch's WARC records: fleet/<job>-<seq>.warc.gz."""
    return "fleet/" + ident.replace("/", "-") + ".warc.gz"


def _run_for(db, manifest: dict) -> int:
    """The crawl_runs row of the batch's attempt: the one the dispatcher opened, or a new
    one for a job started on the node by hand."""
    run_id = manifest.get("run_id")
    if run_id and store.get_run(db, int(run_id)) is not None:
        return int(run_id)
    earlier = store.run_of_job_key(db, manifest.get("job_key") or "")
    if earlier is not None:
        return earlier
    run_id = store.start_run(db, manifest.get("spider") or "node",
                             {"node": manifest.get("node"), "job_key": manifest.get("job_key")},
                             job=manifest.get("job"))
    store.update_run(db, run_id, node=manifest.get("node"))
    return run_id


def ingest_batch(db, storage: Storage, ident: str, articles: ArticleStore,
                 captures_dir: Path, summary: IngestSummary) -> bool:
    """Ingest one batch; False when it was already in the ledger."""
    if store.batch_ingested(db, ident):
        summary.skipped.append(ident)
        return False
    manifest = batches.manifest(storage, ident)
    with tempfile.TemporaryDirectory(prefix="narrative-archive-ingest-") as tmp:
        files = batches.fetch(storage, ident, manifest, Path(tmp))
        warc = warc_name(ident)
        if batches.CAPTURES in files:
            target = captures_dir / warc
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[batches.CAPTURES], target)
        counts = {"articles": 0, "new_articles": 0, "updated_articles": 0,
                  "unchanged_articles": 0, "errors": 0,
                  "bytes": sum(f["bytes"] for f in manifest.get("files", {}).values())}
        mentions = 0
        with store.transaction(db):
            if store.batch_ingested(db, ident):  # another ingest got here first
                summary.skipped.append(ident)
                return False
            run_id = manifest["run_id"] = _run_for(db, manifest)
            for record in batches.read_lines(files[batches.ARTICLES]) \
                    if batches.ARTICLES in files else ():
                capture = record.pop("capture", None)
                if capture:
                    capture = {**capture, "warc_file": warc}
                try:
                    stored = articles.save(record, run_id, capture)
                except RowError as error:
                    store.record_error(db, run_id, record.get("url"), f"batch {ident}: {error}",
                                       record.get("outlet_id"))
                    counts["errors"] += 1
                    continue
                counts["articles"] += 1
                counts[f"{stored.status}_articles"] += 1
                mentions += len(stored.mentions)
            for problem in manifest.get("errors") or ():
                kind = problem.get("kind") or "error"
                store.record_error(db, run_id, problem.get("url"), problem.get("reason") or "",
                                   problem.get("outlet_id"), kind)
                if kind == "error":
                    counts["errors"] += 1
            store.add_to_run(db, run_id, pages=counts["articles"],
                             new_articles=counts["new_articles"],
                             updated_articles=counts["updated_articles"], mentions=mentions)
            if manifest.get("final"):
                node_counters = manifest.get("counters") or {}
                store.add_to_run(db, run_id, warnings=int(node_counters.get("warnings", 0)))
                store.close_node_run(db, run_id, manifest.get("status") or "ok",
                                     f"on {manifest.get('node')}: {manifest.get('message')}",
                                     manifest.get("created_at"))
            store.record_batch(db, ident, run_id, manifest, counts)
    summary.batches += 1
    summary.articles += counts["articles"]
    summary.new += counts["new_articles"]
    summary.updated += counts["updated_articles"]
    summary.unchanged += counts["unchanged_articles"]
    summary.errors += counts["errors"]
    return True


def ingest_pending(db, storage: Storage, config: Config, captures_dir: str | Path,
                   keep: bool = False, limit: int | None = None,
                   on_batch: Callable[[str], None] | None = None) -> IngestSummary:
    """Ingest every published batch not yet in the ledger, oldest key first."""
    started = time.monotonic()
    summary = IngestSummary()
    articles = ArticleStore(db, config)
    done = store.ingested_batch_ids(db)
    for ident in sorted(batches.published(storage)):
        if limit is not None and summary.batches >= limit:
            break
        if ident in done:
            if not keep:
                batches.delete(storage, ident)
            continue
        try:
            ingested = ingest_batch(db, storage, ident, articles, Path(captures_dir), summary)
        except batches.BadBatch:
            summary.refused.append(ident)
            continue
        if ingested and on_batch:
            on_batch(ident)
        if not keep:
            batches.delete(storage, ident)
    summary.seconds = time.monotonic() - started
    return summary


def follow(db_path: str | Path, storage: Storage, config: Config, captures_dir: str | Path,
           every: float = 5.0, keep: bool = False, stop: threading.Event | None = None,
           log: Callable[..., None] = lambda *a, **k: None) -> None:
    """Ingest what arrives, every `every` seconds, until `stop` is set."""
    stop = stop or threading.Event()
    db = store.open_db(db_path, synchronous="NORMAL")
    try:
        while not stop.is_set():
            summary = ingest_pending(db, storage, config, captures_dir, keep=keep,
                                     on_batch=lambda ident: log("ingested", batch=ident))
            if summary.batches or summary.refused:
                log("ingest", batches=summary.batches, articles=summary.articles,
                    new=summary.new, updated=summary.updated, unchanged=summary.unchanged,
                    errors=summary.errors, refused=",".join(summary.refused) or None,
                    seconds=f"{summary.seconds:.1f}")
            stop.wait(every)
    finally:
        db.close()
