"""Outlets: configured ones and the ones found by domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from narrative_archive.store.db import _json, transaction

# --- outlets ---------------------------------------------------------------

OUTLET_COLUMNS = (
    "id", "name", "url", "domains", "country", "language", "kind", "owner",
    "state_affiliated", "feeds", "sitemaps", "notes",
)


def save_outlets(db: sqlite_utils.Database, outlets: Iterable[Any]) -> int:
    """Upsert configured outlets (config.Outlet or mappings); return how many."""
    rows = []
    for outlet in outlets:
        get = outlet.get if isinstance(outlet, Mapping) else lambda k, o=outlet: getattr(o, k, None)
        row = {column: get(column) for column in OUTLET_COLUMNS}
        for column in ("domains", "feeds", "sitemaps"):
            row[column] = _json(row[column] or [])
        if row["state_affiliated"] is not None:
            row["state_affiliated"] = int(bool(row["state_affiliated"]))
        row["configured"] = 1
        rows.append(row)
    with transaction(db):
        db.table("outlets").upsert_all(rows, pk="id")
    return len(rows)


def ensure_outlet_for_domain(db: sqlite_utils.Database, domain: str) -> str:
    """The outlet id for a domain no configured outlet claims, creating its row (kind unknown)."""
    domain = domain.lower().removeprefix("www.")
    outlet_id = domain
    if db["outlets"].count_where("id = ?", [outlet_id]) == 0:
        with transaction(db):
            db.conn.execute(
                "INSERT OR IGNORE INTO outlets (id, name, url, domains, configured)"
                " VALUES (?, ?, ?, ?, 0)",
                [outlet_id, domain, f"https://{domain}/", _json([domain])],
            )
    return outlet_id


def outlet_health(db: sqlite_utils.Database) -> list[dict]:
    """Every configured outlet's row of the outlet_health view."""
    return list(db.query("SELECT * FROM outlet_health ORDER BY outlet"))


def failing_outlets(db: sqlite_utils.Database) -> list[dict]:
    """Outlets with failures since their last successful fetch, the most failures first."""
    return list(db.query(
        "SELECT * FROM outlet_health WHERE consecutive_failures > 0"
        " ORDER BY consecutive_failures DESC, outlet"
    ))
