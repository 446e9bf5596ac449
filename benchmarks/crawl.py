"""Crawl throughput and memory: the whole crawl against bare trafilatura on the same pages.

Serves N generated news pages (article pages of realistic weight: navigation,
inline scripts, JSON-LD or OpenGraph, related links, the text of the benchmark corpus
(benchmarks/corpus.py): topic-dense news prose, `--coverage` of the pages carrying real
coverage of the narratives, some with the rows of FIELD_NOTES' snippet() bug, whose query
is one more narrative) and a news sitemap listing them from a
local server on 127.0.0.1, crawls them end to end with politeness off
(`narrative-archive crawl sitemaps` in a subprocess: fetch, extract in worker
processes, store, match), then times bare `trafilatura.extract` over the same
pages in this one process. Prints pages/s for both, the ratio, and the peak
memory of the crawl: the crawl process alone (RSS), and its whole process tree
(extraction workers included) as RSS and as PSS (shared pages counted once).

The crawl runs with WARC capture off and on (captures/ beside the archive),
alternating, `--repeat` times each: the slowdown capture costs (target <= 10%)
and the bytes of WARC per page.

    python benchmarks/crawl.py                 # 2,000 pages
    python benchmarks/crawl.py --pages 10000   # the 10k-page memory target
    python benchmarks/crawl.py --repeat 3      # capture off/on three times each
    python benchmarks/crawl.py --no-capture-run   # capture off only: half the time

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from _local import NOT_FOUND, LocalServer, TreeMemory
from corpus import BUG_NARRATIVE, Corpus

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = 97  # distinct page layouts+texts; every page number makes its text unique

WORDS = (
    "government officials said the province security forces district minister report "
    "talks agreement border trade water election parliament court police economy budget "
    "villagers market road school hospital spokesman statement week capital council "
    "delegation meeting region analysts according sources percent million project "
    "humanitarian aid agency refugees drought winter prices wheat fuel electricity "
    "investment railway mining contract ministry commission inquiry protest strike "
).split()


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 28))]
    words[0] = words[0].capitalize()
    return " ".join(words) + f" ({n})."


def template(index: int, corpus: Corpus | None = None) -> bytes:
    """One page layout with its text; '{{N}}' is replaced by the page number when served."""
    rng = random.Random(index)
    corpus = corpus or Corpus()
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + " {{N}}"
    paragraphs = [f"<p>{html.escape(text)} Story {{{{N}}}}.</p>"
                  for text in corpus.paragraphs(index)]
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in WORDS[:40])
    related = "".join(
        f'<li class="card"><div class="card__media"><a href="/article/{rng.randint(0, 10**6)}">'
        f'<img src="/img/{i}.jpg" alt="" loading="lazy"></a></div><div class="card__body">'
        f'<span class="card__kicker">{rng.choice(WORDS)}</span><h4><a href="/article/'
        f'{rng.randint(0, 10**6)}">{" ".join(rng.choice(WORDS) for _ in range(9))}</a></h4>'
        f'<p>{_sentence(rng, i)}</p><time>{rng.randint(1, 59)} min ago</time></div></li>'
        for i in range(40))
    comments = "".join(
        f'<div class="comment"><div class="comment__author"><a href="/user/{i}">reader{i}</a>'
        f'</div><div class="comment__text"><p>{_sentence(rng, i)}</p></div>'
        f'<div class="comment__actions"><button>Reply</button><button>Like</button></div></div>'
        for i in range(rng.randint(5, 30)))
    icons = "".join(f'<svg viewBox="0 0 24 24" class="i{i}"><path d="M{i} 0L24 {i}Z"/></svg>'
                    for i in range(30))
    script = "window.__STATE__=" + json.dumps(
        {"config": {w: [rng.random() for _ in range(8)] for w in WORDS[:60]}}) + ";"
    meta = (
        '<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "datePublished": "2024-05-20T10:00:00Z", "author": {"@type": "Person",
                                                                "name": "Staff Reporter"},
            "publisher": {"@type": "Organization", "name": "Bench News"}}) + "</script>"
        if index % 2 else
        f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">'
        '<meta property="article:published_time" content="2024-05-20T10:00:00Z">'
    )
    css = "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px}}" for i in range(300))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
{meta}<style>{css}</style><script>{script}</script></head><body>
<header><div class="top"><a href="/">Bench News</a><form action="/search"><input name="q"></form></div>
<nav><ul>{nav}</ul></nav></header>
<main><div class="breadcrumbs"><a href="/">Home</a> / <a href="/section/world">World</a></div>
<article><h1>{title}</h1><div class="byline">By Staff Reporter</div>
<div class="article-body">{''.join(paragraphs)}</div>
<div class="share"><a href="https://twitter.com/intent/tweet?u=x">Share</a></div></article>
<section class="comments"><h3>Comments</h3>{comments}</section>
<aside><h3>Related</h3><ul>{related}</ul><div class="ad" data-slot="side">Advertisement</div></aside></main>
<div class="icons">{icons}</div>
<footer><ul>{nav}</ul><ul>{nav}</ul><p>© Bench News. All rights reserved.</p></footer>
<script>{script}</script></body></html>"""
    return page.encode("utf-8")


