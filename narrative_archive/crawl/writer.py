"""The crawl's one archive writer: a thread that runs every write, and commits the writes
that arrive together in one transaction.

A commit is the expensive part of storing an article: FTS5 turns its pending terms into a
new index segment and SQLite writes those pages to the WAL. Writes queued while one batch
runs share the next transaction, and while they keep coming (the last batch had more
than one) the writer waits up to `linger` seconds for more, so a fast crawl commits tens
of articles at a time and a slow one commits each article as soon as it arrives.

Each write runs inside its own savepoint: one that raises is rolled back alone and its
caller gets the exception; the others commit. A write and everything it does (an article,
its mentions, its story and citations) are in one transaction, so a crash (even kill -9)
loses whole writes, never half of one. A write's future resolves only once its
transaction has committed. Writes submitted with `batch=False` (opening the archive,
config sync) run alone, outside any transaction of the writer's. What a write counts goes
through `after_commit`: a batch whose commit fails (a full disk) counts nothing. The
articles a batch inserts are indexed for search in one statement before its commit
(`store.fts_deferred`), not one by one by the insert trigger.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from narrative_archive import store

logger = logging.getLogger(__name__)

_STOP = object()
_batch = threading.local()  # .after: the after-commit calls of the batch this thread runs


def after_commit(fn: Callable, *args: Any) -> None:
    """`fn(*args)` once the write calling this has committed, never if it is rolled back
    (its savepoint, or its batch's commit, failed); at once outside a batched write."""
    pending = getattr(_batch, "after", None)
    if pending is None:
        fn(*args)
    else:
        pending.append((fn, args))


class BatchWriter:
    """`submit(fn, *args)` from any thread; `fn` runs in the writer thread with `db()`."""

    def __init__(self, db: Callable[[], Any], *, linger: float = 0.25, max_batch: int = 500,
                 name: str = "archive-writer"):
        self.db = db  # the archive (sqlite_utils.Database), once opened by a write
        self.linger = linger
        self.max_batch = max_batch
        self.batches = self.writes = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable, *args: Any, batch: bool = True) -> Future:
        future: Future = Future()
        self._queue.put((fn, args, future, batch))
        return future

    def shutdown(self) -> None:
        """Run what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        pending = None
        busy = False
        while True:
            item = pending or self._queue.get()
            pending = None
            if item is _STOP:
                return
            if not item[3]:  # alone
                self._run_alone(item)
                continue
            batch = [item]
            # Linger only while writes come faster than one a batch: a trickle (a slow
            # crawl, a test) commits each write at once.
            deadline = time.monotonic() + (self.linger if busy else 0.0)
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP or not item[3]:
                    pending = item
                    break
                batch.append(item)
            self._run_batch(batch)
            busy = len(batch) > 1

    @staticmethod
    def _run_alone(item) -> None:
        fn, args, future, _ = item
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as error:  # the caller's to handle
            future.set_exception(error)

    def _run_batch(self, batch: list) -> None:
        results: list[tuple[Future, bool, Any]] = []
        after: list[tuple[Callable, tuple]] = []
        _batch.after = after
        try:
            with store.transaction(self.db()), store.fts_deferred(self.db()):
                for fn, args, future, _ in batch:
                    if not future.set_running_or_notify_cancel():
                        continue
                    mark = len(after)
                    try:
                        with store.savepoint(self.db()):
                            results.append((future, True, fn(*args)))
                    except Exception as error:
                        del after[mark:]  # rolled back: what it counted did not happen
                        results.append((future, False, error))
        except BaseException as error:  # the commit failed: none of them is stored
            if not store.disk_full(error):  # a full disk: one line per write, from the pipeline
                logger.exception("a batch of %d archive writes failed", len(batch))
            for _fn, _args, future, _ in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            _batch.after = None
        for fn, args in after:
            fn(*args)
        self.batches += 1
        self.writes += len(results)
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


class LoopResults:
    """asyncio.wrap_future for many futures that finish in other threads together: one
    wake-up of the event loop for all that finish before it runs (a batch of archive
    writes), where wrap_future wakes it once per future."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._lock = threading.Lock()
        self._finished: list[tuple[Future, asyncio.Future]] = []

    def wrap(self, future: Future) -> asyncio.Future:
        waiter = self.loop.create_future()
        future.add_done_callback(lambda done: self._finish(done, waiter))
        return waiter

    def _finish(self, future: Future, waiter: asyncio.Future) -> None:
        with self._lock:
            self._finished.append((future, waiter))
            if len(self._finished) > 1:  # the loop is already woken for the first
                return
        self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        for future, waiter in finished:
            if waiter.cancelled():
                continue
            if future.cancelled():
                waiter.cancel()
            elif future.exception() is not None:
                waiter.set_exception(future.exception())  # type: ignore[arg-type]
            else:
                waiter.set_result(future.result())
