"""The archive's tables, indexes and triggers as migrations: plain SQL text, one entry per
schema version, in modules by era (each names the version its first entry migrates to).

Entry N migrates the archive from version N-1 to N (PRAGMA user_version); schema.py
applies them. Never edit a released entry: append a new one (to the last module, or a
new module added below). Views are not migrations: they live in views.VIEWS.
"""

from __future__ import annotations

from narrative_archive.store.migrations import (
    v01_collection,
    v13_analysis,
    v16_publication,
    v26_history,
    v27_stories,
    v28_layer,
    v30_index,
)

MODULES = (v01_collection, v13_analysis, v16_publication, v26_history, v27_stories, v28_layer,
           v30_index)

MIGRATIONS: list[str] = []
for _module in MODULES:
    if _module.FIRST != len(MIGRATIONS) + 1:
        raise ImportError(f"{_module.__name__} starts at migration {_module.FIRST},"
                          f" expected {len(MIGRATIONS) + 1}")
    MIGRATIONS += _module.MIGRATIONS
