"""The dashboard's configuration: datasette/dashboards.yml, out of Datasette's metadata.

Datasette 0.65 deep-copies its whole metadata on every table permission check (three on
an article page, two on a table page) and walks it on every metadata lookup, so the
dashboard's charts (a fifth of the old metadata.yml, and more than half of the copying
time: many small dicts) live in their own file. The narratives plugin reads it once,
again only when the file changes (its size and modification time), gives each chart
coloured by narrative the narratives' colours, and hands the result to
datasette-dashboards as its plugin configuration (the `get_metadata` hook, for the
`plugins` key only: the permission checks never see it).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

from narrative_archive.publish import charts
from narrative_archive.publish.cache import path_stamp

DASHBOARDS_FILE = "dashboards.yml"  # in the Datasette directory, beside metadata.yml


class ConfigFile:
    """A YAML file's content, read again only when its stamp changes ({} without a file)."""

    def __init__(self, path: str | Path, check_every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self.stamp: tuple[int, int] | None = None
        self.value: dict = {}
        self.reads = 0  # how many times the file was read (for tests)
        # Datasette looks the plugins' configuration up hundreds of times a table page (a
        # plugin's render_cell asks for its own for each cell): stat the file at most once
        # every check_every seconds
        self.check_every, self.clock = check_every, clock
        self.checked: float | None = None

    def get(self) -> tuple[tuple[int, int] | None, dict]:
        """(the file's stamp, its content)."""
        if self.checked is not None and self.clock() - self.checked < self.check_every:
            return self.stamp, self.value
        self.checked = self.clock()
        now = path_stamp(self.path)
        if now != self.stamp or self.reads == 0:
            self.value = load(self.path) if now is not None else {}
            self.stamp = now
            self.reads += 1
        return self.stamp, self.value


def load(path: str | Path) -> dict:
    """The dashboards in a YAML file, {} when it holds none."""
    import yaml

    value = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def colour_scales(dashboards: dict, titles: list[str]) -> dict:
    """For each chart coloured by narrative without a scale of its own: the narratives'
    colours as its scale (titles in id order, charts.NARRATIVE_COLOURS), as a dashboards
    dict holding only those scales ({} when there is none to give)."""
    injected: dict = {}
    if not titles:
        return injected
    scale = {"domain": list(titles),
             "range": [charts.narrative_colour(i) for i in range(len(titles))]}
    for slug, dashboard in dashboards.items():
        for name, chart in ((dashboard or {}).get("charts") or {}).items():
            color = (((chart or {}).get("display") or {}).get("encoding") or {}).get("color") or {}
            if color.get("field") != "narrative" or "scale" in color:
                continue
            injected.setdefault(slug, {"charts": {}})["charts"][name] = {
                "display": {"encoding": {"color": {"scale": copy.deepcopy(scale)}}}}
    return injected


def merged(base: dict, extra: dict) -> dict:
    """A copy of base with extra's values over it, dict by dict."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_colours(dashboards: dict, titles: list[str]) -> dict:
    """The dashboards with each chart coloured by narrative given the narratives' colours."""
    return merged(dashboards, colour_scales(dashboards, titles))
