"""Faults past the happy ones: the disk filling up during a crawl, a WARC write and an
import. Each stops with a clear error, leaves the archive intact (integrity_check) and
every WARC file whole or cut at a record boundary, and the next run resumes.

A full disk is a small tmpfs mounted for the test (real ENOSPC; skipped where mount is
not allowed) or, for the WARC writer alone, RLIMIT_FSIZE in a subprocess (EFBIG).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from narrative_archive.capture.warc import iter_records
from tests.fixture_server import (
    REPO,
    FixtureServer,
    crawl_command,
    crawl_env,
    query,
    write_config,
)
from tests.test_crawl import direct_outlet

PAGES = 60


@contextlib.contextmanager
def small_disk(size: str):
    """A tmpfs of `size` (e.g. "1400k"); skips the test where mounting is not allowed."""
    path = Path(tempfile.mkdtemp(prefix="narrative-archive-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode:
        path.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
        path.rmdir()


def grow(path: Path, size: str) -> None:
    """Free space: the tmpfs made bigger in place."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


def integrity(db_path: Path) -> str:
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def warc_problems(directory: Path) -> tuple[int, list]:
    """(records, problems) over every WARC file of a captures dir."""
    problems: list = []
    records = sum(1 for path in sorted(directory.glob("*.warc.gz"))
                  for _ in iter_records(path, problems))
    return records, problems


def init(db_path: Path, config: Path) -> None:
    subprocess.run([sys.executable, "-m", "narrative_archive", "init", "--db", str(db_path),
                    "--config", str(config)], check=True, capture_output=True, cwd=REPO)


def crawl(db_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(crawl_command(["feeds"], db_path, config, *args), env=crawl_env(None),
                          cwd=REPO, capture_output=True, text=True, timeout=300)


# --- a WARC write refused (RLIMIT_FSIZE) ---------------------------------------------------

WRITE_UNTIL_REFUSED = textwrap.dedent("""
    import resource, signal, sys
    from narrative_archive.capture.warc import CaptureWriter
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
    writer = CaptureWriter(sys.argv[1], run_id=1)
    written = 0
    try:
        for n in range(1000):
            body = (f"<html><body><p>page {n} " + "x" * 3000 + "</p></body></html>").encode()
            writer.write(f"http://limit.test/{n}", "GET", [], 200, None,
                         [("Content-Type", "text/html")], body + bytes(range(256)) * 8)
            written += 1
    except OSError as error:
        print(written, error.errno)
    writer.close()
""")


def test_a_refused_warc_write_leaves_the_file_ending_at_a_record_boundary(tmp_path):
    captures = tmp_path / "captures"
    result = subprocess.run([sys.executable, "-c", WRITE_UNTIL_REFUSED, str(captures)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    written, error = map(int, result.stdout.split())
    assert error == 27 and written > 0  # EFBIG: the file size limit
    [warc] = captures.glob("*.warc.gz")
    records, problems = warc_problems(captures)
    assert problems == [] and records == 1 + 2 * written  # warcinfo, then whole pairs
    assert warc.stat().st_size <= 60_000


# --- the archive's disk fills up during a crawl ------------------------------------------


@pytest.fixture(scope="module")
def server():
    with FixtureServer(sites=None) as fixture:
        yield fixture


def test_a_crawl_stops_on_a_full_disk_and_the_next_run_resumes(server, tmp_path):
    config = write_config(tmp_path / "config", [direct_outlet(server, PAGES)])
    with small_disk("1400k") as disk:
        db_path = disk / "archive.db"
        init(db_path, config)
        full = crawl(db_path, config)
        assert full.returncode == 1, full.stderr[-3000:]
        assert "the disk is full" in full.stderr and "stopping the crawl" in full.stderr
        assert "the disk is full" in full.stdout  # the summary says why the run failed
        assert integrity(db_path) == "ok"
        stored = query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"]
        assert 0 < stored < PAGES
        records, problems = warc_problems(disk / "captures")
        assert problems == [] and records > 0  # complete, or cut at a record boundary
        [run] = query(db_path, "SELECT status, message FROM crawl_runs")
        assert run["status"] in ("failed", "running")  # 'running' if even closing it failed

        grow(disk, "20m")
        again = crawl(db_path, config)
        assert again.returncode == 0, again.stderr[-3000:]
        assert integrity(db_path) == "ok"
        counts = query(db_path, "SELECT count(*) AS n, count(DISTINCT canonical_url) AS urls"
                                " FROM articles")[0]
        assert counts == {"n": PAGES, "urls": PAGES}  # the rest, once
        runs = query(db_path, "SELECT status, new_articles FROM crawl_runs ORDER BY id")
        assert runs[0]["status"] in ("failed", "abandoned")  # settled, not left running
        assert runs[1] == {"status": "ok", "new_articles": PAGES - stored}
        assert warc_problems(disk / "captures")[1] == []


def test_a_full_captures_disk_stops_the_crawl_with_whole_records(server, tmp_path):
    config = write_config(tmp_path / "config", [direct_outlet(server, PAGES)])
    db_path = tmp_path / "archive.db"
    init(db_path, config)
    with small_disk("48k") as captures:
        full = crawl(db_path, config, "--captures", str(captures))
        assert full.returncode == 1, full.stderr[-3000:]
        assert "the disk is full (a WARC file: [Errno 28] No space left on device)" in full.stderr
        records, problems = warc_problems(captures)
        assert problems == [] and records > 0
        assert not [path for path in captures.iterdir() if path.stat().st_size == 0]
        assert integrity(db_path) == "ok"
        [run] = query(db_path, "SELECT status, message FROM crawl_runs")
        assert run["status"] == "failed" and "the disk is full (a WARC file" in run["message"]

        grow(captures, "20m")
        again = crawl(db_path, config, "--captures", str(captures))
        assert again.returncode == 0, again.stderr[-3000:]
        assert query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"] == PAGES
        assert warc_problems(captures)[1] == []


# --- the disk fills up during an import ---------------------------------------------------


def test_an_import_stops_on_a_full_disk_and_a_second_one_resumes(tmp_path):
    source = tmp_path / "articles.jsonl"
    with source.open("w") as out:
        for n in range(3000):
            out.write(json.dumps({
                "url": f"https://import.example/{n}", "title": f"Council story {n}",
                "text": f"Story {n}: " + "the council met to discuss roads and water " * 30,
            }) + "\n")
    with small_disk("1500k") as disk:
        db_path = disk / "archive.db"
        subprocess.run([sys.executable, "-m", "narrative_archive", "init", "--db", str(db_path)],
                       check=True, capture_output=True, cwd=REPO)  # the shipped config
        command = [sys.executable, "-m", "narrative_archive", "import", "--db", str(db_path),
                   "--batch-size", "200", str(source)]
        full = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
        assert full.returncode == 1
        assert full.stderr.startswith("Error: the disk is full: ") and "Traceback" not in full.stderr
        assert "import again to resume" in full.stderr
        assert integrity(db_path) == "ok"
        kept = query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"]
        assert kept and kept % 200 == 0  # whole batches

        grow(disk, "40m")
        again = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
        assert query(db_path, "SELECT count(*) AS n, count(DISTINCT url) AS urls FROM articles"
                     )[0] == {"n": 3000, "urls": 3000}
        assert integrity(db_path) == "ok"
