"""A long import holding the writer while crawls run and Datasette serves the archive.

Builds an archive of --base articles (benchmarks/datasette.py's generated text, imported),
serves it with `narrative-archive serve`, then imports --articles more from a JSON lines
file while, at the same time:

- crawls (`narrative-archive crawl sitemaps`) of a local 127.0.0.1 site run one after
  another, each fetching --pages new pages, until the import is done;
- a reader requests cheap pages (/archive/narratives.json, a search, a row) in a loop;
- a probe asks for the write lock (BEGIN IMMEDIATE, busy timeout 10 minutes) every half
  second and times how long it waits: the longest wait is the longest any writer held
  the archive.

Prints the import's time, each crawl's exit and errors, "database is locked" seen
anywhere (crawl output, crawl_errors, Datasette answers), the reader's p50/p95/max and the
probe's longest wait.

    .venv/bin/python benchmarks/busy_writer.py [--base 100000] [--articles 50000] [--pages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _sibling(name: str):
    """benchmarks/<name>.py as a module (benchmarks/datasette.py would shadow the library)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


bench = _sibling("datasette")
crawl_bench = _sibling("crawl")
LOCKED = "database is locked"
CHEAP = ["/archive/narratives.json", "/archive/outlets.json?_size=5",
         "/archive/articles.json?_search=taliban&_size=5&_nocount=1&_nofacet=1"]


class LockProbe(threading.Thread):
    """Asks for the write lock every half second; records how long each wait took."""

    def __init__(self, db_path: Path):
        super().__init__(daemon=True)
        self.db_path, self.waits = db_path, []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=600, isolation_level=None)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                self.waits.append(time.perf_counter() - started)
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError as error:
                self.waits.append(float("inf") if LOCKED in str(error) else 0.0)
            self.stop.wait(0.5)
        conn.close()


async def read_pages(base: str, done: threading.Event) -> dict:
    latencies, errors, locked = [], 0, 0
    async with httpx.AsyncClient(timeout=120) as http:
        count = 0
        while not done.is_set():
            path = CHEAP[count % len(CHEAP)]
            count += 1
            started = time.perf_counter()
            try:
                response = await http.get(base + path)
                errors += response.status_code != 200
                locked += LOCKED in response.text
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
    latencies.sort()
    return {"requests": len(latencies), "errors": errors, "locked": locked,
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
            "max_ms": round(1000 * latencies[-1], 1)}


def crawl_loop(site, db_path: Path, workdir: Path, done: threading.Event, pages: int,
               results: list) -> None:
    """Crawls one after another (each a fresh slice of the site) until `done`."""
    config = workdir / "config"
    config.mkdir(parents=True)
    (config / "outlets.yml").write_text(
        f"- id: bench\n  name: Bench News\n  url: {site.base}/\n  domains: ['127.0.0.1']\n"
        f"  sitemaps: ['{site.base}/sitemap.xml']\n")
    (config / "schedule.yml").write_text("jobs: []\n")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    while not done.is_set():
        command = [sys.executable, "-m", "narrative_archive", "crawl", "sitemaps", "--since", "1d",
                   "--db", str(db_path), "--config", str(config), "--no-progress",
                   "--no-capture", "--limit", str(pages)]
        for setting in ("AUTOTHROTTLE_ENABLED=0", "DOWNLOAD_DELAY=0", "LOG_LEVEL=WARNING",
                        "CONCURRENT_REQUESTS_PER_DOMAIN=8"):
            command += ["-s", setting]
        started = time.monotonic()
        process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        results.append({"exit": process.returncode, "seconds": time.monotonic() - started,
                        "locked": (process.stdout + process.stderr).count(LOCKED)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    base_path, meta = bench.build(args.base)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "archive.db"
        shutil.copy(base_path, db_path)
        source = tmp / "more.jsonl"
        bench.generate(source, args.articles, seed=99)
        with open(source, encoding="utf-8") as lines, open(tmp / "fresh.jsonl", "w") as out:
            for line in lines:  # other URLs than the base archive's
                record = json.loads(line)
                record["url"] = record["url"].replace("https://", "https://more.")
                out.write(json.dumps(record) + "\n")
        port = bench.free_port()
        server = bench.start_server("serve", db_path, port, tmp / "serve.log")
        done, crawls = threading.Event(), []
        probe = LockProbe(db_path)
        with crawl_bench.Site(args.pages * 50) as site:
            crawler = threading.Thread(target=crawl_loop, args=(
                site, db_path, tmp / "crawl", done, args.pages, crawls), daemon=True)
            probe.start()
            crawler.start()
            reader_result: dict = {}
            reader = threading.Thread(target=lambda: reader_result.update(asyncio.run(
                read_pages(f"http://127.0.0.1:{port}", done))), daemon=True)
            reader.start()
            started = time.monotonic()
            imported = subprocess.run(
                [str(bench.BIN / "narrative-archive"), "import", "--db", str(db_path),
                 "--no-progress", str(tmp / "fresh.jsonl")], capture_output=True, text=True)
            import_seconds = time.monotonic() - started
            done.set()
            crawler.join()
            reader.join()
            probe.stop.set()
            probe.join()
        bench.stop_server(server)
        connection = sqlite3.connect(db_path)
        crawl_errors = connection.execute("SELECT count(*) FROM crawl_errors WHERE reason LIKE ?",
                                          [f"%{LOCKED}%"]).fetchone()[0]
        connection.close()
    print(f"archive: {meta['articles']:,} articles; importing {args.articles:,} more;"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print(f"import: exit {imported.returncode} in {import_seconds:.0f} s,"
          f" '{LOCKED}' {(imported.stdout + imported.stderr).count(LOCKED)} times")
    print(f"crawls meanwhile: {len(crawls)} (exits {sorted({c['exit'] for c in crawls})}),"
          f" '{LOCKED}' in their output {sum(c['locked'] for c in crawls)} times,"
          f" in crawl_errors {crawl_errors} times; slowest {max(c['seconds'] for c in crawls):.0f} s")
    print(f"Datasette meanwhile: {reader_result}")
    finite = [wait for wait in probe.waits if wait != float("inf")]
    print(f"write-lock probe: {len(probe.waits)} tries, longest wait {max(finite):.1f} s,"
          f" p95 {sorted(finite)[int(0.95 * (len(finite) - 1))]:.2f} s,"
          f" timed out {len(probe.waits) - len(finite)}")


if __name__ == "__main__":
    main()
