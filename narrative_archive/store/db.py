"""Opening archive.db, transactions and the helpers every table family shares."""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from narrative_archive.store.schema import ensure_schema


def open_db(path: str | Path, migrate: bool = True,
            synchronous: str | None = None) -> sqlite_utils.Database:
    """Open archive.db with WAL, a busy timeout and foreign keys; migrate it by default.
    `synchronous` sets PRAGMA synchronous (NORMAL, FULL) for this connection."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if synchronous is not None:
        set_synchronous(db, synchronous)
    if migrate:
        ensure_schema(db)
    return db


# A write the disk refused: no space, a file over its size limit (RLIMIT_FSIZE), a quota.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def file_path(db: sqlite_utils.Database) -> str | None:
    """The path of the archive's file, or None for an in-memory database."""
    for _, name, path in db.conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or None
    return None


_reader: tuple[str, sqlite3.Connection] | None = None


def reader(path: str) -> sqlite3.Connection:
    """This process's own read-only connection to the archive at `path` (a worker process
    reading its share of a rematch; one kept, for the last path asked)."""
    global _reader
    if _reader is None or _reader[0] != path:
        if _reader is not None:
            _reader[1].close()
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        _reader = (path, conn)
    return _reader[1]


def disk_full(error: BaseException | None) -> bool:
    """Whether `error` means the archive (or a file beside it) cannot be written any more:
    SQLite's "database or disk is full" or "disk I/O error", or an OSError of a full disk.
    Every later write would fail the same way: stop, keep what is stored, say so."""
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return "database or disk is full" in message or "disk i/o error" in message
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    return False


def restore_backup(db_path: str | Path, backup_path: str | Path) -> None:
    """Make the archive at `db_path` a copy of the backup at `backup_path`, in place, through
    SQLite's backup API: one write transaction, so a crawl waits for it and Datasette
    serves the old archive until it commits, then the restored one, with no restart.

    Never copy or move a file over a live archive instead: the processes that have it
    open keep reading the old file, and its -wal file, left beside the new one, corrupts
    it when the next connection opens it.
    """
    source = sqlite3.connect(f"file:{Path(backup_path).absolute()}?mode=ro", uri=True)
    target = sqlite3.connect(str(db_path), timeout=30)
    try:
        target.execute("PRAGMA busy_timeout = 30000")
        source.backup(target)
    finally:
        source.close()
        target.close()


def set_synchronous(db: sqlite_utils.Database, mode: str) -> None:
    """PRAGMA synchronous for this connection: OFF, NORMAL, FULL or EXTRA."""
    if mode.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"PRAGMA synchronous: unknown mode {mode!r}")
    db.execute(f"PRAGMA synchronous = {mode.upper()}")


def file_schema_version(path: str | Path) -> int:
    """The schema version of the archive at `path`, opened read-only (nothing is created
    or migrated); sqlite3.DatabaseError if it is not a SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE), committed on exit, rolled back on error.

    Re-entrant: inside an open transaction it joins it, so several writes (an
    article and its mentions) can be made to commit together or not at all.
    """
    conn = db.conn
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def savepoint(db: sqlite_utils.Database, name: str = "write") -> Iterator[sqlite3.Connection]:
    """A savepoint inside the open transaction: what runs in it is rolled back alone (and
    the error raised again) when it fails; the transaction goes on."""
    conn = db.conn
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


@contextmanager
def batches(db: sqlite_utils.Database) -> Iterator[Callable[[], None]]:
    """Write transactions in batches: yields `next_batch()`, which commits the open one
    and begins the next; the last is committed on exit, rolled back on error."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")

    def next_batch() -> None:
        conn.commit()
        conn.execute("BEGIN IMMEDIATE")

    try:
        yield next_batch
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


COUNTED_TABLES = (
    "outlets", "articles", "article_versions", "narratives", "mentions", "crawl_runs",
    "crawl_errors", "captures",
)


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {table: db[table].count for table in COUNTED_TABLES}
