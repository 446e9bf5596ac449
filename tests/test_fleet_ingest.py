"""The archive host ingests batches exactly once: a half-written batch is never read, a
batch ingested twice changes nothing, an ingest killed mid-batch and restarted loses
nothing and stores nothing twice. Real files, a real archive, a real ingest process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from narrative_archive import store
from narrative_archive.config import load_config
from narrative_archive.fleet import batches
from narrative_archive.fleet.batches import BatchWriter
from narrative_archive.fleet.ingest import ingest_pending
from narrative_archive.fleet.storage import DirStorage
from tests.conftest import wait_for
from tests.fixture_server import REPO, query, write_config

TABLES = ("articles", "article_versions", "mentions", "crawl_runs", "crawl_errors", "captures",
          "fleet_batches")


def line(i: int, job: str = "feeds") -> dict:
    """An article as a node batches it (the import format, plus what a crawl knows)."""
    topic = ("Russia is arming the Taliban with weapons, officials said" if i % 3 == 0
             else f"Cricket board names squad {i} for the summer tour")
    return {"url": f"http://dawn.test/news/{job}/{i}", "canonical_url":
            f"http://dawn.test/news/{job}/{i}", "title": f"Story {i}: {topic[:30]}",
            "text": f"{topic}. " + " ".join(f"word{i}x{k}" for k in range(60)),
            "authors": ["A. Reporter"], "language": "en", "links": [],
            "published_at": "2024-05-20T10:00:00Z", "fetched_at": "2024-05-21T10:00:00Z",
            "outlet_id": "dawn", "via": "feed"}


def write_batches(storage, run_id: int | None, job_key: str, count: int, size: int) -> list[str]:
    writer = BatchWriter(storage, job_key, run_id, "feeds", "crawl-1", "feeds", max_articles=size)
    for i in range(count * size):
        writer.add(line(i, job_key))
        if writer.full:
            writer.publish({"pages": i + 1}, final=(i + 1 == count * size), status="ok",
                           message="done")
    return writer.published


def counts(db_path: Path) -> dict[str, int]:
    return {table: query(db_path, f"SELECT count(*) AS n FROM {table}")[0]["n"]
            for table in TABLES}


@pytest.fixture
def host(tmp_path):
    config = write_config(tmp_path / "config")
    db_path = tmp_path / "archive.db"
    db = store.open_db(db_path)
    run_id = store.start_run(db, "feeds", {}, job="feeds")
    store.update_run(db, run_id, node="crawl-1")
    db.close()
    return {"config": config, "db": db_path, "run": run_id, "captures": tmp_path / "captures",
            "storage": DirStorage(tmp_path / "batches")}


def ingest(host, keep: bool = False):
    db = store.open_db(host["db"])
    try:
        return ingest_pending(db, host["storage"], load_config(host["config"]), host["captures"],
                              keep=keep)
    finally:
        db.close()


def test_a_half_written_batch_is_never_read_and_a_second_ingest_changes_nothing(host):
    storage = host["storage"]
    ids = write_batches(storage, host["run"], "feeds-r1-aa", 2, 4)
    # the node died while publishing its next batch: files, no manifest
    storage.put_bytes("feeds-r1-aa/00003/articles.jsonl",
                      (json.dumps(line(99, "feeds-r1-aa")) + "\n").encode())
    summary = ingest(host, keep=True)
    assert (summary.batches, summary.new, summary.articles) == (2, 8, 8)
    before = counts(host["db"])
    assert before["articles"] == 8 and before["fleet_batches"] == 2
    assert before["mentions"] > 0
    run = query(host["db"], "SELECT * FROM crawl_runs WHERE id = ?", [host["run"]])[0]
    assert (run["status"], run["pages"], run["new_articles"], run["node"]) == (
        "ok", 8, 8, "crawl-1")
    again = ingest(host, keep=True)  # the batches are still there: skipped by the ledger
    assert again.batches == 0 and counts(host["db"]) == before
    db = store.open_db(host["db"])  # and even past the ledger check, its key refuses a copy
    with pytest.raises(Exception, match="UNIQUE"), store.transaction(db):
        store.record_batch(db, ids[0], host["run"], {}, {})
    db.close()
    assert counts(host["db"]) == before
    assert [b for b in batches.published(storage)] == ids


def test_a_batch_whose_files_do_not_match_its_manifest_is_refused(host):
    storage = host["storage"]
    [ident] = write_batches(storage, host["run"], "feeds-r1-bb", 1, 3)
    path = storage.root / ident / batches.ARTICLES
    path.write_text(path.read_text()[:-40])  # torn
    summary = ingest(host)
    assert summary.refused == [ident] and counts(host["db"])["articles"] == 0


def test_kill_the_ingest_mid_batch_and_restart_nothing_lost_nothing_twice(host):
    storage = host["storage"]
    ids = write_batches(storage, host["run"], "feeds-r1-cc", 6, 150)
    command = [sys.executable, "-m", "narrative_archive", "fleet", "ingest", "--follow",
               "--every", "0.2", "--db", str(host["db"]), "--config", str(host["config"]),
               "--batches", str(storage.root), "--captures", str(host["captures"])]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        # the first batch is in: the second is being ingested when the ingest dies
        wait_for(lambda: "ingested" in process.stderr.readline(), what="a first batch")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    done = query(host["db"], "SELECT id FROM fleet_batches")
    assert 1 <= len(done) < len(ids)  # killed before the end
    assert counts(host["db"])["articles"] == 150 * len(done)  # whole batches only
    summary = ingest(host)  # the restart
    assert summary.batches == len(ids) - len(done)
    after = counts(host["db"])
    assert after["articles"] == after["article_versions"] == 900
    assert after["fleet_batches"] == len(ids)
    distinct = query(host["db"], "SELECT count(DISTINCT canonical_url) AS n FROM articles")
    assert distinct == [{"n": 900}]
    run = query(host["db"], "SELECT status, pages, new_articles FROM crawl_runs WHERE id = ?",
                [host["run"]])[0]
    assert run == {"status": "ok", "pages": 900, "new_articles": 900}  # counted once
    assert list(batches.published(storage)) == []


def test_nodes_in_schedule_yml_give_the_scheduler_a_dispatcher_and_an_ingest(tmp_path):
    from narrative_archive.cli.fleet import fleet_service

    config = write_config(tmp_path / "config")
    events: list[str] = []
    assert fleet_service(str(tmp_path / "a.db"), str(config), lambda e, **f: None) == (None, {})
    (config / "schedule.yml").write_text(
        f"nodes: [http://127.0.0.1:9/]\nbatches: {tmp_path / 'batches'}\njobs: []\n")
    runner, companions = fleet_service(str(tmp_path / "a.db"), str(config),
                                       lambda event, **fields: events.append(event))
    assert runner.__self__.fleet.nodes[0].url == "http://127.0.0.1:9"
    assert list(companions) == ["ingest"] and events == ["node"]
