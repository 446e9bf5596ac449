"""The published instance as the Datasette plugins see it, through Datasette's documented API.

One definition of what every plugin under datasette/plugins/ asks: the name the archive
is published under, where its WARC captures are, and the databases list without the
server's file paths. Each function takes the `datasette` object a plugin hook receives
and uses only `datasette.plugin_config(...)` and `datasette.databases` (Datasette 0.65's
documented internals) and the documented attributes of its Database objects.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from narrative_archive import paths
from narrative_archive.publish.serve import DATABASE_NAME

PLUGIN = "narrative-archive"  # the plugins' key under `plugins:` in metadata.yml
INTERNAL = "_internal"  # Datasette's own catalog database, never published
# What /-/databases.json says of each database: Datasette's own listing, less "path".
PUBLIC_FIELDS = ("name", "route", "size", "is_mutable", "is_memory", "hash")

_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def plugin_config(datasette) -> dict:
    """The plugins' configuration (metadata.yml `plugins: narrative-archive:`), or {}."""
    return datasette.plugin_config(PLUGIN) or {}


def archive_name(datasette) -> str:
    """The database name the archive is published under: config `database`, else "archive".

    Asked for every rendered cell, so read once per Datasette instance (metadata is fixed
    for an instance's life)."""
    name = _names.get(datasette)
    if name is None:
        name = _names[datasette] = plugin_config(datasette).get("database", DATABASE_NAME)
    return name


def captures_dir(datasette) -> Path | None:
    """Where the archive's WARC files are: config `captures_dir`, else env
    NARRATIVE_ARCHIVE_CAPTURES (`serve --captures`), else captures/ beside the archive
    (paths.captures_dir, the rule a crawl writes by); None when the archive has no file."""
    configured = plugin_config(datasette).get("captures_dir") or os.environ.get(
        "NARRATIVE_ARCHIVE_CAPTURES")
    if configured:
        return Path(configured)
    db = datasette.databases.get(archive_name(datasette))
    return paths.captures_dir(db.path) if db is not None and db.path else None


def public_databases(datasette) -> list[dict]:
    """What /-/databases.json says: each published database's PUBLIC_FIELDS, never its path."""
    return [{field: getattr(db, field) for field in PUBLIC_FIELDS}
            for name, db in datasette.databases.items() if name != INTERNAL]
