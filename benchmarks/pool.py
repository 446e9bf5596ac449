"""The extraction pool's hand-offs: crawl.workers.ExtractorPool beside a ProcessPoolExecutor.

Sends the crawl benchmark's generated pages (benchmarks/crawl.py: 66 KiB, the shipped
narratives read in the worker) through the crawl's pool (pages and answers on pipes the
event loop reads and writes itself) and through concurrent.futures' ProcessPoolExecutor
(what the crawl used before, and what a user would pick: a manager thread and a queue
feeder thread in the calling process), `--in-flight` pages at a time from one asyncio
loop, alternating, `--repeat` times each. Prints, for each, pages/s of wall time and the
calling process's CPU a page (all its threads: what the pool costs the crawl process),
medians. Both forked from the same forkserver, with the same workers' set-up.

    python benchmarks/pool.py --pages 1500
    python benchmarks/pool.py --pages 1500 --capture   # with the WARC records built

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import psutil
from corpus import Corpus
from crawl import REPO, TEMPLATES, template

from narrative_archive import fts
from narrative_archive.config import load_narratives
from narrative_archive.crawl import workers


def pages(count: int) -> list[bytes]:
    corpus = Corpus(coverage=0.05)
    templates = [template(i, corpus) for i in range(TEMPLATES)]
    return [templates[n % TEMPLATES].replace(b"{{N}}", str(n).encode()) for n in range(count)]


def capture_of(body: bytes, number: int) -> dict:
    """capture.build_pair's arguments for one page, as the capture middleware gives them."""
    return {"url": f"http://127.0.0.1/article/{number}", "request_method": "GET",
            "request_headers": [("Accept", "text/html")], "status": 200, "reason": None,
            "response_headers": [("Content-Type", "text/html; charset=utf-8")], "body": body,
            "fetched_at": datetime.now(UTC).isoformat()}


async def feed(extract, bodies: list[bytes], in_flight: int, capture: bool) -> None:
    """Every page through `extract(body, url, encoding, title, capture)`, `in_flight` at a time."""
    limit = asyncio.Semaphore(in_flight)

    async def one(number: int, body: bytes) -> None:
        async with limit:
            await extract(body, f"http://127.0.0.1/article/{number}", "utf-8", None,
                          capture_of(body, number) if capture else None)

    await asyncio.gather(*(one(n, body) for n, body in enumerate(bodies)))


def executor_extract(executor: ProcessPoolExecutor):
    """ExtractorPool.extract as it was before, on concurrent.futures."""
    async def extract(body, url, encoding, title, capture):
        future = executor.submit(workers.extract_page, body, url, encoding, {}, title, capture)
        return await asyncio.wait_for(asyncio.wrap_future(future), 120)
    return extract


async def timed(extract, bodies: list[bytes], warm: list[bytes], in_flight: int,
                capture: bool) -> tuple[float, float]:
    """(pages/s of wall time, ms of this process's CPU a page), after a warm-up."""
    await feed(extract, warm, in_flight, capture)  # the workers started and warm
    started, cpu = time.perf_counter(), time.process_time()
    await feed(extract, bodies, in_flight, capture)
    return len(bodies) / (time.perf_counter() - started), \
        1000 * (time.process_time() - cpu) / len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--capture", action="store_true", help="build the WARC records too")
    args = parser.parse_args()
    bodies = pages(args.pages)
    narratives = tuple(load_narratives(REPO / "config" / "narratives.yml", fts.check_query))
    warm = bodies[: 4 * args.workers]
    results: dict[str, list[tuple[float, float]]] = {"pipes (ExtractorPool)": [],
                                                      "ProcessPoolExecutor": []}
    for _ in range(args.repeat):
        pool = workers.ExtractorPool(args.workers, narratives=narratives, read=True)
        try:
            results["pipes (ExtractorPool)"].append(asyncio.run(
                timed(pool.extract, bodies, warm, args.in_flight, args.capture)))
        finally:
            pool.close()
        me = os.getpid()
        executor = ProcessPoolExecutor(args.workers, mp_context=pool._context()[0],
                                       initializer=workers._init_worker,
                                       initargs=(me, psutil.Process(me).create_time(),
                                                 (narratives, ())))
        try:
            results["ProcessPoolExecutor"].append(asyncio.run(
                timed(executor_extract(executor), bodies, warm, args.in_flight, args.capture)))
        finally:
            executor.shutdown()
    print(f"{args.pages} pages, {args.workers} workers, {args.in_flight} in flight,"
          f" capture {'on' if args.capture else 'off'}, medians of {args.repeat}:")
    for label, runs in results.items():
        rates, cpus = [r for r, _ in runs], [c for _, c in runs]
        print(f"  {label:24} {statistics.median(rates):7.1f} pages/s"
              f"  {statistics.median(cpus):6.3f} ms of CPU a page in the calling process"
              f"  (runs: {', '.join(f'{r:.1f}/{c:.3f}' for r, c in runs)})")


if __name__ == "__main__":
    main()
