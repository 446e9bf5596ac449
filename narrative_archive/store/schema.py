"""Applying the migrations (store/migrations/) in order: PRAGMA user_version is the
archive's schema version; then the views are made those of views.VIEWS."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlite_utils

from narrative_archive.store.migrations import MIGRATIONS
from narrative_archive.store.views import ensure_views

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Apply the migrations this archive has not had yet, then make its views those of
    views.VIEWS; return the schema version."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    if schema_version(db) < SCHEMA_VERSION:
        # Every pending migration in one transaction: one commit (one sync of the WAL), where
        # a commit each made a new archive's first open take ~0.15 s (the crawl's start-up);
        # one that fails leaves the archive as it was.
        with db.conn:
            db.conn.execute("BEGIN IMMEDIATE")
            # from the version read inside the transaction: another process may have migrated
            for version in range(schema_version(db) + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[version - 1]):
                    db.conn.execute(statement)
                db.conn.execute(f"PRAGMA user_version = {version}")
    ensure_views(db.conn)
    return schema_version(db)


def _statements(script: str) -> Iterable[str]:
    """Split a migration into statements (triggers contain semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def has_column_ending(conn: sqlite3.Connection, suffix: str) -> bool:
    """Whether any table or view of the file has a column whose name ends with suffix
    (case-insensitive): the published archive asks it of "_markdown"."""
    pattern = "%" + suffix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return conn.execute(
        "select 1 from sqlite_master m join pragma_table_info(m.name) p "
        "where m.type in ('table', 'view') and p.name like ? escape '\\' limit 1",
        [pattern]).fetchone() is not None