class Site(LocalServer):
    """A local news outlet of N pages, generated from TEMPLATES layouts."""

    def __init__(self, pages: int, coverage: float = 0.05):
        self.pages = pages
        corpus = Corpus(coverage=coverage)
        self.templates = [template(i, corpus) for i in range(TEMPLATES)]
        self.sitemap = self._sitemap().encode()
        super().__init__()

    def page(self, number: int) -> bytes:
        return self.templates[number % TEMPLATES].replace(b"{{N}}", str(number).encode())

    def _sitemap(self) -> str:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries = "".join(
            f"<url><loc>{{base}}/article/{n}</loc><lastmod>{now}</lastmod></url>"
            for n in range(self.pages))
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>')

    def route(self, path: str, host: str) -> tuple[int, bytes, str]:
        if path == "/sitemap.xml":
            return 200, self.sitemap.replace(b"{base}", self.base.encode()), "text/xml"
        if path.startswith("/article/"):
            return 200, self.page(int(path.rsplit("/", 1)[1])), "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, b"User-agent: *\nDisallow: /search\n", "text/plain"
        return NOT_FOUND


def crawl(site: Site, workdir: Path, extra: list[str], capture: bool = False,
          env: dict[str, str] | None = None) -> dict:
    workdir.mkdir(parents=True)
    config = workdir / "config"
    config.mkdir()
    (config / "outlets.yml").write_text(
        f"- id: bench\n  name: Bench News\n  url: {site.base}/\n  domains: ['127.0.0.1']\n"
        f"  sitemaps: ['{site.base}/sitemap.xml']\n")
    (config / "schedule.yml").write_text("jobs: []\n")
    narratives = yaml.safe_load((REPO / "config" / "narratives.yml").read_text(encoding="utf-8"))
    (config / "narratives.yml").write_text(yaml.safe_dump([*narratives, BUG_NARRATIVE],
                                                          allow_unicode=True), encoding="utf-8")
    db = workdir / "archive.db"
    command = [sys.executable, "-m", "narrative_archive", "crawl", "sitemaps", "--since", "1d",
               "--db", str(db), "--config", str(config), "--no-progress",
               "--capture" if capture else "--no-capture"]
    # The one outlet serves every page: no per-outlet request cap (5,000 by default).
    for setting in ("AUTOTHROTTLE_ENABLED=0", "DOWNLOAD_DELAY=0", "CONCURRENT_REQUESTS=32",
                    "CONCURRENT_REQUESTS_PER_DOMAIN=32", "LOG_LEVEL=WARNING",
                    "NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET=0", *extra):
        command += ["-s", setting]
    env = env or {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with TreeMemory(process.pid, every=0.25) as memory:
        stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    if process.returncode:
        raise SystemExit(f"crawl failed ({process.returncode}):\n{stderr[-3000:]}")
    connection = sqlite3.connect(db)
    stored, first, last = connection.execute(
        "SELECT count(*), min(fetched_at), max(fetched_at) FROM articles").fetchone()
    mentions = connection.execute("SELECT count(*) FROM mentions").fetchone()[0]
    connection.close()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds() \
        if stored else 0.0
    main_cpu = sum(cpu for is_main, cpu in memory.cpu.values() if is_main)
    other_cpu = sum(cpu for is_main, cpu in memory.cpu.values() if not is_main)
    warc = sum(f.stat().st_size for f in (workdir / "captures").glob("*.warc.gz"))
    return {"stored": stored, "mentions": mentions, "wall": wall, "span": span, "warc": warc,
            "main_rss": memory.crawl_rss, "tree_rss": memory.tree_rss,
            "tree_pss": memory.tree_pss, "main_cpu": main_cpu, "worker_cpu": other_cpu}


EMPTY_SPIDER = """import scrapy
class Empty(scrapy.Spider):
    name = "empty"
    start_urls = ["{url}"]
    def parse(self, response):
        return []
"""


def startup(workdir: Path, repeat: int = 3) -> dict[str, float]:
    """Seconds from process start to exit (best of `repeat`): an empty crawl (its outlet's
    sitemap lists nothing) beside `python -c 'import scrapy'` and a bare `scrapy runspider`
    of a one-URL spider, against a local server, with the same settings."""
    # As a user's install runs: compiled modules cached (__pycache__), whatever this
    # environment's PYTHONDONTWRITEBYTECODE says; the first of the runs writes them.
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k != "PYTHONDONTWRITEBYTECODE"}
    with Site(0) as empty:
        runs = {
            "narrative-archive crawl (empty sitemap)": lambda n: crawl(
                empty, workdir / f"empty-{n}", [], env=env)["wall"],
            "python -c 'import scrapy'": lambda n: _timed([sys.executable, "-c", "import scrapy"], env),
            "scrapy runspider (one page)": lambda n: _timed(
                [sys.executable, "-m", "scrapy.cmdline", "runspider", "-s", "LOG_LEVEL=WARNING",
                 "-s", "TELNETCONSOLE_ENABLED=0", _spider(workdir, empty.base + "/robots.txt")], env),
        }
        return {label: min(run(n) for n in range(repeat)) for label, run in runs.items()}


