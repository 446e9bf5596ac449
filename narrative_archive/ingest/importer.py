"""Existing collections → articles: read, map and check rows of JSON lines, news-please
output or CSV, for `narrative-archive import`.

Reading is pure (no database): `read_articles` yields (line, article dict) for
every good row and (line, Problem reason) for every bad one, so a caller stores
the good ones in batches and reports the rest as file:line. A field holding
HTML instead of text gets the main text extracted by the project's own
extraction (as a crawled page would), and the article a warning saying so.
`import_files` is the whole import: batches of upserts, one transaction each,
then one rematch per narrative.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from narrative_archive import store, urls
from narrative_archive.config import Config
from narrative_archive.extract import article as extract
from narrative_archive.extract import dates, language
from narrative_archive.ingest.records import (
    FORMATS,
    RowError,
    guess_format,
    read_records,
)
from narrative_archive.match import narratives as narratives_module

BATCH_SIZE = 1000

# Other names for our article fields (news-please's, Media Cloud's, common CSV headers).
ALIASES = {
    "maintext": "text",
    "content": "text",
    "body": "text",
    "date_publish": "published_at",
    "publish_date": "published_at",
    "date": "published_at",
    "date_modify": "modified_at",
    "date_download": "fetched_at",
    "author": "authors",
    "headline": "title",
    # the archive's own /-/export/NARRATIVE.csv (export_mentions): its columns come back
    "article_language": "language",
}
_HTML_TAG = re.compile(
    r"<(?:p|div|br|span|a|html|body|article|section|h[1-6]|li|ul|table|script|style|img)"
    r"\b[^>]*>", re.IGNORECASE)

_ANY_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")


@dataclass(frozen=True)
class Problem:
    """A skipped row: where it is and why."""

    path: str
    line: int
    reason: str
    url: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


# --- mapping -------------------------------------------------------------------


def to_article(record: Mapping[str, Any]) -> dict[str, Any]:
    """Our article fields from one record (any format); RowError when it cannot be stored.

    The URL is canonicalized as a crawl would; dates are parsed and checked with
    extraction's rules; content_hash is computed as extraction computes it.
    """
    fields = {}
    for key, value in record.items():
        name = ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
        if value not in (None, "", []) and name not in fields:
            fields[name] = value
    warnings: list[str] = []
    url = _text(fields.get("url"))
    if not url:
        raise RowError("no url")
    if urlsplit(url).scheme.lower() not in ("http", "https") or not urls.host_of(url):
        raise RowError(f"not a web URL: {url!r}")
    try:
        canonical = urls.canonicalize_url(_text(fields.get("canonical_url")) or url)
        fetched = urls.canonicalize_url(url)
    except ValueError as error:
        raise RowError(f"invalid URL: {url!r}") from error
    if canonical != fetched and not urls.trusted_canonical(url, canonical):
        warnings.append(f"canonical URL {canonical} is another site's: not believed")
        canonical = fetched
    title = _text(fields.get("title"))
    text = _text(fields.get("text"))
    if not text:
        raise RowError("no text")
    if _HTML_TAG.search(text):
        try:
            text = extract.extract_article(text, url).text
        except extract.ExtractError as error:
            raise RowError(f"text is HTML and has no article text ({error})") from error
        warnings.append("text was HTML: its main text was extracted")
    if title and _ANY_TAG.search(title):
        title = " ".join(lxml.html.fromstring(title).text_content().split()) or None
    article = {
        "url": url,
        "canonical_url": canonical,
        "title": title,
        "text": text,
        "description": _text(fields.get("description")),
        "authors": _authors(fields.get("authors")),
        "language": language.normalise_language(fields.get("language")),
        "links": _list(fields.get("links")),
        "content_hash": extract.content_hash(text, title),
        "domain": urls.host_of(url).removeprefix("www."),
    }
    for name in ("published_at", "modified_at", "first_seen_at", "fetched_at"):
        article[name] = _date(fields.get(name), name)
    article["warnings"] = warnings
    return article


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                value = [value]
        else:
            value = re.split(r"\s*;\s*|\s*\|\s*", value)
    if not isinstance(value, list):
        value = [value]
    return [str(item).strip() for item in value if str(item).strip()]


def _authors(value: Any) -> list[str]:
    return list(dict.fromkeys(_list(value)))


def _date(value: Any, name: str) -> str | None:
    """A date as extraction writes it (UTC ISO 8601, or a day); RowError when it is
    unparsable or implausible (before 1990, or days ahead)."""
    if value in (None, ""):
        return None
    warnings: list[str] = []
    formatted = dates.first_date([(name, value)], warnings)
    if formatted is None:
        problem = warnings[0].split(" in ")[0] if warnings else "unparsable date"
        raise RowError(f"{problem} in {name}: {str(value)!r}")
    return formatted


def read_articles(path: str | Path, fmt: str | None = None,
                  progress: Callable[[int], None] | None = None
                  ) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """(line, article) for every good row of a file, (line, Problem) for every bad one:
    broken records, missing URLs or text, bad dates, HTML without article text, and a
    second row with the same canonical URL in the file."""
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    seen: dict[int, int] = {}  # hash of canonical URL → line, per file
    for line, record in read_records(path, fmt, progress):
        if isinstance(record, RowError):
            yield line, Problem(str(path), line, str(record))
            continue
        try:
            article = to_article(record)
        except RowError as error:
            yield line, Problem(str(path), line, str(error), _text(record.get("url")))
            continue
        key = hash(article["canonical_url"])
        if key in seen:
            yield line, Problem(str(path), line, f"duplicate of line {seen[key]}",
                                article["url"])
            continue
        seen.setdefault(key, line)
        yield line, article


# --- the import -------------------------------------------------------------------


@dataclass
class Summary:
    """What an import did."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    mentions: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None
    unconfigured_outlets: list[str] = field(default_factory=list)


