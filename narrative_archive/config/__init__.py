"""Load and validate config/ (outlets, narratives, schedule) into frozen dataclasses.

A file in the user's config directory replaces the shipped default of the same
name; a file missing there falls back to the default. Every problem is reported
with the file, the entry, the key and the line it came from.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from narrative_archive import fts
from narrative_archive.paths import DEFAULT_CONFIG_DIR
from narrative_archive.times import DURATION, DURATION_SECONDS
from narrative_archive.times import parse_duration as parse_duration  # config durations

CONFIG_FILES = ("outlets.yml", "narratives.yml", "schedule.yml")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
OUTLET_KINDS = (
    "state", "public", "commercial", "independent", "wire", "government", "think-tank", "blog",
)
SPIDERS = ("feeds", "sitemaps", "search", "revisit")
HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_DAY_TOKEN = re.compile(r"^(\*|\w+)(?:-(\w+))?(?:/(\d+))?$")


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


def config_paths(config_dir: str | Path | None = None) -> dict[str, Path]:
    """Which file is used for each config name: the user's if present, else the default."""
    paths = {}
    for name in CONFIG_FILES:
        user = Path(config_dir) / name if config_dir else None
        paths[name] = user if user is not None and user.exists() else DEFAULT_CONFIG_DIR / name
    return paths


def load_config(config_dir: str | Path | None = None, check_query=fts.check_query) -> Config:
    """Load and validate all three files; raises ConfigError, collects Config.warnings.

    `check_query(query) -> str | None` returns an error message for an invalid
    narrative query (fts.check_query, which asks SQLite's FTS5 itself).
    """
    paths = config_paths(config_dir)
    warnings: list[str] = []
    outlets = load_outlets(paths["outlets.yml"])
    narratives = load_narratives(paths["narratives.yml"], check_query)
    jobs = load_schedule(
        paths["schedule.yml"], [o.id for o in outlets], [n.id for n in narratives], warnings
    )
    return Config(outlets, narratives, jobs, paths, tuple(warnings))


# --- YAML with line numbers ------------------------------------------------


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds one key twice (plain PyYAML keeps the last one silently)."""

    def __init__(self, key: Any, mark):
        super().__init__(None, None, f"duplicate key {key!r}", mark)
        self.key = key


class ConfigLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and leaves an impossible date a string.

    `since: 2017-13-01` then reaches the date check (which names the key and
    line) instead of failing inside PyYAML.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # keys a merge (<<) brings in may be overridden
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeLoader reports it
                    continue
                if duplicate:
                    raise DuplicateKeyError(key, key_node.start_mark)
        return super().construct_mapping(node, deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", ConfigLoader.construct_yaml_timestamp)


# libyaml's parser when PyYAML has it: a large narratives.yml then composes in
# milliseconds (every crawl subprocess pays it at start-up); ConfigLoader constructs.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _lines_of(node: yaml.MappingNode) -> dict[str, int]:
    """The line of every key of a mapping, nested keys (queries.ru, examples.ru.match)
    and list items (examples.ru.match[2]) included."""
    lines: dict[str, int] = {}
    _key_lines(node, "", lines)
    return lines


def _key_lines(node, prefix: str, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            _key_lines(value, name + ".", lines)
    elif isinstance(node, yaml.SequenceNode) and prefix:
        for position, item in enumerate(node.value):
            lines[f"{prefix[:-1]}[{position}]"] = item.start_mark.line + 1


class _Entries:
    """The YAML list of a config file, each mapping with the line of each key."""

    def __init__(self, path: Path, kind: str, top_key: str | None = None,
                 top_keys: tuple[str, ...] = ()):
        self.path, self.kind = path, kind
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
            for key, value in root.value:
                line = key.start_mark.line + 1
                if key.value not in top_keys:
                    raise ConfigError(path, None, f"{key.value}: unknown key (expected one of: "
                                      f"{', '.join(top_keys)})", line)
                if key.value in self.top:
                    raise ConfigError(path, None, f"{key.value}: duplicate key", line)
                self.top[key.value] = value
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
                raise ConfigError(self.path, f"{self.kind} {index}", "expected a mapping", line)
            data = self.construct(node, self._label(index, node))
            yield index, line, data, _lines_of(node)

    def _label(self, index: int, node: yaml.MappingNode) -> str:
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode) and value.value:
                return f"{self.kind} {value.value!r}"
        return f"{self.kind} {index}"

    def construct(self, node, label: str | None) -> Any:
        """The Python value of a node, with errors (a duplicate key) naming the entry and line."""
        try:
            return ConfigLoader("").construct_document(node)
        except DuplicateKeyError as error:
            raise ConfigError(self.path, label, f"{error.key}: duplicate key",
                              error.problem_mark.line + 1) from error
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise ConfigError(self.path, label, f"invalid YAML: {getattr(error, 'problem', error)}",
                              mark.line + 1 if mark else None) from error

    def top_value(self, key: str) -> tuple[Any, int | None, dict[str, int]]:
        """A top-level key's value, its line, and the lines of its keys when it is a mapping."""
        node = self.top.get(key)
        if node is None:
            return None, None, {}
        lines = _lines_of(node) if isinstance(node, yaml.MappingNode) else {}
        return self.construct(node, key), node.start_mark.line + 1, lines


