"""kill -9 of a crawl, again and again: no corruption, no lost row, no duplicate, no lost
mention.

A local outlet on 127.0.0.1 (tests/fixture_server.py) lists --pages articles in its feed;
every other one says that Russia supplies weapons to the Taliban, so it must get a mention
of the test narrative russia-arming-taliban. Each of --runs rounds starts `narrative-archive
crawl feeds` in its own process group (capture on), waits until a random 1 to --step more
articles are stored, and kills the whole group with SIGKILL (the crawl, its forkserver and
workers, as a machine losing power would, but for the disk). After every kill:

- `PRAGMA integrity_check` is ok;
- no canonical URL is stored twice;
- every stored article that says it has its mention, and nothing else has one;
- every WARC file reads to its end, but for at most the one record being written (reported,
  not fatal: the next run starts a new file);
- every captures row points at a readable record.

A last crawl, not killed, must store the rest: every page once, every mention there. Pages
take --delay seconds to serve, so a kill lands mid-crawl. Exit 1 on any failed check.

    .venv/bin/python benchmarks/kill_crawl.py [--runs 20] [--pages 60] [--step 4]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from narrative_archive.capture import iter_records, read_record  # noqa: E402
from tests.fixture_server import (  # noqa: E402
    FixtureServer,
    crawl_command,
    crawl_env,
    write_config,
)
from tests.test_crawl import direct_outlet  # noqa: E402

NARRATIVE = "russia-arming-taliban"
CLAIM = "Officials said Russia supplies weapons to the Taliban through the northern border."


def outlet(server: FixtureServer, pages: int, delay: float) -> dict:
    """The test suite's direct outlet, every second article carrying the claim."""
    return direct_outlet(server, pages, delay,
                         lambda n: CLAIM if n % 2 == 0 else "Officials said nothing about the border.")


def stored(db_path: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)
        try:
            return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def check(db_path: Path, captures: Path, pages: int | None = None) -> tuple[list[str], dict]:
    """(failed checks, figures) of the archive and its captures as they are now."""
    failed: list[str] = []
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            failed.append(f"integrity_check: {integrity}")
        n, urls = connection.execute(
            "SELECT count(*), count(DISTINCT canonical_url) FROM articles").fetchone()
        if n != urls:
            failed.append(f"{n - urls} duplicate articles")
        if pages is not None and n != pages:
            failed.append(f"{n} articles stored, {pages} expected")
        claims = {row[0] for row in connection.execute(
            "SELECT id FROM articles WHERE text LIKE ?", [f"%{CLAIM}%"])}
        mentioned = {row[0] for row in connection.execute(
            "SELECT article_id FROM mentions WHERE narrative_id = ?", [NARRATIVE])}
        if claims - mentioned:
            failed.append(f"{len(claims - mentioned)} articles without their mention")
        if mentioned - claims:
            failed.append(f"{len(mentioned - claims)} mentions of articles that do not say it")
        rows = connection.execute("SELECT warc_file, offset, length FROM captures").fetchall()
    finally:
        connection.close()
    cut = 0
    for path in sorted(captures.glob("*.warc.gz")):
        problems: list = []
        for _ in iter_records(path, problems, name=path.name):
            pass
        cut += len(problems)
        if len(problems) > 1:
            failed.append(f"{path.name}: {len(problems)} unreadable records")
    for warc_file, offset, length in rows:
        try:
            read_record(captures, warc_file, offset, length)
        except Exception as error:  # noqa: BLE001 (reported as a failed check)
            failed.append(f"captures row {warc_file}@{offset}: {error}")
    return failed, {"articles": n, "mentions": len(mentioned), "captures": len(rows),
                    "cut_records": cut}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--step", type=int, default=4, help="at most this many articles a round")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds to serve a page")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kill-crawl-") as tmp, FixtureServer(sites=None) as server:
        root = Path(tmp)
        config = write_config(root / "config", [outlet(server, args.pages, args.delay)])
        db_path, captures = root / "archive.db", root / "captures"
        settings = {"CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
        command = crawl_command(["feeds"], db_path, config, "--no-progress", "--captures",
                                str(captures), settings=settings)
        print(f"{args.runs} rounds of kill -9, {args.pages} pages, seed {args.seed},"
              f" load average {os.getloadavg()[0]:.1f}")
        print("| round | stored before | killed at | stored after | mentions | captures rows"
              " | WARC records cut | checks |")
        print("|---|---|---|---|---|---|---|---|")
        for round_ in range(1, args.runs + 1):
            before = stored(db_path)
            if before >= args.pages:
                print(f"| {round_} | {before} | (everything stored: no more rounds) | | | | | |")
                break
            target = min(args.pages, before + chance.randint(1, args.step))
            process = subprocess.Popen(command, env=crawl_env(None), cwd=REPO,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            deadline = time.monotonic() + 120
            while stored(db_path) < target and process.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            killed_at = stored(db_path)
            with_pid = process.poll() is None
            if with_pid:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            time.sleep(0.5)  # let the orphaned workers notice (they leave within a second)
            failed, figures = check(db_path, captures)
            failures += bool(failed)
            print(f"| {round_} | {before} | {killed_at if with_pid else 'ended first'}"
                  f" | {figures['articles']} | {figures['mentions']} | {figures['captures']}"
                  f" | {figures['cut_records']} | {'; '.join(failed) or 'ok'} |")
        final = subprocess.run(command, env=crawl_env(None), cwd=REPO, capture_output=True,
                               text=True, timeout=600)
        failed, figures = check(db_path, captures, pages=args.pages)
        if final.returncode:
            failed.append(f"the last crawl exited {final.returncode}")
        failures += bool(failed)
        runs = sqlite3.connect(db_path).execute(
            "SELECT status, count(*) FROM crawl_runs GROUP BY status ORDER BY status").fetchall()
        print(f"| last, not killed | | | {figures['articles']} | {figures['mentions']}"
              f" | {figures['captures']} | {figures['cut_records']} | {'; '.join(failed) or 'ok'} |")
        print("crawl_runs: " + ", ".join(f"{status} {n}" for status, n in runs))
    print(f"{failures} failed checks; load average {os.getloadavg()[0]:.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
