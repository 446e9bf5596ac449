"""The fleet's bookkeeping: which batches were ingested (the ledger), and node runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from narrative_archive.store.db import transaction
from narrative_archive.store.runs import RUN_COUNTERS
from narrative_archive.times import now

BATCH_COUNTS = ("articles", "new_articles", "updated_articles", "unchanged_articles", "errors",
                "bytes")


def batch_ingested(db: sqlite_utils.Database, batch_id: str) -> bool:
    return db.execute("SELECT 1 FROM fleet_batches WHERE id = ?", [batch_id]).fetchone() is not None


def ingested_batch_ids(db: sqlite_utils.Database, prefix: str = "") -> set[str]:
    """The ids of the batches already ingested (those starting with `prefix`)."""
    return {row[0] for row in db.execute(
        "SELECT id FROM fleet_batches WHERE substr(id, 1, ?) = ?", [len(prefix), prefix])}


def run_of_job_key(db: sqlite_utils.Database, job_key: str) -> int | None:
    """The run an earlier batch of this node job was ingested into."""
    row = db.execute("SELECT run_id FROM fleet_batches WHERE job_key = ? AND run_id IS NOT NULL"
                     " LIMIT 1", [job_key]).fetchone()
    return row[0] if row else None


def final_batch_ingested(db: sqlite_utils.Database, job_key: str) -> bool:
    """Whether the final batch of this node job is in the ledger (ingested, maybe deleted)."""
    return db.execute("SELECT 1 FROM fleet_batches WHERE job_key = ? AND final = 1",
                      [job_key]).fetchone() is not None


def record_batch(db: sqlite_utils.Database, batch_id: str, run_id: int | None,
                 manifest: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    """The ledger row of an ingested batch (call inside the batch's transaction: a second
    ingest of the same id fails on the primary key and rolls the whole batch back)."""
    db.conn.execute(
        f"INSERT INTO fleet_batches (id, run_id, node, job_key, seq, final, created_at,"
        f" ingested_at, {', '.join(BATCH_COUNTS)}) VALUES"
        f" (?, ?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(BATCH_COUNTS))})",
        [batch_id, run_id, manifest.get("node"), manifest.get("job_key"), manifest.get("seq"),
         int(bool(manifest.get("final"))), manifest.get("created_at"), now(),
         *(int(counts.get(name, 0)) for name in BATCH_COUNTS)])


def add_to_run(db: sqlite_utils.Database, run_id: int, **deltas: int) -> None:
    """Add to a run's counters (a node's run grows batch by batch)."""
    unknown = set(deltas) - set(RUN_COUNTERS)
    if unknown:
        raise ValueError(f"unknown crawl_runs counters: {sorted(unknown)}")
    if deltas:
        with transaction(db):
            db.conn.execute(
                f"UPDATE crawl_runs SET {', '.join(f'{k} = {k} + ?' for k in deltas)}"
                " WHERE id = ?", [*deltas.values(), run_id])


def close_node_run(db: sqlite_utils.Database, run_id: int, status: str, message: str | None,
                   finished_at: str | None = None) -> None:
    """A node run's final batch closes it, unless the dispatcher settled it meanwhile
    (a run it abandoned, whose node came back, is closed by its own verdict)."""
    with transaction(db):
        db.conn.execute(
            "UPDATE crawl_runs SET status = ?, message = ?, finished_at = ?"
            " WHERE id = ? AND status IN ('running', 'abandoned')",
            [status, message, finished_at or now(), run_id])


def node_runs(db: sqlite_utils.Database) -> dict[str, dict]:
    """Each node's latest run, and how many runs it has running: {node: {...}}."""
    rows = db.query(
        "SELECT node, id AS last_run, status AS last_status, started_at AS last_started_at,"
        " (SELECT count(*) FROM crawl_runs r WHERE r.node = c.node AND r.status = 'running')"
        " AS running FROM crawl_runs c WHERE id IN"
        " (SELECT max(id) FROM crawl_runs WHERE node IS NOT NULL GROUP BY node)")
    return {row.pop("node"): row for row in rows}


def batch_totals(db: sqlite_utils.Database) -> dict[str, Any]:
    """Batches ingested, their articles and bytes, and the last ingest time."""
    row = db.execute("SELECT count(*), coalesce(sum(articles), 0), coalesce(sum(bytes), 0),"
                     " max(ingested_at) FROM fleet_batches").fetchone()
    return {"batches": row[0], "articles": row[1], "bytes": row[2], "last_ingested_at": row[3]}


def copy_database(source: str | Path, target: str | Path) -> None:
    """`target` becomes a copy of `source` (opened read-only) in one write transaction,
    through SQLite's backup API; it stays in WAL mode (a read replica's served copy)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        src.backup(dst)
        if dst.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            dst.execute("PRAGMA journal_mode = WAL")
    finally:
        src.close()
        dst.close()