class OutletMap:
    """Which outlet an article belongs to: a configured outlet owning its host (or a parent
    domain), else an outlet row for its domain, created as search results get one."""

    def __init__(self, db, config: Config, outlet_id: str | None = None):
        self.db = db
        self.fixed = outlet_id
        self.by_domain = {domain.lower().removeprefix("www."): outlet.id
                          for outlet in config.outlets for domain in outlet.domains}
        self.unconfigured: list[str] = []  # domains no configured outlet owns

    def __call__(self, domain: str) -> str | None:
        if self.fixed:
            return self.fixed
        host = domain
        while host:
            if host in self.by_domain:
                return self.by_domain[host]
            _, _, host = host.partition(".")
        if not domain:
            return None
        outlet_id = store.ensure_outlet_for_domain(self.db, domain)
        self.by_domain[domain] = outlet_id
        self.unconfigured.append(outlet_id)
        return outlet_id


def import_files(
    db,
    paths: Iterable[str | Path],
    config: Config,
    fmt: str | None = None,
    outlet_id: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_batch: Callable[[Summary], None] | None = None,
) -> Summary:
    """Import files into the archive (via='import'), recorded as a crawl run of spider
    'import'; then rematch every narrative once. Each batch is one transaction, so an
    interruption keeps whole batches and a second run upserts the rest."""
    paths = [str(path) for path in paths]
    if outlet_id and outlet_id not in {outlet.id for outlet in config.outlets}:
        raise ValueError(f"unknown outlet {outlet_id!r}: not in outlets.yml")
    store.set_synchronous(db, "NORMAL")
    narratives_module.sync_config(db, config)
    summary = Summary()
    summary.run_id = store.start_run(db, "import", {"files": paths, "format": fmt,
                                                    "outlet": outlet_id})
    outlets = OutletMap(db, config, outlet_id)
    batch: list[dict[str, Any]] = []

    def flush():
        for article in batch:
            article["outlet_id"] = outlets(article.pop("domain"))
        counts = store.save_articles_bulk(db, batch, via="import")
        for key, value in counts.items():
            setattr(summary, key, getattr(summary, key) + value)
        batch.clear()
        store.update_run(db, summary.run_id, pages=summary.rows, new_articles=summary.new,
                         updated_articles=summary.updated, errors=summary.skipped)
        if on_batch:
            on_batch(summary)

    try:
        for path in paths:
            for _line, item in read_articles(path, fmt, progress):
                summary.rows += 1
                if isinstance(item, Problem):
                    summary.skipped += 1
                    summary.problems.append(item)
                    store.record_error(db, summary.run_id, item.url, str(item))
                    if on_problem:
                        on_problem(item)
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
        flush()
        summary.mentions = narratives_module.rematch_many(db, config.narratives)
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        store.finish_run(
            db, summary.run_id, "failed", pages=summary.rows, new_articles=summary.new,
            updated_articles=summary.updated,
            message=("interrupted: " if interrupted else f"{type(error).__name__}: {error}: ")
            + f"{summary.new} new articles kept; import again to resume")
        raise
    summary.unconfigured_outlets = outlets.unconfigured
    mentions = sum(r.get("added", 0) for r in summary.mentions.values())
    store.finish_run(
        db, summary.run_id, run_status(summary), pages=summary.rows, new_articles=summary.new,
        updated_articles=summary.updated, mentions=mentions,
        message=describe(summary))
    return summary


def run_status(summary: Summary) -> str:
    """ok, unless there were rows and every one of them failed."""
    return "failed" if summary.rows and summary.skipped == summary.rows else "ok"


def describe(summary: Summary) -> str:
    return (f"{summary.rows} rows: {summary.new} new, {summary.updated} updated,"
            f" {summary.unchanged} already in the archive, {summary.skipped} skipped")


def total_bytes(paths: Iterable[str | Path]) -> int:
    return sum(Path(path).stat().st_size for path in paths)
