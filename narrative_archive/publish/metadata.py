"""Datasette's metadata, small where Datasette copies it.

Datasette 0.65 deep-copies every metadata source on each table permission check
(`_table_permission_allows`: three on an article page, two on a table page), whatever
the check needs: with our metadata.yml that was 1.2-1.5 ms a check, most of it the
tables' column descriptions and the canned queries. At startup the perf plugin takes
each database's `tables` and `queries` out of the metadata Datasette loaded (`relocate`)
and serves them back through the `get_metadata` hook (`served`) for the lookups that
read them: the whole metadata, `databases` (table metadata, the row, table and database
pages), `queries` (canned queries). The permission checks and facets ask for `tables`
and get only what they read there: each table's `allow` and `facet_size`. Every lookup
returns what it returned before; metadata.yml is unchanged.
"""

from __future__ import annotations

RELOCATED = ("tables", "queries")  # per database, out of the metadata Datasette copies
TABLE_CHECKS = ("allow", "facet_size")  # what lookups of the "tables" key read


class Relocated:
    """Each database's tables and queries, taken out of a metadata dict."""

    def __init__(self, parts: dict[str, dict]):
        self.parts = parts  # {database: {"tables": ..., "queries": ...}}
        self.checks = {  # {database: {"tables": {table: {allow, facet_size}}}}
            name: {"tables": checks} for name, part in parts.items()
            if (checks := {table: {key: config[key] for key in TABLE_CHECKS if key in config}
                           for table, config in (part.get("tables") or {}).items()
                           if isinstance(config, dict)
                           and any(key in config for key in TABLE_CHECKS)})}

    def served(self, key: str | None, database: str | None) -> dict:
        """What the get_metadata hook returns for this lookup (fresh outer dicts: Datasette
        merges the metadata file's keys into them in place)."""
        if key is None or key == "databases":
            return {"databases": {name: dict(part) for name, part in self.parts.items()}}
        if key == "queries":
            return {"databases": {name: {"queries": part["queries"]}
                                  for name, part in self.parts.items()
                                  if "queries" in part and database in (None, name)}}
        if key == "tables" and self.checks:
            return {"databases": {name: {"tables": dict(checks["tables"])}
                                  for name, checks in self.checks.items()}}
        return {}


def relocate(local: dict) -> Relocated:
    """Take each database's tables and queries out of `local` (Datasette's loaded metadata,
    changed in place) and return them."""
    parts: dict[str, dict] = {}
    for name, database in ((local or {}).get("databases") or {}).items():
        if isinstance(database, dict):
            part = {key: database.pop(key) for key in RELOCATED if key in database}
            if part:
                parts[name] = part
    return Relocated(parts)
