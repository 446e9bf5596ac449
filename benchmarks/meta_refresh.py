"""The crawl process's look for a <meta> refresh on each HTML page: Scrapy's
MetaRefreshMiddleware (decodes the whole body) beside crawl.middlewares'
QuickMetaRefreshMiddleware (a bytes check of the first 16 KiB first), on the pages of
benchmarks/crawl.py's site, in this one process.

    python benchmarks/meta_refresh.py              # 2,000 pages
    python benchmarks/meta_refresh.py --pages 500

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import time

from crawl import TEMPLATES, template
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from narrative_archive.crawl.middlewares import QuickMetaRefreshMiddleware


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    crawler = get_crawler()
    bodies = [template(i % TEMPLATES) for i in range(min(args.pages, TEMPLATES))]
    request = Request("http://127.0.0.1/article")
    for cls in (MetaRefreshMiddleware, QuickMetaRefreshMiddleware):
        middleware = cls.from_crawler(crawler)
        responses = [HtmlResponse("http://127.0.0.1/article", body=bodies[i % len(bodies)],
                                  headers={"Content-Type": "text/html; charset=utf-8"})
                     for i in range(args.pages)]  # fresh: Scrapy caches on the response
        started = time.process_time()
        for response in responses:
            middleware.process_response(request, response)
        spent = time.process_time() - started
        print(f"{cls.__name__ + ':':30s} {spent / args.pages * 1e3:.3f} ms CPU a page"
              f" ({args.pages} pages, {sum(map(len, bodies)) // len(bodies):,} bytes each)")


if __name__ == "__main__":
    main()