class _Entry:
    """Typed access to one entry's keys, raising ConfigError that names the key and line."""

    def __init__(self, path: Path, label: str, data: dict, lines: dict, line: int, allowed):
        self.path, self.label, self.data, self.lines, self.line = path, label, data, lines, line
        for key in data:
            if key not in allowed:
                self.fail(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def error(self, key: str | None, problem: str) -> ConfigError:
        prefix = f"{key}: " if key else ""
        return ConfigError(self.path, self.label, prefix + problem, self.lines.get(key, self.line))

    def fail(self, key: str | None, problem: str):
        raise self.error(key, problem)

    def get(self, key: str, kind=str, required: bool = False, default=None):
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, "is required")
            return default
        if kind is str and isinstance(value, (int, float, date)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
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
            problem = url_problem(value)
            if problem:
                self.fail(key, problem)
        return values


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def valid_host(host: str) -> bool:
    """An IP address or a DNS name (IDNA allowed): no spaces, no empty or odd labels."""
    if is_ip(host):
        return True
    try:
        name = host.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    return all(HOST_LABEL.match(label) for label in name.split("."))


def url_problem(value: str) -> str | None:
    """Why `value` is not a usable http(s) URL, or None when it is one."""
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises for a port that is not a number
    except ValueError as error:
        return f"not a valid URL ({error}): {value!r}"
    if parts.scheme not in ("http", "https") or not host:
        return f"not an http(s) URL: {value!r}"
    if not valid_host(host):
        return f"not a valid host name {host!r} in {value!r}"
    return None


def check_url(value: str) -> bool:
    return url_problem(value) is None


@cache
def _public_suffixes():
    import tldextract

    # The list tldextract ships: no download, no cache written.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def domain_problem(domain: str) -> str | None:
    """Why an outlet cannot claim `domain`, or None. IP addresses and localhost (test sites) pass."""
    if is_ip(domain) or domain == "localhost":
        return None
    if not valid_host(domain):
        return f"not a domain name: {domain!r} (give the host only, like rt.com)"
    parts = _public_suffixes()(domain)
    if "." not in domain or (parts.suffix and not parts.domain):
        return (f"{domain!r} is not a registrable domain (a public suffix like com or co.uk "
                "covers every site under it)")
    return None


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
    outlets, seen = [], set[str]()
    claimed: dict[str, tuple[str, int]] = {}  # domain -> (outlet label, line)
    for index, line, data, lines in _Entries(path, "outlet"):
        label = _check_ids(path, "outlet", index, lines.get("id", line), data.get("id"), seen)
        e = _Entry(path, label, data, lines, line, OUTLET_KEYS)
        url = e.get("url", required=True)
        problem = url_problem(url)
        if problem:
            e.fail("url", problem)
        domains_key = "domains" if e.strings("domains") else "url"
        domains = e.strings("domains") or (urlsplit(url).hostname,)
        domains = tuple(d.lower().removeprefix("www.") for d in domains)
        for domain in domains:
            problem = domain_problem(domain)
            if problem:
                e.fail(domains_key, problem)
            if domain in claimed and not (is_ip(domain) or domain == "localhost"):
                other, other_line = claimed[domain]
                e.fail(domains_key, f"{domain!r} is already claimed by {other} (line "
                       f"{other_line}): keep one outlet per domain")
            claimed.setdefault(domain, (label, line))
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
            id=data["id"], name=e.get("name", required=True), url=url, domains=domains,
            country=country, language=language, kind=kind, owner=e.get("owner"),
            state_affiliated=e.get("state_affiliated", bool, default=False),
            feeds=e.urls("feeds"), sitemaps=e.urls("sitemaps"), notes=e.get("notes"),
        ))
    if not outlets:
        raise ConfigError(path, None, "no outlets: list at least one (the shipped "
                          "config/outlets.yml shows the format)")
    return tuple(outlets)


