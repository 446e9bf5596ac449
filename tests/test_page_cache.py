"""publish.cache.Memo: kept while the archive is unchanged, served a little while after it
changes, counted by one request at a time."""

from __future__ import annotations

import asyncio

from narrative_archive.publish.cache import Memo


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_kept_while_unchanged_then_served_stale_for_a_while():
    clock = Clock()
    memo = Memo(stale_seconds=60, clock=clock)
    counts = iter(range(100))

    async def count():
        return next(counts)

    def get(stamp):
        return asyncio.run(memo.get("page", stamp, count))

    assert get("a") == 0
    clock.now = 3600
    assert get("a") == 0  # the archive unchanged: current however old
    assert get("b") == 1  # changed, and counted an hour ago: counted again
    clock.now += 30
    assert get("c") == 1  # changed again 30 s later: the minute-old value is served
    clock.now += 31
    assert get("c") == 2  # over a minute old: counted again
    assert get("c") == 2
    assert get(None) == 3  # no stamp to tell a change by: always counted


def test_concurrent_requests_count_once():
    memo = Memo()
    calls = []

    async def count():
        calls.append(1)
        await asyncio.sleep(0)
        return "blocks"

    async def many():
        return await asyncio.gather(*(memo.get("page", "a", count) for _ in range(8)))

    assert asyncio.run(many()) == ["blocks"] * 8
    assert len(calls) == 1 and memo.counted == 1


def test_bounded():
    memo = Memo(entries=2)

    async def count():
        return 1

    for key in range(5):
        asyncio.run(memo.get(key, "a", count))
    assert len(memo.values) <= 2
