"""crawl.writer.BatchWriter: writes that arrive together share a transaction, a failing one
is rolled back alone, and a result is given only once its transaction is committed."""

from __future__ import annotations

import sqlite3
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