NARRATIVE_KEYS = (
    "id", "title", "description", "query", "queries", "since", "examples", "lexicon", "stance",
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


# the cue lists of config/stance.yml a narrative's `stance:` key may extend or replace
STANCE_LISTS = ("attribution", "denial", "negation", "not_denial", "labels", "prefixes")


def _stance(e: _Entry) -> tuple[tuple[str, str, str, tuple], ...]:
    """stance: {language or "*": {list: [cue, ...] | {replace: [cue, ...]}, negation_window: [b, a]}}"""
    stance = e.get("stance", dict, default={})
    parsed = []
    for language, lists in stance.items():
        key = f"stance.{language}"
        if language != "*":
            language = _language(e, key, language)
        if not isinstance(lists, dict) or not lists:
            e.fail(key, f"expected a mapping of cue lists ({', '.join(STANCE_LISTS)})")
        for name, value in lists.items():
            where = f"{key}.{name}"
            if name == "negation_window":
                if (not isinstance(value, list) or len(value) != 2
                        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10
                                   for v in value)):
                    e.fail(where, f"expected [words before, words after], each 0-10, got {value!r}")
                parsed.append((str(language), name, "set", tuple(value)))
                continue
            if name not in STANCE_LISTS:
                e.fail(where, f"unknown cue list (expected one of: {', '.join(STANCE_LISTS)},"
                              " negation_window)")
            mode = "add"
            if isinstance(value, dict):
                if set(value) != {"replace"}:
                    e.fail(where, "expected a list of cues, or {replace: [cues]}")
                mode, value = "replace", value["replace"]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                e.fail(where, f"expected a list of cue words, got {value!r}")
            parsed.append((str(language), name, mode, tuple(" ".join(v.split()) for v in value)))
    return tuple(parsed)


def load_narratives(path: Path, check_query) -> tuple[Narrative, ...]:
    narratives, seen = [], set[str]()
    for index, line, data, lines in _Entries(path, "narrative"):
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
            examples=_examples(e), lexicon=_lexicon(e), stance=_stance(e),
        ))
    return tuple(narratives)


SCHEDULE_KEYS = ("defaults", "jobs")
DEFAULT_KEYS = ("jitter", "timeout")
JOB_KEYS = (
    "id", "spider", "every", "cron", "jitter", "timeout", "outlets", "narratives", "since",
    "limit", "settings", "per_narrative",
)
DURATION_EXAMPLES = {"every": "90s, 30m, 6h or 1d", "timeout": "1h", "jitter": "60s"}


def _duration(e: _Entry, key: str, default: int | None = None, zero: bool = False) -> int | None:
    """A schedule duration in seconds. It needs a unit: `every: 1` could mean any of them."""
    value = e.data.get(key)
    if value is None:
        return default
    text = str(value).strip()
    if not isinstance(value, bool) and re.fullmatch(r"\d+", text) and int(text) > 0:
        e.fail(key, f"{text} has no unit: write {text}s, {text}m, {text}h or {text}d")
    match = None if isinstance(value, bool) else DURATION.match(text)
    if text == "0" and not isinstance(value, bool):
        seconds = 0
    elif match:
        seconds = int(match[1]) * DURATION_SECONDS[match[2]]
    else:
        e.fail(key, f"expected a duration like {DURATION_EXAMPLES[key]}, got {value!r}")
    if seconds == 0 and not zero:
        e.fail(key, f"must be longer than 0, got {value!r}")
    return seconds


def _cron_day_number(name: str) -> int:
    if name.isdigit():
        number = int(name)
        if not 0 <= number <= 7:
            raise ValueError(name)
        return number % 7
    return CRON_DAYS.index(name.lower()[:3])


