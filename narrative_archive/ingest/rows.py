"""Existing collections → articles: read, map and check rows of JSON lines, news-please
output or CSV, for `narrative-archive import` (ingest.importer).

Reading is pure (no database): `read_articles` yields (line, article dict) for
every good row and (line, Problem reason) for every bad one, so a caller stores
the good ones in batches and reports the rest as file:line. A field holding
HTML instead of text gets the main text extracted by the project's own
extraction (as a crawled page would), and the article a warning saying so.
Mapping records to articles (`to_articles`) is a pure function of a chunk of
records, so an import runs it in worker processes; the per-file duplicate check
(`checked`) runs where the rows come back together, in file order.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from narrative_archive import urls
from narrative_archive.extract import article as extract
from narrative_archive.extract import dates, language

FORMATS = ("jsonl", "news-please", "csv")

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
NEWS_PLEASE_KEYS = frozenset(("maintext", "date_publish", "source_domain", "date_download"))
_HTML_TAG = re.compile(
    r"<(?:p|div|br|span|a|html|body|article|section|h[1-6]|li|ul|table|script|style|img)"
    r"\b[^>]*>", re.IGNORECASE)

_ANY_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")


class RowError(ValueError):
    """A row that cannot be imported; str() is the reason shown beside file:line."""


@dataclass(frozen=True)
class Problem:
    """A skipped row: where it is and why."""

    path: str
    line: int
    reason: str
    url: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


# --- formats -----------------------------------------------------------------


def guess_format(path: str | Path) -> str:
    """jsonl, news-please or csv: from the extension, then the first record's keys."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(65536)
    stripped = head.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")):
        return "csv"
    first = stripped.splitlines()[0] if stripped else ""
    try:
        record = json.loads(first)
    except ValueError:  # one pretty-printed object per file: news-please's own output
        return "news-please" if suffix == ".json" or re.search(
            r'"(?:maintext|date_publish|source_domain)"', head) else "jsonl"
    if isinstance(record, list):
        record = record[0] if record and isinstance(record[0], dict) else {}
    if isinstance(record, dict) and NEWS_PLEASE_KEYS & set(record):
        return "news-please"
    return "jsonl"


def _binary_lines(path: Path, progress: Callable[[int], None] | None) -> Iterator[str]:
    with open(path, "rb") as handle:
        for raw in handle:
            if progress:
                progress(len(raw))
            yield raw.decode("utf-8", errors="replace")


def read_records(path: str | Path, fmt: str,
                 progress: Callable[[int], None] | None = None
                 ) -> Iterator[tuple[int, dict | RowError]]:
    """(line, record dict) per record of a file, or (line, RowError) for one that is broken.

    JSON formats take one object per line; a file that is one JSON object (or a
    list of objects) as a whole, as news-please writes them, is one record (or
    one per element) at line 1. CSV needs a header row.
    """
    path = Path(path)
    if fmt == "csv":
        yield from _csv_records(path, progress)
        return
    lines = _binary_lines(path, progress)
    for number, line in enumerate(lines, start=1):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            if number == 1:  # perhaps one pretty-printed object (or list) for the whole file
                whole = _whole_file(path)
                if isinstance(whole, DocumentError):  # one document, broken: one error
                    if progress:
                        progress(path.stat().st_size - len(line.encode("utf-8")))
                    yield whole.line, whole
                    return
                if whole is not None:
                    if progress:
                        progress(path.stat().st_size - len(line.encode("utf-8")))
                    yield from whole
                    return
            yield number, RowError(f"broken JSON: {error.msg} (column {error.colno})")
            continue
        if isinstance(record, list) and number == 1:
            yield from ((1, r if isinstance(r, dict) else RowError("not a JSON object"))
                        for r in record)
            continue
        yield number, record if isinstance(record, dict) else RowError("not a JSON object")


