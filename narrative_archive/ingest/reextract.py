"""Re-extraction: the latest capture of each article extracted again, nothing fetched.

    captures row ──capture.read_record──► extract.extract_article ──►
        store.save_reextraction (a version only when title or text differ)
        ──► narratives.match_article (the changed articles only)

The run is a crawl_runs row (spider 'reextract'): pages is how many captures
were extracted, updated_articles how many changed. A record that cannot be read
(a truncated or corrupt WARC file, a missing file, a path outside the captures
dir) or that no longer extracts is a crawl_errors row naming the file and
offset, and the run goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from w3lib.encoding import http_content_type_encoding

from narrative_archive import store
from narrative_archive.capture import CaptureError, header, read_record
from narrative_archive.config import Config
from narrative_archive.extract.article import ExtractError, extract_article, extractor_version
from narrative_archive.match import narratives as narratives_module

log = logging.getLogger(__name__)


def reextract(db, config: Config, captures_dir: str | Path, since: str | None = None,
              outlet_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Extract the latest capture of every article (captured since `since`, of these
    outlets) again; store what changed. Returns the run's id and counts."""
    args = {key: value for key, value in (("since", since), ("outlets", list(outlet_ids)))
            if value}
    run_id = store.start_run(db, "reextract", args, pid=os.getpid())
    extractor = extractor_version()
    counts = {"pages": 0, "updated": 0, "mentions": 0, "errors": 0}
    for row in store.latest_article_captures(db, since, outlet_ids):
        where = f"{row['warc_file']} at offset {row['offset']}"
        try:
            record = read_record(captures_dir, row["warc_file"], row["offset"], row["length"])
        except CaptureError as error:
            _error(db, run_id, row, f"unreadable capture: {error}", counts)
            continue
        except OSError as error:
            _error(db, run_id, row, f"unreadable capture: {where}: {error.strerror or error}",
                   counts)
            continue
        encoding = http_content_type_encoding(header(record.headers, "Content-Type") or "")
        try:
            article = extract_article(record.body, row["url"], encoding=encoding).to_dict()
        except ExtractError as error:
            _error(db, run_id, row, f"re-extraction of {where} failed: {error}", counts)
            continue
        counts["pages"] += 1
        if not article.get("title"):
            article["title"] = row["title"]  # the title a feed or sitemap gave, as stored
        with store.transaction(db):
            changed = store.save_reextraction(db, row["article_id"], article, row["capture_id"],
                                              row["fetched_at"], extractor)
            if changed:
                counts["updated"] += 1
                counts["mentions"] += len(narratives_module.match_article(
                    db, row["article_id"], config.narratives))
    status = "ok" if counts["pages"] or not counts["errors"] else "failed"
    message = (f"{counts['pages']} captures extracted, {counts['updated']} changed,"
               f" {counts['errors']} unreadable or failed")
    store.finish_run(db, run_id, status, message=message, pages=counts["pages"],
                     updated_articles=counts["updated"], mentions=counts["mentions"])
    return {"run_id": run_id, "status": status, **counts}


def _error(db, run_id: int, row: dict, reason: str, counts: dict[str, int]) -> None:
    log.error("%s (%s)", reason, row["url"])
    store.record_error(db, run_id, row["url"], reason, row["outlet_id"])
    counts["errors"] += 1
