"""Load and validate config/ (outlets, narratives, schedule) into frozen dataclasses.

A file in the user's config directory replaces the shipped default of the same
name; a file missing there falls back to the default. Every problem is reported
with the file, the entry, the key and the line it came from.
"""

from __future__ import annotations

from pathlib import Path

from narrative_archive import fts
from narrative_archive.config.model import (
    CONFIG_FILES,
    OUTLET_KINDS,
    SPIDERS,
    TASKS,
    Config,
    ConfigError,
    Job,
    Narrative,
    Outlet,
    match_query,
    select_by_id,
)
from narrative_archive.config.narratives import (
    load_narratives,
    media_cloud_ids,
    require_media_cloud,
)
from narrative_archive.config.outlets import load_outlets
from narrative_archive.config.schedule import SettingCheck, load_schedule
from narrative_archive.paths import DEFAULT_CONFIG_DIR

__all__ = ["CONFIG_FILES", "OUTLET_KINDS", "SPIDERS", "TASKS", "Config", "ConfigError", "Job", "Narrative",
           "Outlet", "config_paths", "load_config", "load_narratives", "load_outlets",
           "load_schedule", "match_query", "media_cloud_ids", "require_media_cloud", "select_by_id"]


def config_paths(config_dir: str | Path | None = None) -> dict[str, Path]:
    """Which file is used for each config name: the user's if present, else the default."""
    paths = {}
    for name in CONFIG_FILES:
        user = Path(config_dir) / name if config_dir else None
        paths[name] = user if user is not None and user.exists() else DEFAULT_CONFIG_DIR / name
    return paths


def load_config(config_dir: str | Path | None = None, check_query=fts.check_query,
                check_setting: SettingCheck | None = None) -> Config:
    """Load and validate all three files; raises ConfigError, collects Config.warnings.

    `check_query(query) -> str | None` returns an error message for an invalid
    narrative query (fts.check_query, which asks SQLite's FTS5 itself).
    `check_setting(name, value)` judges the Scrapy settings of jobs: the crawl stage passes
    narrative_archive.crawl.settings_check.check_setting (config itself knows no Scrapy).
    """
    paths = config_paths(config_dir)
    warnings: list[str] = []
    outlets = load_outlets(paths["outlets.yml"])
    narratives = load_narratives(paths["narratives.yml"], check_query)
    jobs = load_schedule(
        paths["schedule.yml"], [o.id for o in outlets], [n.id for n in narratives], warnings,
        check_setting)
    return Config(outlets, narratives, jobs, paths, tuple(warnings))