def cron_day_of_week(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3's terms ('1-5' -> 'mon,tue,wed,thu,fri')."""
    if field in ("*", "?"):
        return "*"
    try:
        days: set[int] = set()
        for token in field.split(","):
            match = _CRON_DAY_TOKEN.match(token.strip())
            if not match:
                raise ValueError(token)
            first, last, step = match.groups()
            if first == "*":
                start, end = 0, 6
            else:
                start = _cron_day_number(first)
                end = _cron_day_number(last) if last else (6 if step else start)
                if end < start or (last and last.isdigit() and int(last) == 7):
                    end += 7  # '5-7' and 'sat-sun' wrap to Sunday
            days.update(day % 7 for day in range(start, end + 1, int(step or 1)))
        if not days:
            raise ValueError(field)
    except (ValueError, IndexError):
        return field  # not plain crontab (e.g. APScheduler's own syntax): leave it as it is
    return ",".join(CRON_DAYS[day] for day in sorted(days))


def cron_trigger(expression: str, jitter: int | None = None):
    """An APScheduler CronTrigger for a standard 5-field crontab expression, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=cron_day_of_week(day_of_week), timezone=UTC,
                       jitter=jitter or None)


def cron_problem(expression: str, now: datetime | None = None) -> str | None:
    """Why a crontab expression cannot schedule a job (invalid, or never fires), or None."""
    fields = expression.split()
    if len(fields) != 5:
        return ("invalid crontab expression: expected 5 fields (minute hour day month "
                f"day-of-week), got {len(fields)}")
    try:
        trigger = cron_trigger(expression)
    except ValueError as error:
        return f"invalid crontab expression: {error}"
    if trigger.get_next_fire_time(None, now or datetime.now(UTC)) is None:
        return f"{expression!r} never fires: no date has that day in that month"
    return None


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


def setting_text(value: Any) -> str:
    """A setting's value as `-s NAME=VALUE` text that Scrapy's getdict/getlist/getbool read back."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _job_settings(e: _Entry, warnings: list[str]) -> tuple[tuple[str, str], ...]:
    settings = e.get("settings", dict, default={})
    pairs = []
    for name, value in settings.items():
        key = f"settings.{name}"
        if not isinstance(name, str):
            e.fail(key, "a setting name must be text")
        if name not in known_settings():
            warnings.append(str(e.error(
                key, "not a setting Scrapy or narrative-archive knows; check the spelling")))
        else:
            problem = setting_problem(value, known_settings()[name])
            if problem:
                e.fail(key, problem)
        pairs.append((name, setting_text(value)))
    return tuple(pairs)


def load_schedule(path: Path, outlet_ids: list[str], narrative_ids: list[str],
                  warnings: list[str] | None = None) -> tuple[Job, ...]:
    """The jobs of schedule.yml; likely mistakes that are legal go to `warnings`."""
    warnings = [] if warnings is None else warnings
    entries = _Entries(path, "job", top_key="jobs", top_keys=SCHEDULE_KEYS)
    defaults, defaults_line, defaults_lines = entries.top_value("defaults")
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, dict):
        raise ConfigError(path, "defaults", "expected a mapping", defaults_line)
    d = _Entry(path, "defaults", defaults, defaults_lines, defaults_line, DEFAULT_KEYS)
    default_timeout = _duration(d, "timeout", default=3600)
    default_jitter = _duration(d, "jitter", default=0, zero=True)
    jobs, seen = [], set[str]()
    made: dict[str, str] = {}  # job id -> the entry that made it
    for index, line, data, lines in entries:
        label = _check_ids(path, "job", index, lines.get("id", line), data.get("id"), seen)
        e = _Entry(path, label, data, lines, line, JOB_KEYS)
        spider = e.get("spider", required=True)
        spider in SPIDERS or e.fail("spider", f"expected one of {', '.join(SPIDERS)}")
        every, cron = data.get("every"), e.get("cron")
        if (every is None) == (cron is None):
            e.fail(None, "give exactly one trigger: 'every' (e.g. 30m) or 'cron'")
        every = _duration(e, "every")
        if cron is not None:
            problem = cron_problem(cron)
            if problem:
                e.fail("cron", problem)
        timeout = _duration(e, "timeout", default=default_timeout)
        jitter = _duration(e, "jitter", default=default_jitter, zero=True)
        outlets = e.strings("outlets")
        for outlet in outlets:
            outlet in outlet_ids or e.fail("outlets", f"unknown outlet {outlet!r}")
        narratives = e.strings("narratives")
        for narrative in narratives:
            narrative in narrative_ids or e.fail("narratives", f"unknown narrative {narrative!r}")
        since = e.get("since", (str, date))
        if since is not None and check_date(since) is None and parse_duration(since) is None:
            e.fail("since", f"expected a date or a duration back from now, got {since!r}")
        limit = data.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            e.fail("limit", f"expected a number of pages above 0, got {limit!r}")
        job = dict(
            spider=spider, every=every, cron=cron, jitter=jitter, timeout=timeout,
            outlets=outlets, since=check_date(since) or (str(since) if since else None),
            limit=limit, settings=_job_settings(e, warnings),
        )
        if e.get("per_narrative", bool, default=False):
            made_here: list[tuple[str, tuple[str, ...]]] = [
                (f"{data['id']}-{n}", (n,)) for n in narratives or narrative_ids]
            key, maker = "per_narrative", f"per_narrative of {label} (line {line})"
        else:
            made_here = [(data["id"], narratives)]
            key, maker = "id", f"{label} (line {line})"
        for job_id, job_narratives in made_here:
            if job_id in made:  # a generated id can be another job's id: APScheduler refuses both
                taken = f"already taken by {made[job_id]}; rename one"
                e.fail(key, f"makes job {job_id!r}, an id {taken}" if key == "per_narrative"
                       else f"{job_id!r} is {taken}")
            made[job_id] = maker
            jobs.append(Job(id=job_id, narratives=job_narratives, **job))
    return tuple(jobs)
