"""The crawl's processes and Python's cyclic garbage collector."""

from __future__ import annotations

import gc

# A young collection after this many new container objects (Python's default: 700).
YOUNG_GC_OBJECTS = 20_000


def quiet_gc() -> None:
    """Keep Python's cyclic garbage collector off what start-up built, in the crawl process
    (before its reactor runs) and in each worker (once warm). All of it (modules, Scrapy,
    config, the reader's narratives: hundreds of thousands of objects) lives as long as the
    process, yet each full collection walked it all again (~0.1 s), and a young collection
    ran after every 700 new objects, which one page's Requests, Responses, Deferreds or
    extraction make many times over. `gc.freeze()` leaves what exists now out of every
    collection (garbage among it is never freed: start-up makes little), and a young
    collection waits for YOUNG_GC_OBJECTS. The crawl process spent ~1 ms of CPU a page
    in the collector (gc.callbacks, 1,500 pages, load ~7), ~0.2 after this."""
    gc.freeze()
    gc.set_threshold(YOUNG_GC_OBJECTS, 10, 10)
