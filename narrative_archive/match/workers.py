"""A rematch's claim candidates read in worker processes, and half its snippets cut there.

A claim rule's candidate query lists most of a topical archive (match.claim), and each
candidate is read in Python: its row, then the rule over its sentences. Both are a pure
function of the article, so the candidates are split into chunks of ids and each worker
reads its chunks' rows through its own connection (store.texts_by_id) and answers with the
ids the rule accepts, while the rematch's own process runs the narrative's query. The
rematch's connection holds its write transaction meanwhile and has written nothing yet,
so the workers read the archive it reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor

import sqlite_utils

from narrative_archive import store
from narrative_archive.config import Narrative
from narrative_archive.match import claim
from narrative_archive.processes import forkserver_pool

PARALLEL_CANDIDATES = 20_000  # fewer are read in the rematch's own process
CHUNK = 2_000  # candidates a task
NICENESS = 10


def accepted(path: str, claim_lists: tuple, ids: list[int]) -> list[int]:
    """The ids among these articles of the archive at `path` whose text holds the claim
    (`claim_lists`: a narrative's `claim`). Runs in a worker."""
    rule = claim.compiled(claim_lists)
    if rule is None:
        return []
    return [article_id for article_id, title, text, language in store.texts_by_id(path, ids)
            if rule.matches(title, text, language)]


def snippets(path: str, query: str, low: int,
             skip: list[int] | None = None) -> list[tuple[int, str | None]]:
    """(article id, snippet) of the articles of the archive at `path` from id `low` on
    that the query matches (store.snippet_rows; NULL for the ids in `skip`). Runs in a
    worker."""
    return store.snippet_rows(path, query, low, skip)


def pool(workers: int = 0) -> ProcessPoolExecutor:
    """Worker processes (default: one per core) that have imported the claim reader, at a
    lower priority than the rematch's process: its query's scan is the longer path."""
    return forkserver_pool(["narrative_archive.match.workers"], workers, niceness=NICENESS)


class Workers:
    """Where a rematch reads its claim candidates: `executor`'s workers, or a pool of its
    own, started the first time a rematch has PARALLEL_CANDIDATES of them on a machine
    with more than one core; close() stops that pool."""

    def __init__(self, executor: Executor | None = None):
        self.executor = executor
        self.own: ProcessPoolExecutor | None = None

    def read(self, db: sqlite_utils.Database,
             narrative: Narrative) -> Callable[[list[int]], Callable[[], list[int]] | None] | None:
        """store.rematch_mentions' `read` for this narrative, or None where the candidates
        must be read in this process: a narrative without a claim rule, an in-memory
        archive, or a connection already in a transaction (its writes are not the workers'
        to see)."""
        path = store.file_path(db)
        if path is None or db.conn.in_transaction or not narrative.claim:
            return None

        def read(ids: list[int]) -> Callable[[], list[int]] | None:
            executor = self._executor() if len(ids) >= PARALLEL_CANDIDATES else None
            if executor is None:
                return None
            chunks = [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]
            found = executor.map(accepted, [path] * len(chunks), [narrative.claim] * len(chunks),
                                 chunks)  # every task is submitted now
            return lambda: sorted(article_id for chunk in found for article_id in chunk)
        return read

    def split(self, db: sqlite_utils.Database,
              ) -> Callable[[str, int, list[int] | None], Callable[[], list] | None] | None:
        """store.rematch_mentions' `split`: a worker process cuts the snippets of the later
        half of the archive while the rematch's process cuts the first half's; None for an
        in-memory archive or a connection already in a transaction (as `read`)."""
        path = store.file_path(db)
        if path is None or db.conn.in_transaction:
            return None

        def split(query: str, low: int, skip: list[int] | None) -> Callable[[], list] | None:
            executor = self._executor()
            return None if executor is None else executor.submit(snippets, path, query, low,
                                                                 skip).result
        return split

    def _executor(self) -> Executor | None:
        if self.executor is None and self.own is None and (os.cpu_count() or 1) > 1:
            self.own = pool()
        return self.executor or self.own

    def close(self) -> None:
        if self.own is not None:
            self.own.shutdown(wait=True, cancel_futures=True)
            self.own = None