class DocumentError(RowError):
    """A file that is one JSON document (pretty-printed, or a list) and is broken."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


def _whole_file(path: Path) -> list[tuple[int, dict | RowError]] | DocumentError | None:
    """The records of a file that is one JSON document; DocumentError when it is one but
    broken (truncated, say: one error, where reading it line by line would give one per
    line); None when it is not one document (JSON lines with a broken first line)."""
    text = path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if _lines_are_records(text):
            return None
        truncated = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
        return DocumentError(
            f"broken JSON: the file is one JSON document and it "
            f"{'ends early' if truncated else 'breaks'}: {error.msg} (line {error.lineno}, "
            f"column {error.colno})", error.lineno)
    records = data if isinstance(data, list) else [data]
    return [(1, r if isinstance(r, dict) else RowError("not a JSON object")) for r in records]


def _lines_are_records(text: str) -> bool:
    """Whether a JSON text reads as JSON lines: a later line of its first few is an object."""
    for line in text.splitlines()[1:20]:
        line = line.strip()
        if line:
            try:
                if isinstance(json.loads(line), dict):
                    return True
            except ValueError:
                continue
    return False


def _csv_records(path: Path, progress) -> Iterator[tuple[int, dict | RowError]]:
    csv.field_size_limit(sys.maxsize)
    lines = _binary_lines(path, progress)
    sample = next(lines, "")
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" or (
        "\t" in sample and "," not in sample) else "excel"
    reader = csv.DictReader(_chain([sample.lstrip("\ufeff")], lines), dialect=dialect)
    if not reader.fieldnames:
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, RowError(f"broken CSV: {error}")
            start = reader.line_num + 1
            continue
        if None in row:  # more cells than the header has columns
            yield start, RowError(f"{len(row[None])} cells more than the header's columns")
        else:
            yield start, {key: value for key, value in row.items() if value not in (None, "")}
        start = reader.line_num + 1


def _chain(first: Iterable[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


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
            value = re.split(r"[;|]", value)  # each item stripped below: no whitespace run is scanned twice
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


def to_articles(path: str, records: Iterable[tuple[int, dict | RowError]]
                ) -> list[tuple[int, dict[str, Any] | Problem]]:
    """(line, article) or (line, Problem) for each (line, record) of a file: to_article,
    with every failure a Problem. Pure: runs in a worker process on a chunk of records."""
    rows: list[tuple[int, dict[str, Any] | Problem]] = []
    for line, record in records:
        if isinstance(record, RowError):
            rows.append((line, Problem(path, line, str(record))))
            continue
        try:
            rows.append((line, to_article(record)))
        except RowError as error:
            rows.append((line, Problem(path, line, str(error), _text(record.get("url")))))
    return rows


def checked(path: str, rows: Iterable[tuple[int, dict[str, Any] | Problem]]
            ) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """The rows of one file in order, a second row with the same canonical URL a Problem."""
    seen: dict[int, int] = {}  # hash of canonical URL → line, per file
    for line, item in rows:
        if isinstance(item, Problem):
            yield line, item
            continue
        key = hash(item["canonical_url"])
        if key in seen:
            yield line, Problem(path, line, f"duplicate of line {seen[key]}", item["url"])
            continue
        seen.setdefault(key, line)
        yield line, item


def check_format(path: str | Path, fmt: str | None) -> str:
    """The format to read `path` as: `fmt`, else guessed; ValueError for an unknown one."""
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return fmt


def read_articles(path: str | Path, fmt: str | None = None,
                  progress: Callable[[int], None] | None = None
                  ) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """(line, article) for every good row of a file, (line, Problem) for every bad one:
    broken records, missing URLs or text, bad dates, HTML without article text, and a
    second row with the same canonical URL in the file."""
    fmt = check_format(path, fmt)
    rows = (row for record in read_records(path, fmt, progress)
            for row in to_articles(str(path), [record]))
    yield from checked(str(path), rows)
