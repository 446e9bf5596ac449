"""The config as frozen dataclasses: outlets, narratives, jobs, and ConfigError."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILES = ("outlets.yml", "narratives.yml", "schedule.yml")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
OUTLET_KINDS = (
    "state", "public", "commercial", "independent", "wire", "government", "think-tank", "blog",
)
SPIDERS = ("feeds", "sitemaps", "search", "revisit")
# schedule.yml jobs that are not crawls (`task:`), each the `narrative-archive` command it runs
TASKS = {"stance-encoder": ("analyse", "--stance", "--encoder", "--unread"),
         "narrative-layer": ("layer",)}



class ConfigError(ValueError):
    """A config file is invalid; str() names the file, the entry, the key and the line."""

    def __init__(self, path: Path | str, entry: str | None, problem: str, line: int | None = None):
        self.path, self.entry, self.problem, self.line = Path(path), entry, problem, line
        where = f"{entry}: " if entry else ""
        at = f" (line {line})" if line else ""
        super().__init__(f"{self.path}: {where}{problem}{at}")


@dataclass(frozen=True)
class Outlet:
    id: str
    name: str
    url: str
    domains: tuple[str, ...]
    country: str | None = None
    language: str | None = None
    kind: str | None = None
    owner: str | None = None
    state_affiliated: bool = False
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    notes: str | None = None


@dataclass(frozen=True)
class Narrative:
    id: str
    title: str
    query: str
    description: str | None = None
    queries: tuple[tuple[str, str], ...] = ()  # (language, query) pairs
    since: str | None = None
    line: int | None = None  # where it is defined, for error messages
    # (language, texts it must match, texts it must not match)
    examples: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    # (language, {"actor": terms, "target": terms, "act": terms}) for near-misses and suggest
    lexicon: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    # stance cue overrides: (language or "*", list name, "add" | "replace" | "set", values)
    stance: tuple[tuple[str, str, str, tuple], ...] = ()
    # Media Cloud collection and source ids its story search is limited to (mediacloud:)
    mediacloud_collections: tuple[int, ...] = ()
    mediacloud_sources: tuple[int, ...] = ()
    # the claim rule, a second way to match (match.claim): ((role, values), ...)
    claim: tuple[tuple[str, tuple], ...] = ()

    def stance_override(self) -> dict[str, dict]:
        """The ``stance:`` key as analysis.stance.load_cues(override=...) reads it."""
        override: dict[str, dict] = {}
        for language, name, mode, values in self.stance:
            lists = override.setdefault(language, {})
            lists[name] = {"replace": list(values)} if mode == "replace" else list(values)
        return override

    def lexicon_for(self, language: str) -> dict[str, tuple[str, ...]]:
        return dict(dict(self.lexicon).get(language, ()))

    @property
    def match_query(self) -> str:
        """The query evaluated against the archive: the main query OR every language variant."""
        return match_query(self.query, self.queries)


@dataclass(frozen=True)
class Job:
    id: str
    spider: str  # or a task's name (TASKS): crawl_runs.spider holds it
    every: int | None = None  # seconds, for an interval trigger
    cron: str | None = None  # crontab expression, for a cron trigger
    jitter: int = 0
    timeout: int = 3600
    outlets: tuple[str, ...] = ()
    narratives: tuple[str, ...] = ()
    since: str | None = None
    limit: int | None = None
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def task(self) -> bool:
        return self.spider in TASKS

    def command_args(self) -> list[str]:
        """The `narrative-archive` command line this job runs (a crawl, or a task's)."""
        return list(TASKS[self.spider]) if self.task else ["crawl", *self.crawl_args()]

    def crawl_args(self) -> list[str]:
        """The `narrative-archive crawl` arguments this job runs."""
        args = [self.spider]
        for outlet in self.outlets:
            args += ["--outlet", outlet]
        for narrative in self.narratives:
            args += ["--narrative", narrative]
        if self.since:
            args += ["--since", self.since]
        if self.limit:
            args += ["--limit", str(self.limit)]
        for name, value in self.settings:
            args += ["-s", f"{name}={value}"]
        return args


@dataclass(frozen=True)
class Config:
    outlets: tuple[Outlet, ...]
    narratives: tuple[Narrative, ...]
    jobs: tuple[Job, ...]
    paths: dict[str, Path] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # legal, but likely mistakes

    def outlet(self, outlet_id: str) -> Outlet:
        for outlet in self.outlets:
            if outlet.id == outlet_id:
                return outlet
        raise KeyError(outlet_id)

    def narrative(self, narrative_id: str) -> Narrative:
        for narrative in self.narratives:
            if narrative.id == narrative_id:
                return narrative
        raise KeyError(narrative_id)


def select_by_id(items, ids: tuple[str, ...], kind: str) -> tuple:
    """The configured items with these ids (all of them when none are given)."""
    if not ids:
        return tuple(items)
    known = {item.id: item for item in items}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(
            f"unknown {kind}{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
            f" (known: {', '.join(sorted(known)) or 'none'})"
        )
    return tuple(known[i] for i in dict.fromkeys(ids))


def match_query(query: str, queries: Iterable[tuple[str, str]] = ()) -> str:
    """A narrative's query evaluated against the archive: `query` OR each (language,
    variant) of `queries`."""
    parts = [query, *(variant for _, variant in queries)]
    if len(parts) == 1:
        return query
    return " OR ".join(f"({part})" for part in parts)
