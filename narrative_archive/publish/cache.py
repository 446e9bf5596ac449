"""What the published pages keep between requests: values counted from the archive, kept
while the archive is unchanged, served a little while after it changes, and counted by one
request at a time.

A value is stored with the archive's stamp when it was counted (for the Datasette plugin:
the size and modification time of the file and its WAL, which every commit changes). The
same stamp: the value is current. Another stamp: the value is served while it is younger
than `stale_seconds` (the instance's HTTP cache time), then counted again. Concurrent
requests for one key wait for the one count in progress instead of each counting.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, NamedTuple


class Entry(NamedTuple):
    stamp: Hashable
    counted: float  # clock() when counted
    value: Any


class Memo:
    """Values by key, with the stamp of the archive they were counted from."""

    def __init__(self, entries: int = 256, stale_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.entries, self.stale_seconds, self.clock = entries, stale_seconds, clock
        self.values: dict[Hashable, Entry] = {}
        self.locks: dict[Hashable, asyncio.Lock] = {}
        self.counted = 0  # how many times a value was counted (for tests and benchmarks)

    def fresh(self, key: Hashable, stamp: Hashable) -> Entry | None:
        """The entry to serve for this stamp, if any: current, or recent enough."""
        entry = self.values.get(key)
        if entry is None:
            return None
        if entry.stamp == stamp or self.clock() - entry.counted < self.stale_seconds:
            return entry
        return None

    async def get(self, key: Hashable, stamp: Hashable | None,
                  count: Callable[[], Awaitable[Any]]) -> Any:
        """The value for key: kept, or counted now by `count()` (once, whoever asks).
        With no stamp (nothing to tell a change by) it is always counted."""
        if stamp is None:
            self.counted += 1
            return await count()
        entry = self.fresh(key, stamp)
        if entry is not None:
            return entry.value
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self.fresh(key, stamp)  # counted while this request waited
            if entry is not None:
                return entry.value
            value = await count()
            self.counted += 1
            if len(self.values) >= self.entries and key not in self.values:
                self.values.clear()
                self.locks = {key: lock}
            self.values[key] = Entry(stamp, self.clock(), value)
            return value


def path_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """A file's size and modification time; None when there is no file."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns


def file_stamp(path: str | None) -> tuple | None:
    """The archive file's and its WAL's size and modification time, which every commit
    changes: what a Memo's entries are kept against. None (keep nothing) without a file or
    with NARRATIVE_ARCHIVE_PAGE_CACHE=off."""
    if not path or os.environ.get("NARRATIVE_ARCHIVE_PAGE_CACHE", "on").lower() in ("0", "off", "no"):
        return None
    return (path_stamp(path), path_stamp(f"{path}-wal"))
