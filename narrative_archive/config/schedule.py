"""schedule.yml: jobs, their triggers and Scrapy settings."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from narrative_archive.config.checks import check_date, check_ids
from narrative_archive.config.model import SPIDERS, TASKS, ConfigError, Job
from narrative_archive.config.yamlfile import Entries, Entry
from narrative_archive.cron import cron_problem
from narrative_archive.times import DURATION, DURATION_SECONDS, parse_duration

SCHEDULE_KEYS = ("defaults", "jobs", "nodes", "batches")
NODE_KEYS = ("url", "name", "username", "password")
DEFAULT_KEYS = ("jitter", "timeout")
JOB_KEYS = (
    "id", "spider", "every", "cron", "jitter", "timeout", "outlets", "narratives", "since",
    "limit", "settings", "per_narrative", "task",
)
CRAWL_ONLY = ("outlets", "narratives", "since", "limit", "settings", "per_narrative")
DURATION_EXAMPLES = {"every": "90s, 30m, 6h or 1d", "timeout": "1h", "jitter": "60s"}


def _duration(e: Entry, key: str, default: int | None = None, zero: bool = False) -> int | None:
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


def setting_text(value: Any) -> str:
    """A setting's value as `-s NAME=VALUE` text that Scrapy's getdict/getlist/getbool read back."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


SettingCheck = Callable[[str, Any], "tuple[str, str] | None"]


def _job_settings(e: Entry, warnings: list[str],
                  check_setting: SettingCheck | None) -> tuple[tuple[str, str], ...]:
    settings = e.get("settings", dict, default={})
    pairs = []
    for name, value in settings.items():
        key = f"settings.{name}"
        if not isinstance(name, str):
            e.fail(key, "a setting name must be text")
        verdict = check_setting(name, value) if check_setting else None
        if verdict and verdict[0] == "warning":
            warnings.append(str(e.error(key, verdict[1])))
        elif verdict:
            e.fail(key, verdict[1])
        pairs.append((name, setting_text(value)))
    return tuple(pairs)


def load_schedule(path: Path, outlet_ids: list[str], narrative_ids: list[str],
                  warnings: list[str] | None = None,
                  check_setting: SettingCheck | None = None) -> tuple[Job, ...]:
    """The jobs of schedule.yml; likely mistakes that are legal go to `warnings`.

    `check_setting(name, value)` judges each job's Scrapy settings
    (narrative_archive.crawl.settings_check.check_setting); without it they are taken as given.
    """
    warnings = [] if warnings is None else warnings
    entries = Entries(path, "job", top_key="jobs", top_keys=SCHEDULE_KEYS)
    defaults, defaults_line, defaults_lines = entries.top_value("defaults")
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, dict):
        raise ConfigError(path, "defaults", "expected a mapping", defaults_line)
    d = Entry(path, "defaults", defaults, defaults_lines, defaults_line, DEFAULT_KEYS)
    default_timeout = _duration(d, "timeout", default=3600)
    default_jitter = _duration(d, "jitter", default=0, zero=True)
    jobs, seen = [], set[str]()
    made: dict[str, str] = {}  # job id -> the entry that made it
    for index, line, data, lines in entries:
        label = check_ids(path, "job", index, lines.get("id", line), data.get("id"), seen)
        e = Entry(path, label, data, lines, line, JOB_KEYS)
        spider, task = e.get("spider"), e.get("task")
        if (spider is None) == (task is None):
            e.fail(None, "give exactly one of 'spider' (a crawl) and 'task' "
                   f"({', '.join(TASKS)})")
        if task is not None:
            task in TASKS or e.fail("task", f"expected one of {', '.join(TASKS)}")
            for key in CRAWL_ONLY:
                key not in data or e.fail(key, f"a task job takes no {key!r} (it is not a crawl)")
            spider = task
        else:
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
            limit=limit, settings=_job_settings(e, warnings, check_setting),
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


# --- the fleet: Scrapyd nodes and where they leave their batches (docs/fleet.md) ---------


@dataclass(frozen=True)
class Node:
    """A Scrapyd crawl node: its URL (no credentials in it), a name, and basic auth."""

    name: str
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Fleet:
    """schedule.yml's `nodes:` and `batches:`; no nodes means the single-machine mode."""

    nodes: tuple[Node, ...] = ()
    batches: str | None = None  # a directory or s3://bucket/prefix


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(e: Entry, key: str, value: str) -> str:
    """${NAME} from the environment, so passwords stay out of the file."""
    missing = [name for name in _ENV.findall(value) if name not in os.environ]
    if missing:
        e.fail(key, f"the environment has no {missing[0]} (named as ${{{missing[0]}}})")
    return _ENV.sub(lambda m: os.environ[m[1]], value)


def _node(e: Entry) -> Node:
    url = _expand(e, "url", str(e.get("url", required=True)))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        e.fail("url", f"expected a Scrapyd URL like http://crawl-1:6800, got {url!r}")
    username, password = parts.username, parts.password
    if e.get("username") is not None:
        username = _expand(e, "username", str(e.get("username")))
    if e.get("password") is not None:
        password = _expand(e, "password", str(e.get("password")))
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    clean = parts._replace(netloc=netloc).geturl().rstrip("/")
    name = str(e.get("name") or netloc)
    return Node(name=name, url=clean, username=username, password=password)


def load_fleet(path: Path) -> Fleet:
    """The `nodes:` (Scrapyd URLs, with basic auth as user:password@ in the URL or as
    username/password keys; ${NAME} reads the environment) and `batches:` of schedule.yml.
    NARRATIVE_ARCHIVE_BATCH_URL, when set, replaces `batches:`."""
    entries = Entries(path, "job", top_key="jobs", top_keys=SCHEDULE_KEYS)
    raw, line, _ = entries.top_value("nodes")
    nodes: list[Node] = []
    if raw is not None and not isinstance(raw, list):
        raise ConfigError(path, "nodes", "expected a list of Scrapyd URLs", line)
    for index, item in enumerate(raw or [], start=1):
        data = {"url": item} if isinstance(item, str) else item
        if not isinstance(data, dict):
            raise ConfigError(path, f"node {index}", "expected a URL or a mapping", line)
        node = _node(Entry(path, f"node {index}", data, {}, line, NODE_KEYS))
        if any(n.name == node.name for n in nodes):
            raise ConfigError(path, f"node {index}", f"name {node.name!r} is taken", line)
        nodes.append(node)
    batches, line, _ = entries.top_value("batches")
    if batches is not None and not isinstance(batches, str):
        raise ConfigError(path, "batches", "expected a directory or an s3:// URL", line)
    batches = os.environ.get("NARRATIVE_ARCHIVE_BATCH_URL") or batches
    if nodes and not batches:
        raise ConfigError(path, "batches", "nodes need `batches:` (a directory or an s3:// "
                          "URL that the nodes and the archive host share)", line)
    return Fleet(tuple(nodes), batches)
