"""Backfill from web archives: listing cursors and the captures they listed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from narrative_archive.store.db import _json
from narrative_archive.times import now

# --- backfill: cursors and captures listed by web archives ---------------------


def backfill_cursor(db: sqlite_utils.Database, source: str, domain: str,
                    key: str) -> tuple[str | None, bool]:
    """Where listing (source, domain, key) stopped: (resume key or None, whether it is done)."""
    row = db.execute(
        "SELECT resume_key, done FROM backfill_cursors WHERE source = ? AND domain = ? AND key = ?",
        [source, domain, key]).fetchone()
    return (row[0], bool(row[1])) if row else (None, False)


def save_backfill_listing(db: sqlite_utils.Database, source: str, domain: str, key: str,
                          captures: Iterable[Mapping[str, Any]], resume_key: str | None,
                          done: bool) -> list[dict]:
    """Remember one listed page of captures and where the listing goes on, in one transaction.

    Each capture is a mapping with capture (its id within the source), url,
    captured_at, outlet_id and fetch (how to get it). Returns the captures still
    to fetch: listed before or now, still pending, whose URL is not stored yet.
    """
    at = now()
    rows = list(captures)
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT OR IGNORE INTO backfill_captures (source, capture, url, captured_at,"
            " outlet_id, fetch, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
            [(source, c["capture"], c["url"], c["captured_at"], c.get("outlet_id"),
              _json(c.get("fetch") or {}), at) for c in rows])
        db.conn.execute(
            "INSERT INTO backfill_cursors (source, domain, key, resume_key, done, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source, domain, key) DO UPDATE SET"
            " resume_key = excluded.resume_key, done = excluded.done,"
            " updated_at = excluded.updated_at",
            [source, domain, key, resume_key, int(done), at])
    return pending_captures(db, source, [c["capture"] for c in rows])


def pending_captures(db: sqlite_utils.Database, source: str,
                     captures: Iterable[str] | None = None) -> list[dict]:
    """Captures listed but not fetched yet (all of the source's, or these), whose URL no
    stored article has (nor a search-like result that matched nothing); in listed order."""
    sql = ("SELECT c.capture, c.url, c.captured_at, c.outlet_id, c.fetch FROM backfill_captures c"
           " WHERE c.source = ? AND c.state = 'pending'"
           " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.url = c.url)"
           " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.canonical_url = c.url)"
           " AND NOT EXISTS (SELECT 1 FROM unmatched_urls u WHERE u.url = c.url)")
    params: list[Any] = [source]
    found: list[dict] = []
    chunks: list[list[str] | None]
    if captures is None:
        chunks = [None]
    else:
        captures = list(captures)
        chunks = [captures[i:i + 400] for i in range(0, len(captures), 400)]
    for chunk in chunks:
        extra = ""
        if chunk is not None:
            if not chunk:
                continue
            extra = f" AND c.capture IN ({', '.join('?' * len(chunk))})"
        for capture, url, captured_at, outlet_id, fetch in db.execute(
                sql + extra + " ORDER BY c.rowid", [*params, *(chunk or [])]):
            found.append({"capture": capture, "url": url, "captured_at": captured_at,
                          "outlet_id": outlet_id, "fetch": json.loads(fetch or "{}")})
    return found


def finish_capture(db: sqlite_utils.Database, source: str, capture: str, state: str,
                   reason: str | None = None) -> None:
    """Mark a listed capture as done with: 'skipped' (with why) or 'failed' (with why)."""
    with db.conn:
        db.conn.execute(
            "UPDATE backfill_captures SET state = ?, reason = ?, updated_at = ?"
            " WHERE source = ? AND capture = ?", [state, reason, now(), source, capture])
