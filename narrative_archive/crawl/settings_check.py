"""Which Scrapy settings exist and what their values may be: Scrapy's defaults overlaid with
narrative_archive.crawl.settings. schedule.yml's `settings:` are checked against these
(`load_config(..., check_setting=check_setting)`)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def known_settings() -> dict[str, Any]:
    """Scrapy's default settings, overlaid with narrative_archive.crawl.settings: name -> default."""
    from scrapy.settings import default_settings

    from narrative_archive.crawl import settings as project

    known: dict[str, Any] = {}
    for module in (default_settings, project):
        for name in dir(module):
            value = getattr(module, name)
            if name.isupper() and (value is not None or name not in known):
                known[name] = value
    return known


SCRAPY_BOOLS = ("0", "1", "True", "true", "False", "false")  # what Settings.getbool accepts


def setting_problem(value: Any, default: Any) -> str | None:
    """Why `value` cannot stand in for a setting whose default is `default`, or None."""
    if value is None:
        return "expected a value"
    if isinstance(default, bool):
        ok = isinstance(value, bool) or str(value) in SCRAPY_BOOLS
        expected = "true or false"
    elif isinstance(default, (int, float)):
        try:
            ok = not isinstance(value, (bool, dict, list)) and float(value) == float(value)
        except ValueError:
            ok = False
        expected = "a number"
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
        expected = "a mapping"
    elif isinstance(default, list):
        ok = isinstance(value, (list, str))
        expected = "a list"
    elif isinstance(default, str):
        ok = not isinstance(value, (dict, list))
        expected = "a string"
    else:
        return None
    return None if ok else f"expected {expected} (the default is {default!r}), got {value!r}"


def check_setting(name: str, value: Any) -> tuple[str, str] | None:
    """("error" or "warning", why) for a `settings:` entry of schedule.yml, or None when
    Scrapy reads it as meant. A name no one knows is a warning: a spelling mistake, usually."""
    if name not in known_settings():
        return "warning", "not a setting Scrapy or narrative-archive knows; check the spelling"
    problem = setting_problem(value, known_settings()[name])
    return ("error", problem) if problem else None
