"""Opening archive.db, transactions and the helpers every table family shares."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from narrative_archive.store.schema import ensure_schema


def open_db(path: str | Path, migrate: bool = True) -> sqlite_utils.Database:
    """Open archive.db with WAL, a busy timeout and foreign keys; migrate it by default."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if migrate:
        ensure_schema(db)
    return db


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


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


COUNTED_TABLES = (
    "outlets", "articles", "article_versions", "narratives", "mentions", "crawl_runs",
    "crawl_errors", "captures",
)


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {table: db[table].count for table in COUNTED_TABLES}
