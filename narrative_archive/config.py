"""Load and validate config/ (outlets, narratives, schedule) into frozen dataclasses.

A file in the user's config directory replaces the shipped default of the same
name; a file missing there falls back to the default. Every problem is reported
with the file, the entry, the key and the line it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CONFIG_FILES = ("outlets.yml", "narratives.yml", "schedule.yml")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
OUTLET_KINDS = (
    "state", "public", "commercial", "independent", "wire", "government", "think-tank", "blog",
)
SPIDERS = ("feeds", "sitemaps", "search")
DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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

    def lexicon_for(self, language: str) -> dict[str, tuple[str, ...]]:
        return dict(dict(self.lexicon).get(language, ()))

    @property
    def match_query(self) -> str:
        """The query evaluated against the archive: the main query OR every language variant."""
        parts = [self.query, *(query for _, query in self.queries)]
        if len(parts) == 1:
            return self.query
        return " OR ".join(f"({part})" for part in parts)


@dataclass(frozen=True)
class Job:
    id: str
    spider: str
    every: int | None = None  # seconds, for an interval trigger
    cron: str | None = None  # crontab expression, for a cron trigger
    jitter: int = 0
    timeout: int = 3600
    outlets: tuple[str, ...] = ()
    narratives: tuple[str, ...] = ()
    since: str | None = None
    limit: int | None = None
    settings: tuple[tuple[str, str], ...] = ()

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


def config_paths(config_dir: str | Path | None = None) -> dict[str, Path]:
    """Which file is used for each config name: the user's if present, else the default."""
    paths = {}
    for name in CONFIG_FILES:
        user = Path(config_dir) / name if config_dir else None
        paths[name] = user if user is not None and user.exists() else DEFAULT_CONFIG_DIR / name
    return paths


def load_config(config_dir: str | Path | None = None, check_query=None) -> Config:
    """Load and validate all three files.

    `check_query(query) -> str | None` returns an error message for an invalid
    narrative query (narratives.check_query, which asks SQLite's FTS5 itself).
    """
    if check_query is None:
        from narrative_archive.narratives import check_query
    paths = config_paths(config_dir)
    outlets = load_outlets(paths["outlets.yml"])
    narratives = load_narratives(paths["narratives.yml"], check_query)
    jobs = load_schedule(
        paths["schedule.yml"], [o.id for o in outlets], [n.id for n in narratives]
    )
    return Config(outlets, narratives, jobs, paths)


# --- YAML with line numbers ------------------------------------------------


# libyaml's parser when PyYAML has it: a large narratives.yml then loads in milliseconds,
# which every crawl subprocess pays at start-up.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _construct(node) -> Any:
    """The Python value of a composed node (safe types only)."""
    return yaml.SafeLoader("").construct_document(node)


class _Entries:
    """The YAML list of a config file, each mapping with the line of each key."""

    def __init__(self, path: Path, top_key: str | None = None):
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text, Loader=_LOADER)
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(path, None, f"cannot read: {error}") from error
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise ConfigError(
                path, None, f"invalid YAML: {getattr(error, 'problem', error)}",
                mark.line + 1 if mark else None,
            ) from error
        self.top: dict[str, Any] = {}
        if root is not None and top_key is not None:
            if not isinstance(root, yaml.MappingNode):
                raise ConfigError(path, None, f"expected a mapping with a '{top_key}' list",
                                  root.start_mark.line + 1)
            self.top = {k.value: v for k, v in root.value}
            root = self.top.get(top_key)
        if root is None:
            self.nodes = []
        elif not isinstance(root, yaml.SequenceNode):
            raise ConfigError(path, None, "expected a list of entries", root.start_mark.line + 1)
        else:
            self.nodes = root.value

    def __iter__(self):
        for index, node in enumerate(self.nodes, 1):
            line = node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                raise ConfigError(self.path, f"entry {index}", "expected a mapping", line)
            data = _construct(node)
            lines = {}
            _key_lines(node, "", lines)
            yield index, line, data, lines

    def top_value(self, key: str) -> tuple[Any, int | None]:
        node = self.top.get(key)
        if node is None:
            return None, None
        return _construct(node), node.start_mark.line + 1