def _spider(workdir: Path, url: str) -> str:
    path = workdir / "empty_spider.py"
    path.write_text(EMPTY_SPIDER.format(url=url))
    return str(path)


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, cwd=tempfile.gettempdir(), env=env)
    return time.monotonic() - started


def bare_trafilatura(site: Site, pages: int) -> tuple[float, float]:
    """Pages per second of wall time, and ms of CPU per page."""
    import trafilatura

    trafilatura.extract(site.page(0).decode())  # imports and first-call set-up, untimed
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(pages):
        trafilatura.extract(site.page(number).decode())
    return pages / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages to crawl (default 2000)")
    parser.add_argument("--baseline-pages", type=int, default=2000,
                        help="pages for the bare trafilatura timing (default: min(2000, --pages))")
    parser.add_argument("-s", dest="settings", action="append", default=[],
                        help="extra Scrapy setting for the crawl, NAME=VALUE")
    parser.add_argument("--coverage", type=float, default=0.05,
                        help="share of pages carrying narrative coverage (default 0.05)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="crawls with capture off and on, alternating, each (default 1)")
    parser.add_argument("--no-capture-run", action="store_true",
                        help="crawl with capture off only (half the time; no capture figures)")
    parser.add_argument("--startup-only", action="store_true",
                        help="only time the start-up of an empty crawl (target <= 1 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, seconds in startup(Path(tmp)).items():
            print(f"start-up to exit, {label + ':':42} {seconds:5.2f} s  (best of 3)")
    if args.startup_only:
        return
    mib = 1024 * 1024
    runs: dict[bool, list[dict]] = {False: [], True: []}
    with Site(args.pages, args.coverage) as site, tempfile.TemporaryDirectory() as tmp:
        sizes = [len(site.page(n)) for n in range(TEMPLATES)]
        print(f"{args.pages} pages, {sum(sizes) / len(sizes) / 1024:.0f} KiB on average, "
              f"{os.cpu_count()} cores")
        for round_ in range(args.repeat):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for capture in (False,) if args.no_capture_run else order:
                runs[capture].append(crawl(site, Path(tmp) / f"{round_}-{capture}",
                                           args.settings, capture))
        result = runs[False][-1]
        baseline_pages = min(args.baseline_pages, args.pages)
        baseline, baseline_cpu = bare_trafilatura(site, baseline_pages)
    crawl_rate = result["stored"] / result["span"] if result["span"] else float("nan")
    wall_rate = result["stored"] / result["wall"]
    print(f"crawl: {result['stored']} articles stored, {result['mentions']} mentions, "
          f"{result['wall']:.1f} s wall (start-up included)")
    print(f"crawl pages/s:            {crawl_rate:7.1f}  (first to last stored article)")
    print(f"crawl pages/s, wall:      {wall_rate:7.1f}  (process start to exit)")
    print(f"bare trafilatura pages/s: {baseline:7.1f}  (one process, {baseline_pages} pages)")
    print(f"ratio:                    {crawl_rate / baseline:7.2f}  "
          f"(wall: {wall_rate / baseline:.2f}; target >= 1.0)")
    per_page = 1000 / max(result["stored"], 1)
    print(f"CPU per page:             {result['main_cpu'] * per_page:7.1f} ms crawl process "
          f"(Scrapy, archive writes), {result['worker_cpu'] * per_page:.1f} ms workers "
          f"(extraction); bare trafilatura {1000 / baseline:.1f} ms")
    # On a shared machine the wall-clock ratio moves with the other load; CPU per page
    # does not (much): the rates a CPU-bound crawl and bare trafilatura would reach here.
    cores = os.cpu_count() or 1
    workers = next((int(v.split("=", 1)[1]) for v in args.settings
                    if v.startswith("NARRATIVE_ARCHIVE_EXTRACT_WORKERS=")), 0) or cores
    main_ms, worker_ms = result["main_cpu"] * per_page, result["worker_cpu"] * per_page
    bound = min(1000 * cores / (main_ms + worker_ms), 1000 / main_ms, 1000 * workers / worker_ms)
    print(f"CPU-bound estimate:       {bound:7.1f} pages/s crawl ({workers} workers, {cores} cores)"
          f" vs {1000 / baseline_cpu:.1f} bare trafilatura: ratio {bound * baseline_cpu / 1000:.2f};"
          f" bare trafilatura {baseline_cpu:.1f} ms CPU/page")
    print(f"peak RSS, crawl process:  {result['main_rss'] / mib:7.0f} MiB")
    print(f"peak RSS, process tree:   {result['tree_rss'] / mib:7.0f} MiB  (workers included;"
          " shared pages counted in each)")
    print(f"peak PSS, process tree:   {result['tree_pss'] / mib:7.0f} MiB  (shared pages once)")

    if args.no_capture_run:
        return

    def rate(run: dict) -> float:
        return run["stored"] / run["span"] if run["span"] else float("nan")

    off = sorted(rate(run) for run in runs[False])
    on = sorted(rate(run) for run in runs[True])
    median_off, median_on = off[len(off) // 2], on[len(on) // 2]
    warc_per_page = sum(r["warc"] for r in runs[True]) / max(sum(r["stored"] for r in runs[True]), 1)
    cpu = {c: 1000 * sum(r["main_cpu"] for r in runs[c]) / max(sum(r["stored"] for r in runs[c]), 1)
           for c in (False, True)}
    print(f"capture off pages/s:      {median_off:7.1f}  (median of {len(off)}: "
          f"{', '.join(f'{x:.1f}' for x in off)})")
    print(f"capture on pages/s:       {median_on:7.1f}  (median of {len(on)}: "
          f"{', '.join(f'{x:.1f}' for x in on)})")
    print(f"capture slowdown:         {100 * (1 - median_on / median_off):7.1f} %  (target <= 10)")
    total = {c: 1000 * sum(r["main_cpu"] + r["worker_cpu"] for r in runs[c])
             / max(sum(r["stored"] for r in runs[c]), 1) for c in (False, True)}
    print(f"crawl process CPU/page:   {cpu[False]:7.1f} ms off, {cpu[True]:.1f} ms on "
          f"(+{100 * (cpu[True] / cpu[False] - 1):.0f} %)")
    print(f"all CPU/page (+workers):  {total[False]:7.1f} ms off, {total[True]:.1f} ms on "
          f"(+{100 * (total[True] / total[False] - 1):.0f} %: the slowdown when CPU-bound)")
    print(f"WARC bytes per page:      {warc_per_page:7.0f}  "
          f"({warc_per_page * 1000 / 1e6:.1f} MB per 1,000 pages)")


if __name__ == "__main__":
    main()
