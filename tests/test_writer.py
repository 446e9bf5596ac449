"""crawl.writer.BatchWriter: writes that arrive together share a transaction, a failing one
is rolled back alone, and a result is given only once its transaction is committed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading

import pytest

from narrative_archive import store
from narrative_archive.crawl.writer import BatchWriter, after_commit


@pytest.fixture
def db(tmp_path):
    db = store.open_db(tmp_path / "a.db")
    yield db
    db.close()


def save(db, n: int) -> int:
    article_id, _ = store.save_article(db, {"url": f"https://example.com/{n}", "title": str(n),
                                            "text": f"Text number {n}."}, None)
    return article_id


def test_writes_queued_together_share_one_transaction_and_a_failure_is_alone(db):
    gate = threading.Event()
    writer = BatchWriter(lambda: db, linger=0.2)
    try:
        blocker = writer.submit(gate.wait)  # holds the writer while the others queue up
        futures = [writer.submit(save, db, n) for n in range(5)]

        def fail():
            save(db, 99)
            raise ValueError("this write fails")

        failing = writer.submit(fail)
        futures.append(writer.submit(save, db, 5))
        gate.set()
        assert blocker.result(timeout=30) is True
        ids = [future.result(timeout=30) for future in futures]
        with pytest.raises(ValueError, match="this write fails"):
            failing.result(timeout=30)
    finally:
        writer.shutdown()
    assert len(set(ids)) == 6
    urls = [row[0] for row in db.execute("SELECT url FROM articles ORDER BY id")]
    assert urls == [f"https://example.com/{n}" for n in range(6)]  # 99 was rolled back
    assert writer.writes == 8 and writer.batches <= 2  # the seven queued share one at least


def test_a_write_alone_runs_outside_any_transaction(db):
    writer = BatchWriter(lambda: db)
    try:
        assert writer.submit(lambda: db.conn.in_transaction, batch=False).result(timeout=30) \
            is False
        assert writer.submit(lambda: db.conn.in_transaction).result(timeout=30) is True
    finally:
        writer.shutdown()


def test_what_a_write_counts_counts_only_once_its_transaction_commits(db):
    """A write that fails, or a batch whose commit fails (a full disk), counts nothing."""
    counted: list[str] = []
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (parent INTEGER REFERENCES parent(id)"
               " DEFERRABLE INITIALLY DEFERRED)")

    def write(name: str, fails: bool = False, breaks_commit: bool = False) -> None:
        after_commit(counted.append, name)
        if breaks_commit:  # checked only at COMMIT: the whole batch is refused
            db.execute("INSERT INTO child VALUES (42)")
        if fails:
            raise ValueError(name)

    writer = BatchWriter(lambda: db)
    try:
        writer.submit(write, "ok").result(timeout=30)
        with pytest.raises(ValueError):
            writer.submit(write, "fails", True).result(timeout=30)
        with pytest.raises(sqlite3.IntegrityError):
            writer.submit(write, "commit refused", False, True).result(timeout=30)
        writer.submit(write, "alone", batch=False).result(timeout=30)
    finally:
        writer.shutdown()
    assert counted == ["ok", "alone"]


def searchable(db, word: str) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT a.url FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH ? ORDER BY a.id", [word])]


def index_intact(db) -> bool:
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    return db.execute("SELECT count(*) FROM fts_deferred").fetchone()[0] == 0


def test_a_batch_indexes_its_articles_for_search_before_it_commits(db, tmp_path):
    """The batch's articles are indexed in one statement (store.fts_deferred), not by the
    insert trigger: each is searchable once committed, an article inserted and changed in
    the same batch with its last text, one whose write failed not at all; a reader never
    sees the batch's articles without their index entries."""
    reader = store.open_db(tmp_path / "a.db")
    gate = threading.Event()
    seen_mid_batch: list = []

    def write(url: str, text: str, fails: bool = False) -> int:
        article_id, _ = store.save_article(db, {"url": url, "title": "t", "text": text}, None)
        if fails:
            raise ValueError(url)
        return article_id

    def look():  # a reader while the batch is open: nothing of it yet, in rows or index
        seen_mid_batch.append((reader.execute("SELECT count(*) FROM articles").fetchone()[0],
                               searchable(reader, "kabul")))

    writer = BatchWriter(lambda: db, linger=0.2)
    try:
        writer.submit(write, "https://example.com/old", "Old news from Kabul.").result(timeout=30)
        blocker = writer.submit(gate.wait)
        futures = [writer.submit(write, "https://example.com/a", "First words from Herat."),
                   writer.submit(write, "https://example.com/a", "Then Kabul said more."),
                   writer.submit(write, "https://example.com/b", "Kabul again today."),
                   writer.submit(write, "https://example.com/c", "Kabul failing.", True),
                   writer.submit(look)]
        gate.set()
        blocker.result(timeout=30)
        for future in futures[:3]:
            future.result(timeout=30)
        with pytest.raises(ValueError):
            futures[3].result(timeout=30)
        futures[4].result(timeout=30)
    finally:
        writer.shutdown()
    assert writer.batches <= 3
    assert seen_mid_batch == [(1, ["https://example.com/old"])]
    assert searchable(reader, "kabul") == ["https://example.com/old", "https://example.com/a",
                                           "https://example.com/b"]
    assert searchable(reader, "herat") == []  # the text it had before, in the same batch
    assert index_intact(reader)
    # Outside the crawl writer the triggers index as before: an update, a delete, an insert.
    store.save_article(db, {"url": "https://example.com/b", "title": "t",
                            "text": "Herat now."}, None)
    db.execute("DELETE FROM articles WHERE url = 'https://example.com/old'")
    store.save_article(db, {"url": "https://example.com/d", "title": "t", "text": "Kabul."}, None)
    assert searchable(reader, "kabul") == ["https://example.com/a", "https://example.com/d"]
    assert searchable(reader, "herat") == ["https://example.com/b"]
    assert index_intact(reader)
    reader.close()


CRASH = """
import os, signal, sys
from narrative_archive import store
from narrative_archive.crawl.writer import BatchWriter
db = store.open_db(sys.argv[1])
def save(n):
    store.save_article(db, {"url": f"https://example.com/{n}", "title": "t",
                            "text": f"Kabul report {n}."}, None)
writer = BatchWriter(lambda: db)
for n in range(3):
    writer.submit(save, n).result()
def die():
    save(99)
    os.kill(os.getpid(), signal.SIGKILL)
writer.submit(die).result()
"""


def test_a_crash_mid_batch_loses_nothing_committed_and_leaves_the_index_whole(tmp_path):
    """kill -9 while a batch is open (its articles inserted, not yet indexed): the committed
    articles are there and searchable, the open batch's are not there at all, and the
    next writer indexes as usual."""
    path = tmp_path / "a.db"
    store.open_db(path).close()
    done = subprocess.run([sys.executable, "-c", CRASH, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    db = store.open_db(path)
    assert searchable(db, "kabul") == [f"https://example.com/{n}" for n in range(3)]
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    assert index_intact(db)
    store.save_article(db, {"url": "https://example.com/4", "title": "t", "text": "Kabul."}, None)
    assert len(searchable(db, "kabul")) == 4
    db.close()
