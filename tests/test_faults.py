"""Faults past the happy ones: the disk filling up during a crawl, a WARC write and an
import. Each stops with a clear error, leaves the archive intact (integrity_check) and
every WARC file whole or cut at a record boundary, and the next run resumes.

A full disk is a small tmpfs mounted for the test (real ENOSPC; skipped where mount is
not allowed) or, for the WARC writer alone, RLIMIT_FSIZE in a subprocess (EFBIG).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from narrative_archive.capture import iter_records
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


def leave_room(path: Path, kib: int) -> None:
    """The tmpfs resized to what it holds now and `kib` KiB more: a fault that does not
    depend on how big an empty archive is."""
    grow(path, f"{shutil.disk_usage(path).used // 1024 + kib}k")


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
    from narrative_archive.capture import CaptureWriter
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
    with small_disk("4m") as disk:
        db_path = disk / "archive.db"
        init(db_path, config)
        # The crawl's 60 articles and their WARC records need over 1 MiB (WAL and -shm
        # included); 400 KiB more than the empty archive held 2 of them in each try.
        leave_room(disk, 400)
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
    with small_disk("4m") as disk:
        db_path = disk / "archive.db"
        subprocess.run([sys.executable, "-m", "narrative_archive", "init", "--db", str(db_path)],
                       check=True, capture_output=True, cwd=REPO)  # the shipped config
        leave_room(disk, 1000)  # a few batches of 200 past the empty archive, not 3,000
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


def test_a_command_on_a_disk_with_no_room_left_says_so_in_one_line(tmp_path):
    source = tmp_path / "articles.jsonl"
    source.write_text(json.dumps({"url": "https://import.example/1", "title": "Council",
                                  "text": "The council met. " * 40}) + "\n")
    with small_disk("4m") as disk:
        db_path = disk / "archive.db"
        subprocess.run([sys.executable, "-m", "narrative_archive", "init", "--db", str(db_path)],
                       check=True, capture_output=True, cwd=REPO)
        leave_room(disk, 0)
        full = subprocess.run([sys.executable, "-m", "narrative_archive", "import", "--db",
                               str(db_path), str(source)],
                              capture_output=True, text=True, cwd=REPO, timeout=300)
        assert full.returncode == 1
        assert full.stderr.startswith("Error: the disk is full: "), full.stderr
        assert "Traceback" not in full.stderr
        grow(disk, "8m")  # reading needs room for the -shm file too
        assert integrity(db_path) == "ok"


# --- a truncated or corrupted WARC capture --------------------------------------------------


def test_a_damaged_warc_is_reported_by_reextract_and_the_download_and_both_go_on(
        server, tmp_path):
    from click.testing import CliRunner

    from narrative_archive.cli import cli
    from tests.datasette_fixtures import Client, make_datasette

    config = write_config(tmp_path / "config", [direct_outlet(server, 8)])
    db_path = tmp_path / "archive.db"
    result = crawl(db_path, config)  # captures/ beside the archive
    assert result.returncode == 0, result.stderr[-3000:]
    rows = query(db_path, "SELECT id, warc_file, offset, length, url FROM captures"
                          " WHERE article_id IS NOT NULL ORDER BY offset")
    assert len(rows) == 8 and len({row["warc_file"] for row in rows}) == 1
    warc = tmp_path / "captures" / rows[0]["warc_file"]
    corrupt, cut = rows[2], rows[-2]  # one record's bytes garbled; the file cut in another
    with open(warc, "r+b") as fh:
        fh.seek(corrupt["offset"] + corrupt["length"] // 2)
        fh.write(b"\x00garbage\xff" * 8)
        fh.truncate(cut["offset"] + cut["length"] // 2)
    damaged = {corrupt["url"], cut["url"], rows[-1]["url"]}  # the last one is gone entirely

    reextracted = CliRunner().invoke(cli, ["reextract", "--db", str(db_path),
                                           "--config", str(config)], catch_exceptions=False)
    assert reextracted.exit_code == 0, reextracted.output  # it went on
    [run] = query(db_path, "SELECT id, status, pages, errors FROM crawl_runs"
                           " WHERE spider = 'reextract'")
    assert (run["status"], run["pages"], run["errors"]) == ("ok", 5, 3)
    errors = query(db_path, "SELECT url, reason FROM crawl_errors WHERE run_id = ?", [run["id"]])
    assert {error["url"] for error in errors} == damaged
    assert all(error["reason"].startswith("unreadable capture: ") and warc.name in error["reason"]
               for error in errors)

    client = Client(make_datasette(db_path))
    for row in (corrupt, cut, rows[-1]):
        answer = client.get(f"/-/capture/{row['id']}.warc.gz")
        assert answer.status_code == 500 and "cannot be read" in answer.text
    good = client.get(f"/-/capture/{rows[0]['id']}.warc.gz")  # the server goes on
    assert good.status_code == 200 and good.content.startswith(b"\x1f\x8b")


# --- the archive file restored or replaced while Datasette serves it ----------------------


def test_a_backup_restored_in_place_is_served_at_once(tmp_path, monkeypatch):
    import asyncio

    # counts are kept up to a minute after the file changes (performance.md); at once here
    monkeypatch.setenv("NARRATIVE_ARCHIVE_PAGE_STALE", "0")

    from narrative_archive import store
    from tests.datasette_fixtures import build_archive, make_datasette

    live, backup = tmp_path / "archive.db", tmp_path / "backup.db"
    build_archive(live)
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)  # last night's backup
    db = store.open_db(live)
    store.save_article(db, {"url": "https://late.example/after-the-backup", "title": "Late",
                            "text": "Written after the backup was taken. " * 20,
                            "content_hash": "late"}, None, via="feed")
    db.close()
    datasette = make_datasette(live)

    async def count():
        return (await datasette.client.get("/archive/articles.json?_size=1")).json()[
            "filtered_table_rows_count"]

    async def scenario():
        before = await count()  # Datasette has the file open, connections in its threads
        await asyncio.to_thread(store.restore_backup, live, backup)
        return before, await count()

    before, after = asyncio.run(scenario())
    assert after == before - 1  # the restored archive, no restart, no error
    assert integrity(live) == "ok"


def test_a_file_replaced_under_the_server_is_refused_not_served_stale(tmp_path):
    import asyncio

    from tests.datasette_fixtures import build_archive, make_datasette

    live, other = tmp_path / "archive.db", tmp_path / "other.db"
    build_archive(live)
    build_archive(other)
    datasette = make_datasette(live)
    datasette._metadata_local["plugins"]["narrative-archive-admission"] = {"file_check_every": 0}

    async def scenario():
        first = await datasette.client.get("/archive/articles.json?_size=1")
        os.replace(other, live)  # what `mv backup.db archive.db` does
        return first, await datasette.client.get("/archive/articles.json?_size=1")

    first, replaced = asyncio.run(scenario())
    assert first.status_code == 200
    assert replaced.status_code == 503 and "Restart it to serve the new one" in replaced.text


# --- a long import while a crawl runs and Datasette serves --------------------------------


def test_an_import_a_crawl_and_datasette_at_once_never_see_a_locked_database(server, tmp_path):
    import asyncio

    from tests.datasette_fixtures import make_datasette

    config = write_config(tmp_path / "config", [direct_outlet(server, 40, delay=0.05)])
    db_path = tmp_path / "archive.db"
    init(db_path, config)
    source = tmp_path / "articles.jsonl"
    with source.open("w") as out:
        for n in range(4000):
            out.write(json.dumps({
                "url": f"https://import.example/{n}", "title": f"Story {n}",
                "text": f"Story {n}: officials said Russia is supplying weapons to the Taliban"
                        " near Kunduz, which Moscow denied. " * 6,
            }) + "\n")
    importing = subprocess.Popen(
        [sys.executable, "-m", "narrative_archive", "import", "--db", str(db_path), "--config",
         str(config), "--batch-size", "200", str(source)], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    crawling = subprocess.Popen(
        crawl_command(["feeds"], db_path, config, settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "2"}),
        env=crawl_env(None), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    datasette = make_datasette(db_path)

    async def serve_meanwhile() -> list:
        answers = []
        while importing.poll() is None or crawling.poll() is None:
            for path in ("/archive/narratives.json", "/archive/articles.json?_size=3",
                         "/archive/mention_articles.json?_size=3&_search=taliban"):
                response = await datasette.client.get(path)
                answers.append((response.status_code, "locked" in response.text))
            await asyncio.sleep(0.05)
        return answers

    answers = asyncio.run(serve_meanwhile())
    outputs = [process.communicate(timeout=300) for process in (importing, crawling)]
    assert importing.returncode == 0, outputs[0][1][-3000:]
    assert crawling.returncode == 0, outputs[1][1][-3000:]
    assert not any("database is locked" in out + err for out, err in outputs)
    assert query(db_path, "SELECT count(*) AS n FROM crawl_errors WHERE reason LIKE '%locked%'"
                 ) == [{"n": 0}]
    assert answers and set(answers) == {(200, False)}  # every page served meanwhile
    assert query(db_path, "SELECT count(*) AS n FROM articles")[0]["n"] == 4000 + 40
    assert integrity(db_path) == "ok"
