"""The extraction pool (crawl.workers.ExtractorPool): pages go out on each worker's pipe and
answers come back to the event loop; a worker that dies fails only the page it was on, a
page past its timeout fails and its worker is replaced, and close() leaves no process.

A worker is made to hang or die with signals (SIGSTOP, SIGKILL) before it is sent its
pages, so what it was doing when it died is known without any timing."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from narrative_archive.crawl.workers import ExtractorPool, WorkerCrashed
from narrative_archive.extract.article import ExtractError

PAGE = (Path(__file__).parent / "files" / "extract" / "jsonld_newsarticle.html").read_bytes()
TITLE = "US general says Russia is arming the Taliban"
NOT_HTML = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def pids(pool: ExtractorPool) -> list[int]:
    return [worker.process.pid for worker in pool._live]


async def sent(pool: ExtractorPool, *urls: str) -> list[asyncio.Task]:
    """Tasks extracting PAGE at these URLs, each already written to a worker's pipe."""
    tasks = [asyncio.ensure_future(pool.extract(PAGE, url, "utf-8")) for url in urls]
    await asyncio.sleep(0)  # one turn of the loop: each extract() has sent its page
    return tasks


def test_answers_come_back_to_their_pages_in_any_number():
    async def run(pool):
        articles = await asyncio.gather(*(pool.extract(PAGE, f"https://example.com/{i}", "utf-8")
                                          for i in range(9)))
        with pytest.raises(ExtractError):
            await pool.extract(NOT_HTML, "https://example.com/p", None)
        return articles, await pool.extract(PAGE, "https://example.com/last", None)

    pool = ExtractorPool(2)
    try:
        articles, last = asyncio.run(run(pool))
    finally:
        pool.close()
    assert [a["url"] for a in articles] == [f"https://example.com/{i}" for i in range(9)]
    assert {a["title"] for a in [*articles, last]} == {TITLE}


def test_a_dead_worker_fails_the_page_it_was_on_and_the_crawl_goes_on():
    async def run(pool):
        pool.start()
        [pid] = pids(pool)
        os.kill(pid, signal.SIGSTOP)  # it reads nothing more: both pages wait in its pipe
        first, second = await sent(pool, "https://example.com/1", "https://example.com/2")
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerCrashed):
            await first  # the page it was on
        article = await second  # sent again, to the worker that replaced it
        assert pids(pool) != [pid]
        return article, await pool.extract(PAGE, "https://example.com/3", "utf-8")

    pool = ExtractorPool(1)
    try:
        second, third = asyncio.run(run(pool))
    finally:
        pool.close()
    assert (second["url"], third["url"]) == ("https://example.com/2", "https://example.com/3")


def test_a_page_past_its_timeout_fails_and_its_worker_is_replaced():
    async def run(pool):
        pool.start()
        [pid] = pids(pool)
        os.kill(pid, signal.SIGSTOP)  # stuck, as on a page that never ends
        [stuck] = await sent(pool, "https://example.com/stuck")
        with pytest.raises(TimeoutError):
            await stuck
        assert pids(pool) == []  # killed; the next page starts another
        pool.timeout = 120  # (a new worker's start is no part of the test)
        return pid, await pool.extract(PAGE, "https://example.com/next", "utf-8")

    pool = ExtractorPool(1, timeout=0.2)
    try:
        pid, article = asyncio.run(run(pool))
    finally:
        pool.close()
    assert article["title"] == TITLE
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped


def test_close_leaves_no_worker_even_a_stuck_one():
    async def run(pool):
        await pool.extract(PAGE, "https://example.com/1", "utf-8")
        stuck = pids(pool)[0]
        os.kill(stuck, signal.SIGSTOP)
        await sent(pool, "https://example.com/2", "https://example.com/3")
        return [worker.process for worker in pool._live]

    pool = ExtractorPool(2, grace=0.1)
    processes = asyncio.run(run(pool))
    pool.close()
    assert len(processes) == 2
    assert not any(process.is_alive() for process in processes)
