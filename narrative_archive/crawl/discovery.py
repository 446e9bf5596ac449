"""What a spider may ask of the archive: the one way spiders reach it (they import this,
never store or extract).

Discovery has to read the archive in three places: whether a listed URL was fetched (or
failed) lately, so it is not asked again within NARRATIVE_ARCHIVE_REFETCH_AFTER; which
stored articles are due for a revisit; and where a backfill listing resumes. It writes
only the state discovery keeps: a stored article listed again is marked seen, and a
backfill's listed captures and cursors. Pages, problems and outcomes still go to the
pipeline as items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from narrative_archive import store

# Re-exported on purpose: spiders reach the archive only through this module (see above);
# revisits and backfills ask what is due, and keep the backfill's own bookkeeping.
from narrative_archive.store import backfill_cursor as backfill_cursor
from narrative_archive.store import due_for_revisit as due_for_revisit
from narrative_archive.store import finish_capture as finish_capture
from narrative_archive.store import pending_captures as pending_captures
from narrative_archive.store import save_backfill_listing as save_backfill_listing
from narrative_archive.times import iso


def open_archive(db_path: str | Path) -> sqlite_utils.Database:
    """The archive a spider reads (migrated, as every writer opens it)."""
    return store.open_db(db_path)


def _since(refetch_after: int) -> str:
    return iso(datetime.now(UTC) - timedelta(seconds=refetch_after))


def fetched_lately(db: sqlite_utils.Database, canonical_urls: Sequence[str],
                   refetch_after: int) -> set[str]:
    """Which of these URLs the archive fetched within `refetch_after` seconds; they are
    listed again, not refetched, and marked seen (last_seen_at)."""
    if not refetch_after or not canonical_urls:
        return set()
    recent = store.recently_fetched(db, canonical_urls, _since(refetch_after))
    if recent:
        store.mark_seen(db, recent)
    return recent


def failed_lately(db: sqlite_utils.Database, urls: Iterable[str], refetch_after: int) -> set[str]:
    """Which of these URLs failed within `refetch_after` seconds (not worth asking again yet:
    a transient failure was already retried within its run)."""
    urls = list(urls)
    if not refetch_after or not urls:
        return set()
    return store.recently_failed(db, urls, _since(refetch_after))
