"""Capture cost: bytes of WARC per page, write time per page, and a crawl with capture off and on.

Uses benchmarks/crawl.py's generated outlet (article pages of realistic weight
and a news sitemap on 127.0.0.1). First `CaptureWriter.write` alone, in this
process, over the same pages (plain and gzip-encoded bodies): milliseconds per
page (the cost the reactor would pay if it wrote inline) and WARC bytes per
page, at the default gzip level 1 and at warcio's 9. Then `narrative-archive crawl sitemaps` end to end, capture off, on
(writes in the worker thread) and on inline, in the same run, alternating
--repeat times: pages/s, the crawl process's CPU per page, WARC bytes per page.

    python benchmarks/capture.py                # 1,000 pages
    python benchmarks/capture.py --pages 5000 --repeat 2

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl import TEMPLATES, Site, crawl  # noqa: E402 (benchmarks/crawl.py, beside this file)

from narrative_archive.capture import CaptureWriter  # noqa: E402

REQUEST = [("User-Agent", "narrative-archive/0.1 (+https://github.com/narrative-archive)"),
           ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
           ("Accept-Language", "en"), ("Accept-Encoding", "gzip, deflate, br, zstd")]


def response_headers(length: int, encoded: bool) -> list[tuple[str, str]]:
    headers = [("Date", "Tue, 21 May 2024 12:00:00 GMT"), ("Server", "nginx"),
               ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(length)),
               ("Cache-Control", "max-age=300"), ("Vary", "Accept-Encoding")]
    return headers + [("Content-Encoding", "gzip")] if encoded else headers


def write_only(site: Site, pages: int, encoded: bool, level: int) -> dict:
    bodies = [site.page(n) for n in range(pages)]
    if encoded:
        bodies = [gzip.compress(body, 6) for body in bodies]
    with tempfile.TemporaryDirectory() as tmp:
        writer = CaptureWriter(tmp, "bench", gzip_level=level)
        writer.write("http://warm.test/", "GET", REQUEST, 200, None, [], b"")  # opens the file
        started = time.perf_counter()
        for number, body in enumerate(bodies):
            writer.write(f"{site.base}/article/{number}", "GET", REQUEST, 200, None,
                         response_headers(len(body), encoded), body, datetime.now(UTC))
        seconds = time.perf_counter() - started
        writer.close()
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
    return {"ms": seconds * 1000 / pages, "bytes": size / pages,
            "body": sum(map(len, bodies)) / pages}


def crawl_once(site: Site, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        captures = Path(tmp) / "captures"
        settings = ["LOG_LEVEL=WARNING"]
        if mode != "off":
            settings += [f"NARRATIVE_ARCHIVE_CAPTURES={captures}"]
        if mode == "inline":
            settings += ["NARRATIVE_ARCHIVE_CAPTURE_THREAD=0"]
        result = crawl(site, Path(tmp), settings)
        size = sum(f.stat().st_size for f in captures.glob("*.warc.gz")) if mode != "off" else 0
    stored = max(result["stored"], 1)
    return {"rate": result["stored"] / result["span"] if result["span"] else float("nan"),
            "wall_rate": result["stored"] / result["wall"],
            "cpu_ms": result["main_cpu"] * 1000 / stored, "bytes": size / stored,
            "stored": result["stored"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages to crawl (default 1000)")
    parser.add_argument("--repeat", type=int, default=1, help="crawls per mode (default 1)")
    parser.add_argument("--no-crawl", action="store_true", help="only the write-alone timing")
    args = parser.parse_args()
    with Site(args.pages) as site:
        sizes = [len(site.page(n)) for n in range(TEMPLATES)]
        print(f"{args.pages} pages, {sum(sizes) / len(sizes) / 1024:.1f} KiB of HTML on average")
        for encoded, level in ((False, 1), (False, 9), (True, 1)):
            result = write_only(site, args.pages, encoded, level)
            label = "gzip-encoded body" if encoded else "plain body       "
            print(f"write alone, {label}, gzip level {level}: {result['ms']:6.2f} ms/page, "
                  f"{result['bytes'] / 1024:5.1f} KiB of WARC per page "
                  f"(body {result['body'] / 1024:.1f} KiB), "
                  f"{result['bytes'] * 1000 / 1024 / 1024:.1f} MiB per 1,000 pages")
        if args.no_crawl:
            return
        runs: dict[str, list[dict]] = {"off": [], "thread": [], "inline": []}
        for _ in range(args.repeat):
            for mode in runs:
                runs[mode].append(crawl_once(site, mode))
    base = statistics.median(r["rate"] for r in runs["off"])
    for mode, results in runs.items():
        rate = statistics.median(r["rate"] for r in results)
        wall = statistics.median(r["wall_rate"] for r in results)
        cpu = statistics.median(r["cpu_ms"] for r in results)
        size = statistics.median(r["bytes"] for r in results)
        name = {"off": "capture off", "thread": "capture on (thread)",
                "inline": "capture on (inline)"}[mode]
        print(f"crawl, {name:20}: {rate:6.1f} pages/s ({(rate / base - 1) * 100:+5.1f}% vs off),"
              f" wall {wall:5.1f} pages/s, crawl process CPU {cpu:5.2f} ms/page, "
              f"{size / 1024:5.1f} KiB WARC/page, {results[0]['stored']} stored")


if __name__ == "__main__":
    main()