def _key_lines(node, prefix: str, lines: dict) -> None:
    """The line of every nested key (queries.ru, examples.ru.match) and list item (…match[2])."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            _key_lines(value, name + ".", lines)
    elif isinstance(node, yaml.SequenceNode) and prefix:
        for position, item in enumerate(node.value):
            lines[f"{prefix[:-1]}[{position}]"] = item.start_mark.line + 1


class _Entry:
    """Typed access to one entry's keys, raising ConfigError that names the key and line."""

    def __init__(self, path: Path, label: str, data: dict, lines: dict, line: int, allowed):
        self.path, self.label, self.data, self.lines, self.line = path, label, data, lines, line
        for key in data:
            if key not in allowed:
                self.fail(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def fail(self, key: str | None, problem: str):
        prefix = f"{key}: " if key else ""
        raise ConfigError(self.path, self.label, prefix + problem, self.lines.get(key, self.line))

    def get(self, key: str, kind=str, required: bool = False, default=None):
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, "is required")
            return default
        if kind is str and isinstance(value, (int, float, date)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind):
            self.fail(key, f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def urls(self, key: str) -> tuple[str, ...]:
        values = self.strings(key)
        for value in values:
            check_url(value) or self.fail(key, f"not an http(s) URL: {value!r}")
        return values


def check_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_date(value: Any) -> str | None:
    """ISO date (YYYY-MM-DD) as a string, or None when it is not one."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def _check_ids(path: Path, kind: str, index: int, line: int, value, seen: set[str]) -> str:
    label = f"{kind} {value!r}" if value else f"{kind} {index}"
    if not isinstance(value, str) or not SLUG.match(value):
        raise ConfigError(path, label, "id: must be a slug of a-z, 0-9 and '-'", line)
    if value in seen:
        raise ConfigError(path, label, "id: duplicate id", line)
    seen.add(value)
    return label


# --- the three files -------------------------------------------------------

OUTLET_KEYS = (
    "id", "name", "url", "domains", "country", "language", "kind", "owner",
    "state_affiliated", "feeds", "sitemaps", "notes",
)


def load_outlets(path: Path) -> tuple[Outlet, ...]:
    outlets, seen = [], set()
    for index, line, data, lines in _Entries(path):
        label = _check_ids(path, "outlet", index, lines.get("id", line), data.get("id"), seen)
        e = _Entry(path, label, data, lines, line, OUTLET_KEYS)
        url = e.get("url", required=True)
        check_url(url) or e.fail("url", f"not an http(s) URL: {url!r}")
        domains = e.strings("domains") or (urlsplit(url).hostname.removeprefix("www."),)
        country = e.get("country")
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            e.fail("country", f"expected an ISO 3166 code like 'US', got {country!r}")
        language = e.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2}", language):
            e.fail("language", f"expected an ISO 639-1 code like 'en', got {language!r}")
        kind = e.get("kind")
        if kind is not None and kind not in OUTLET_KINDS:
            e.fail("kind", f"expected one of {', '.join(OUTLET_KINDS)}, got {kind!r}")
        outlets.append(Outlet(
            id=data["id"], name=e.get("name", required=True), url=url,
            domains=tuple(d.lower().removeprefix("www.") for d in domains),
            country=country, language=language, kind=kind, owner=e.get("owner"),
            state_affiliated=e.get("state_affiliated", bool, default=False),
            feeds=e.urls("feeds"), sitemaps=e.urls("sitemaps"), notes=e.get("notes"),
        ))
    return tuple(outlets)


NARRATIVE_KEYS = (
    "id", "title", "description", "query", "queries", "since", "examples", "lexicon",
)
EXAMPLE_KEYS = ("match", "no_match")
LEXICON_KEYS = ("actor", "target", "act")
# ISO 639-1: the language codes a variant, its examples and its lexicon may use.
ISO_639_1 = frozenset("""
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
""".split())


def _language(e: _Entry, key: str, language) -> str:
    language = str(language)
    if language not in ISO_639_1:
        e.fail(key, f"{language!r} is not an ISO 639-1 language code like 'en' or 'fa'")
    return language


def _examples(e: _Entry) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """examples: {language: {match: [text, ...], no_match: [text, ...]}}"""
    examples = e.get("examples", dict, default={})
    parsed = []
    for language, cases in examples.items():
        key = f"examples.{language}"
        language = _language(e, key, language)
        if not isinstance(cases, dict) or not cases:
            e.fail(key, "expected a mapping with 'match' and/or 'no_match' lists")
        lists = {}
        for name, texts in cases.items():
            if name not in EXAMPLE_KEYS:
                e.fail(f"{key}.{name}", f"unknown key (expected one of: {', '.join(EXAMPLE_KEYS)})")
            if not isinstance(texts, list) or not texts:
                e.fail(f"{key}.{name}", "expected a non-empty list of example texts")
            for position, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    e.fail(f"{key}.{name}[{position}]", f"expected a text, got {text!r}")
            lists[name] = tuple(" ".join(text.split()) for text in texts)
        parsed.append((language, lists.get("match", ()), lists.get("no_match", ())))
    return tuple(parsed)


def _lexicon(e: _Entry) -> tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]:
    """lexicon: {language: {actor: [term, ...], target: [...], act: [...]}}"""
    lexicon = e.get("lexicon", dict, default={})
    parsed = []
    for language, roles in lexicon.items():
        key = f"lexicon.{language}"
        language = _language(e, key, language)
        if not isinstance(roles, dict) or not roles:
            e.fail(key, f"expected a mapping with {', '.join(LEXICON_KEYS)} lists")
        terms = []
        for role, values in roles.items():
            if role not in LEXICON_KEYS:
                e.fail(f"{key}.{role}", f"unknown key (expected one of: {', '.join(LEXICON_KEYS)})")
            if (not isinstance(values, list) or not values
                    or not all(isinstance(v, str) and v.strip() for v in values)):
                e.fail(f"{key}.{role}", f"expected a non-empty list of terms, got {values!r}")
            terms.append((role, tuple(v.strip() for v in values)))
        parsed.append((language, tuple(terms)))
    return tuple(parsed)


def load_narratives(path: Path, check_query) -> tuple[Narrative, ...]:
    narratives, seen = [], set()
    for index, line, data, lines in _Entries(path):
        label = _check_ids(path, "narrative", index, lines.get("id", line), data.get("id"), seen)
        e = _Entry(path, label, data, lines, line, NARRATIVE_KEYS)
        query = " ".join(e.get("query", required=True).split())
        error = check_query(query)
        if error:
            e.fail("query", error)
        queries = e.get("queries", dict, default={})
        variants = []
        for language, variant in queries.items():
            _language(e, f"queries.{language}", language)
            if not isinstance(variant, str) or not variant.strip():
                e.fail("queries", f"{language}: expected a query string")
            variant = " ".join(variant.split())
            error = check_query(variant)
            if error:
                e.fail(f"queries.{language}", error)
            variants.append((str(language), variant))
        since = e.get("since", (str, date))
        if since is not None and check_date(since) is None:
            e.fail("since", f"expected a date like 2017-01-01, got {since!r}")
        narratives.append(Narrative(
            id=data["id"], title=e.get("title", required=True), query=query,
            description=" ".join((e.get("description") or "").split()) or None,
            queries=tuple(variants), since=check_date(since) if since else None, line=line,
            examples=_examples(e), lexicon=_lexicon(e),
        ))
    return tuple(narratives)


JOB_KEYS = (
    "id", "spider", "every", "cron", "jitter", "timeout", "outlets", "narratives", "since",
    "limit", "settings", "per_narrative",
)


def parse_duration(value: Any) -> int | None:
    """'30m' -> 1800; plain numbers are seconds; None when it is not a duration."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = DURATION.match(str(value).strip())
    return int(match[1]) * DURATION_SECONDS[match[2]] if match and int(match[1]) > 0 else None


def load_schedule(path: Path, outlet_ids: list[str], narrative_ids: list[str]) -> tuple[Job, ...]:
    entries = _Entries(path, top_key="jobs")
    defaults, defaults_line = entries.top_value("defaults")
    defaults = defaults or {}
    if not isinstance(defaults, dict):
        raise ConfigError(path, "defaults", "expected a mapping", defaults_line)
    jobs, seen = [], set()
    for index, line, data, lines in entries:
        merged = {**{k: v for k, v in defaults.items() if k in ("jitter", "timeout")}, **data}
        label = _check_ids(path, "job", index, lines.get("id", line), data.get("id"), seen)
        e = _Entry(path, label, merged, lines, line, JOB_KEYS)
        spider = e.get("spider", required=True)
        spider in SPIDERS or e.fail("spider", f"expected one of {', '.join(SPIDERS)}")
        every, cron = merged.get("every"), e.get("cron")
        if (every is None) == (cron is None):
            e.fail(None, "give exactly one trigger: 'every' (e.g. 30m) or 'cron'")
        if every is not None and parse_duration(every) is None:
            e.fail("every", f"expected a duration like 90s, 30m, 6h or 1d, got {every!r}")
        if cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(cron)
            except ValueError as error:
                e.fail("cron", f"invalid crontab expression: {error}")
        timeout = parse_duration(merged.get("timeout", 3600))
        timeout or e.fail("timeout", "expected a duration like 1h")
        jitter = merged.get("jitter", 0)
        jitter = 0 if jitter in (0, "0") else parse_duration(jitter)
        jitter is not None or e.fail("jitter", "expected a duration like 60s")
        outlets = e.strings("outlets")
        for outlet in outlets:
            outlet in outlet_ids or e.fail("outlets", f"unknown outlet {outlet!r}")
        narratives = e.strings("narratives")
        for narrative in narratives:
            narrative in narrative_ids or e.fail("narratives", f"unknown narrative {narrative!r}")
        since = e.get("since", (str, date))
        if since is not None and check_date(since) is None and parse_duration(since) is None:
            e.fail("since", f"expected a date or a duration back from now, got {since!r}")
        settings = e.get("settings", dict, default={})
        limit = e.get("limit", int)
        job = dict(
            spider=spider, every=parse_duration(every) if every is not None else None, cron=cron,
            jitter=jitter, timeout=timeout, outlets=outlets,
            since=check_date(since) or (str(since) if since else None),
            limit=limit, settings=tuple((str(k), str(v)) for k, v in settings.items()),
        )
        if e.get("per_narrative", bool, default=False):
            for narrative in narratives or narrative_ids:
                jobs.append(Job(id=f"{data['id']}-{narrative}", narratives=(narrative,), **job))
        else:
            jobs.append(Job(id=data["id"], narratives=narratives, **job))
    return tuple(jobs)
