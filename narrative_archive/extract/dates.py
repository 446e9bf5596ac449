"""Dates: parse what pages, feeds and sitemaps write, and keep only the plausible ones.

``plausible_date`` is the one test of a publication date, whatever its source;
``first_date`` takes the first good one of a page's candidates and turns the
bad ones into warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from narrative_archive.extract.metadata import clean_text
from narrative_archive.times import iso

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date",
    "date",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{8}$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")
_EXTRA_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
)
_EARLIEST = date(1990, 1, 1)
_FUTURE_SLACK = timedelta(days=2)


def published_sources(node: dict[str, Any], meta: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """(source, value) pairs for a publication date, best first: JSON-LD, then meta tags."""
    yield "JSON-LD datePublished", node.get("datePublished")
    yield "JSON-LD dateCreated", node.get("dateCreated")
    for key in _PUBLISHED_META:
        yield f"meta {key}", meta.get(key)


def modified_sources(node: dict[str, Any], meta: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """(source, value) pairs for a modification date, best first: JSON-LD, then meta tags."""
    yield "JSON-LD dateModified", node.get("dateModified")
    for key in _MODIFIED_META:
        yield f"meta {key}", meta.get(key)


def first_date(sources: Iterable[tuple[str, Any]], warnings: list[str]) -> str | None:
    """The first source's date as UTC ISO 8601; bad ones become warnings and are skipped."""
    for source, value in sources:
        raw = clean_text(value) if not isinstance(value, (int, float)) else str(value)
        if not raw:
            continue
        try:
            parsed = parse_date(raw)
        except (ValueError, TypeError, OverflowError):
            warnings.append(f"unparsable date in {source}: {raw!r}")
            continue
        formatted = plausible_date(parsed)
        if formatted is None:
            warnings.append(f"implausible date in {source}: {raw!r}")
            continue
        return formatted
    return None


def parse_date(raw: str) -> date | datetime:
    """Parse ISO 8601, RFC 2822, epoch seconds and a few common layouts."""
    if _DATE_ONLY.match(raw):
        return date.fromisoformat(raw)
    if _EPOCH.match(raw):
        seconds = int(raw) / (1000 if len(raw) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(raw)
    except (ValueError, TypeError, IndexError):
        pass
    for layout in _EXTRA_FORMATS:
        try:
            parsed = datetime.strptime(raw, layout)
        except ValueError:
            continue
        return parsed if "%H" in layout or "%I" in layout else parsed.date()
    raise ValueError(raw)


def plausible_date(parsed: date | datetime) -> str | None:
    """Format as "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD"; None before 1990 or > 2 days ahead.

    The one test of a publication date, whatever its source: the page, a feed,
    a sitemap or a search result.
    """
    if parsed.year < _EARLIEST.year:
        return None
    now = datetime.now(UTC)
    if isinstance(parsed, datetime):
        # A time without a zone is taken as UTC.
        utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        if utc.date() < _EARLIEST or utc > now + _FUTURE_SLACK:
            return None
        return iso(utc)
    if parsed > (now + _FUTURE_SLACK).date():
        return None
    return parsed.isoformat()


def parse_listed_date(value: str | None) -> datetime | None:
    """A date as feeds and sitemaps write it (W3C/ISO 8601 or RFC 822), else None."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def prefer_listed_date(extracted: str | None, listed: str | None) -> str | None:
    """The page's own publication date, unless it has none or only a day and the feed or
    sitemap gave a full timestamp (a CMS-written listing beats a guess from the page text)."""
    if listed and (not extracted or (len(extracted) == 10 and len(listed) > 10)):
        return listed
    return extracted


def is_date_warning(warning: str) -> bool:
    return "date" in warning.lower()
