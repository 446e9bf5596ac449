"""The fleet's figures: pages/s on one Scrapyd node and on two, ingest articles/s, bytes per
article and per WARC page, replication lag under write load, time to a fresh replica.

    .venv/bin/python benchmarks/fleet.py crawl [--outlets 8] [--pages 250]
    .venv/bin/python benchmarks/fleet.py lag [--batches 40] [--size 100]
    .venv/bin/python benchmarks/fleet.py restore [--articles 100000]

crawl: N outlets of P generated pages each (benchmarks/crawl.py's pages, a news sitemap
per outlet, served on 127.0.0.1 and reached through a proxy under distinct host names)
are crawled by a sitemaps job dispatched to one real Scrapyd node, then to two (both on
this machine's two cores), with WARC capture on and batches in a directory; then the
two-node run's batches are ingested into a fresh archive. Wall time is from
schedule.json to the last final batch (Scrapyd's start-up included).

lag: `litestream replicate` to a directory while batches are ingested into the archive,
and a ReplicaFollower (what `serve --replica` runs) keeping a served copy: for each
committed batch, the time until its last article is in the served copy. p50/p95.

restore: `litestream restore` of an N-article archive (benchmarks/datasette.py builds
and caches it) from a directory replica: the time to a fresh read node.

Never a timed assertion in the tests: run it, read it.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _local import NOT_FOUND, LocalServer  # noqa: E402

from narrative_archive import store  # noqa: E402
from narrative_archive.config import Job, load_config  # noqa: E402
from narrative_archive.config.schedule import Fleet, Node  # noqa: E402
from narrative_archive.fleet import batches  # noqa: E402
from narrative_archive.fleet.dispatch import Dispatcher  # noqa: E402
from narrative_archive.fleet.ingest import ingest_pending  # noqa: E402
from narrative_archive.fleet.replica import ReplicaFollower, replicate, restore  # noqa: E402
from narrative_archive.fleet.storage import DirStorage  # noqa: E402


class Outlets(LocalServer):
    """N outlets (bench0.test ...) of P pages each, behind one proxy-aware server."""

    def __init__(self, outlets: int, pages: int):
        from crawl import Site  # benchmarks/crawl.py's page generator

        self.site = Site(1)
        self.outlets, self.pages = outlets, pages
        super().__init__()

    @property
    def url(self) -> str:
        return self.base

    def sitemap(self, host: str) -> bytes:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entries = "".join(f"<url><loc>http://{host}/article/{n}</loc><lastmod>{now}</lastmod>"
                          f"</url>" for n in range(self.pages))
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
                f'schemas/sitemap/0.9">{entries}</urlset>').encode()

    def route(self, path: str, host: str) -> tuple[int, bytes, str]:
        parts = urlsplit(path)  # a proxy request: the whole URL
        host = parts.hostname or host.split(":")[0]
        if parts.path == "/sitemap.xml":
            return 200, self.sitemap(host), "text/xml"
        if parts.path.startswith("/article/"):
            number = int(parts.path.rsplit("/", 1)[1]) + 100_000 * int(host[5:-5])
            return 200, self.site.page(number), "text/html; charset=utf-8"
        if parts.path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", "text/plain"
        return NOT_FOUND

    def config(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "outlets.yml").write_text("".join(
            f"- id: bench{i}\n  name: Bench {i}\n  url: http://bench{i}.test/\n"
            f"  domains: [bench{i}.test]\n  sitemaps: ['http://bench{i}.test/sitemap.xml']\n"
            for i in range(self.outlets)))
        (directory / "schedule.yml").write_text("jobs: []\n")
        # a node reads its whole config from here: nothing falls back inside the egg
        shutil.copyfile(REPO / "config" / "narratives.yml", directory / "narratives.yml")
        return directory


SETTINGS = [("AUTOTHROTTLE_ENABLED", "0"), ("DOWNLOAD_DELAY", "0"),
            ("CONCURRENT_REQUESTS", "32"), ("CONCURRENT_REQUESTS_PER_DOMAIN", "16"),
            ("LOG_LEVEL", "WARNING"), ("NARRATIVE_ARCHIVE_BATCH_ARTICLES", "200"),
            ("NARRATIVE_ARCHIVE_BATCH_SECONDS", "10")]


def run_on(nodes, world: Path, config: Path, label: str) -> dict:
    fleet = Fleet(tuple(Node(n.name, n.url) for n in nodes), str(world / f"batches-{label}"))
    dispatcher = Dispatcher(fleet, settings=SETTINGS, poll=0.5)
    dispatcher.deploy_all(fleet.nodes)
    db_path = world / f"dispatch-{label}.db"
    store.open_db(db_path).close()
    started = time.monotonic()
    outcome = dispatcher.run(Job(id="sitemaps", spider="sitemaps", since="1d", timeout=3600),
                             db_path, config)
    wall = time.monotonic() - started
    storage = DirStorage(fleet.batches)
    pages = articles = 0
    data = warc = 0
    for ident in batches.published(storage):
        manifest = batches.manifest(storage, ident)
        articles += manifest["articles"]
        files = manifest["files"]
        data += files.get(batches.ARTICLES, {}).get("bytes", 0)
        warc += files.get(batches.CAPTURES, {}).get("bytes", 0)
        if manifest["final"]:
            pages += manifest["counters"].get("pages", 0)
    return {"status": outcome.status, "wall": wall, "pages": pages, "articles": articles,
            "jsonl_bytes": data, "warc_bytes": warc, "storage": storage}


def crawl_figures(args) -> None:
    from tests.fleet_nodes import start_nodes

    world = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    with Outlets(args.outlets, args.pages) as outlets:
        config = outlets.config(world / "config")
        # fresh nodes for each run: a node remembers what it fetched and would not fetch
        # it again within NARRATIVE_ARCHIVE_REFETCH_AFTER (fleet.node)
        runs = {}
        for label, count in (("one", 1), ("two", 2)):
            nodes = start_nodes(world / f"nodes-{label}", outlets, config, count=count)
            try:
                runs[label] = run_on(nodes, world, config, label)
            finally:
                for node in nodes:
                    node.stop()
        one, two = runs["one"], runs["two"]
    db_path = world / "archive.db"
    db = store.open_db(db_path, synchronous="NORMAL")
    started = time.monotonic()
    summary = ingest_pending(db, two["storage"], load_config(config), world / "captures",
                             keep=True)
    ingest_seconds = time.monotonic() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = db_path.stat().st_size
    print(f"{args.outlets} outlets x {args.pages} pages, capture on, this machine's 2 cores")
    for label, run in (("one node", one), ("two nodes", two)):
        print(f"  {label}: {run['pages']} pages in {run['wall']:.1f} s = "
              f"{run['pages'] / run['wall']:.1f} pages/s ({run['status']})")
    print(f"  ratio two/one: {(two['pages'] / two['wall']) / (one['pages'] / one['wall']):.2f}")
    print(f"  ingest: {summary.articles} articles in {ingest_seconds:.1f} s = "
          f"{summary.articles / ingest_seconds:.0f} articles/s ({summary.batches} batches)")
    print(f"  batch bytes per article: {two['jsonl_bytes'] / max(1, two['articles']):,.0f} "
          f"(JSON lines) + {two['warc_bytes'] / max(1, two['articles']):,.0f} (WARC, gzip)")
    print(f"  archive bytes per article: {size / max(1, summary.articles):,.0f} "
          f"({size / 1e6:.1f} MB for {summary.articles})")
    shutil.rmtree(world, ignore_errors=True)


def lag_figures(args) -> None:
    from tests.fixture_server import write_config
    from tests.test_fleet_ingest import write_batches

    world = Path(tempfile.mkdtemp(prefix="fleet-lag-"))
    config = write_config(world / "config")
    primary = world / "archive.db"
    db = store.open_db(primary, synchronous="NORMAL")
    run_id = store.start_run(db, "feeds", {}, job="feeds")
    storage = DirStorage(world / "batches")
    write_batches(storage, run_id, "warmup", 1, 10)
    ingest_pending(db, storage, load_config(config), world / "captures")
    replicator = replicate(primary, str(world / "replica"), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    while not (world / "replica" / "ltx").exists():
        time.sleep(0.1)
    follower = ReplicaFollower(str(world / "replica"), world / "served.db", every=0.2)
    follower.start()
    lags: list[float] = []
    pending: list[tuple[int, float]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or pending:
            if pending:
                target, committed = pending[0]
                try:
                    connection = sqlite3.connect(f"file:{world / 'served.db'}?mode=ro", uri=True)
                    seen = connection.execute("SELECT max(id) FROM articles").fetchone()[0] or 0
                    connection.close()
                except sqlite3.Error:
                    seen = 0
                while pending and seen >= pending[0][0]:
                    lags.append(time.monotonic() - pending.pop(0)[1])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    for n in range(args.batches):
        write_batches(storage, run_id, f"load{n:04d}", 1, args.size)

        def committed(_ident: str) -> None:
            top = db.execute("SELECT max(id) FROM articles").fetchone()[0]
            pending.append((top, time.monotonic()))

        ingest_pending(db, storage, load_config(config), world / "captures", on_batch=committed)
    elapsed = time.monotonic() - started
    done.set()
    watcher.join(300)
    follower.close()
    replicator.terminate()
    replicator.wait()
    db.close()
    lags.sort()
    total = args.batches * args.size
    print(f"replication lag over {len(lags)} committed batches of {args.size} articles "
          f"({total / elapsed:.0f} articles/s of write load, directory replica):")
    print(f"  p50 {statistics.median(lags):.2f} s, p95 {lags[int(0.95 * (len(lags) - 1))]:.2f} s,"
          f" max {lags[-1]:.2f} s")
    shutil.rmtree(world, ignore_errors=True)


def restore_figures(args) -> None:
    from datasette import build  # benchmarks/datasette.py

    db_path, meta = build(args.articles)
    world = Path(tempfile.mkdtemp(prefix="fleet-restore-"))
    primary = world / "archive.db"
    shutil.copyfile(db_path, primary)
    started = time.monotonic()
    replicator = replicate(primary, str(world / "replica"), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    while not list((world / "replica").rglob("*.ltx")):
        time.sleep(0.2)
    snapshot = time.monotonic() - started
    replicator.terminate()
    replicator.wait()
    started = time.monotonic()
    process = restore(str(world / "replica"), world / "fresh.db")
    process.wait()
    seconds = time.monotonic() - started
    size = (world / "fresh.db").stat().st_size
    print(f"{args.articles:,} articles, {size / 1e9:.2f} GB: first snapshot uploaded in "
          f"{snapshot:.1f} s; a fresh replica restored in {seconds:.1f} s "
          f"({size / 1e6 / seconds:.0f} MB/s)")
    shutil.rmtree(world, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    crawl = sub.add_parser("crawl")
    crawl.add_argument("--outlets", type=int, default=8)
    crawl.add_argument("--pages", type=int, default=250)
    lag = sub.add_parser("lag")
    lag.add_argument("--batches", type=int, default=40)
    lag.add_argument("--size", type=int, default=100)
    fresh = sub.add_parser("restore")
    fresh.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()
    {"crawl": crawl_figures, "lag": lag_figures, "restore": restore_figures}[args.what](args)


if __name__ == "__main__":
    main()
