"""The Internet Archive's Wayback Machine: its CDX server and raw captures.

CDX server: {base}/cdx/search/cdx (documented parameters: url, matchType,
from/to, output=json, fl, filter=[!]field:regex, collapse, limit,
showResumeKey/resumeKey, showNumPages). Raw capture bodies: {base}/web/{timestamp}id_/{url}
(the id_ flag skips the archive's rewriting). Pure functions: URLs in, rows out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urljoin, urlsplit

from narrative_archive.times import iso

DEFAULT_URL = "https://web.archive.org"
FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
PAGE_SIZE = 1000
_CAPTURE_PATH = re.compile(r"^/web/(\d{4,14})(?:[a-z]{2}_)?/(.+)$", re.S)


@dataclass(frozen=True)
class Capture:
    """One CDX row: an archived response of `url` at `timestamp`."""

    url: str  # the original URL
    timestamp: str  # 14 digits, UTC
    mimetype: str | None = None
    status: str | None = None
    digest: str | None = None
    length: int | None = None

    @property
    def captured_at(self) -> str:
        return timestamp_iso(self.timestamp)


@dataclass(frozen=True)
class CdxPage:
    captures: list[Capture]
    resume_key: str | None  # None: the listing is complete


def timestamp_iso(timestamp: str) -> str:
    """A Wayback timestamp (yyyyMMddhhmmss, maybe shorter) as UTC ISO 8601."""
    digits = (timestamp + "0101000000"[len(timestamp) - 4:]) if len(timestamp) < 14 else timestamp
    moment = datetime.strptime(digits[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return iso(moment)


def timestamp_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def cdx_url(base: str, domain: str, *, since: datetime | None, until: datetime | None,
            url_regex: str | None = None, limit: int = PAGE_SIZE, resume_key: str | None = None,
            subdomains: bool = True, num_pages: bool = False) -> str:
    """A CDX query for the HTML captures (status 200) of a domain in a date range.

    One row per URL (collapse=urlkey keeps its first capture in the range).
    `url_regex` narrows to originals matching it; `num_pages` asks only for the
    size of the listing (the number of index pages).
    """
    params: list[tuple[str, str]] = [("url", domain), ("matchType", "domain" if subdomains else "host")]
    if since:
        params.append(("from", since.astimezone(UTC).strftime("%Y%m%d")))
    if until:
        params.append(("to", until.astimezone(UTC).strftime("%Y%m%d")))
    if num_pages:
        params.append(("showNumPages", "true"))
    else:
        params += [("output", "json"), ("fl", ",".join(FIELDS))]
    params += [("filter", "statuscode:200"), ("filter", "mimetype:text/html")]
    if url_regex:
        params.append(("filter", f"original:{url_regex}"))
    if not num_pages:
        params += [("collapse", "urlkey"), ("limit", str(limit)), ("showResumeKey", "true")]
        if resume_key:
            params.append(("resumeKey", resume_key))
    return f"{base.rstrip('/')}/cdx/search/cdx?{urlencode(params, quote_via=quote)}"


def copies_url(base: str, url: str, *, since: datetime | None, until: datetime | None,
               limit: int = PAGE_SIZE, resume_key: str | None = None) -> str:
    """A CDX query for the archived copies of one URL (a feed, a sitemap) in a range, one a
    day at most (collapse=timestamp:8: adjacent captures of the same day are one)."""
    params: list[tuple[str, str]] = [("url", url), ("matchType", "exact")]
    if since:
        params.append(("from", since.astimezone(UTC).strftime("%Y%m%d")))
    if until:
        params.append(("to", until.astimezone(UTC).strftime("%Y%m%d")))
    params += [("output", "json"), ("fl", ",".join(FIELDS)), ("filter", "statuscode:200"),
               ("collapse", "timestamp:8"), ("limit", str(limit)), ("showResumeKey", "true")]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{base.rstrip('/')}/cdx/search/cdx?{urlencode(params, quote_via=quote)}"


def parse_cdx(body: bytes) -> CdxPage:
    """Rows of a CDX JSON answer (header row first; an empty row then the resume key last).

    ValueError, saying what came instead, for anything that is not a complete answer:
    an HTML error page, truncated JSON, rows of the wrong shape.
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return CdxPage([], None)
    try:
        rows = json.loads(text)
    except ValueError:
        if text.startswith("["):
            raise ValueError(f"truncated CDX answer ({len(body)} bytes)") from None
        raise ValueError(f"not a CDX answer: {' '.join(text.split())[:120]}") from None
    if not isinstance(rows, list) or any(not isinstance(row, list) for row in rows):
        raise ValueError("not a CDX answer: expected a list of rows")
    if not rows:
        return CdxPage([], None)
    header, rows = rows[0], rows[1:]
    resume_key = None
    if len(rows) >= 2 and rows[-2] == [] and len(rows[-1]) == 1:
        resume_key, rows = str(rows[-1][0]), rows[:-2]
    captures = []
    for row in rows:
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(f"CDX row with {len(row)} fields, the header has {len(header)}")
        record = dict(zip(header, row, strict=True))
        if not record.get("original") or not str(record.get("timestamp", "")).isdigit():
            continue
        length = str(record.get("length") or "")
        captures.append(Capture(
            url=record["original"], timestamp=str(record["timestamp"]),
            mimetype=record.get("mimetype"), status=record.get("statuscode"),
            digest=record.get("digest"),
            length=int(length) if length.isdigit() else None,
        ))
    return CdxPage(captures, resume_key)


def parse_num_pages(body: bytes) -> int:
    """The answer to showNumPages=true: a number (of index pages)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"not a page count: {text[:80]!r}") from None
    if isinstance(value, dict):
        value = value.get("pages")
    if not isinstance(value, int):
        raise ValueError(f"not a page count: {text[:80]!r}")
    return value


def raw_url(base: str, timestamp: str, url: str) -> str:
    """The capture's body as archived, unrewritten."""
    return f"{base.rstrip('/')}/web/{timestamp}id_/{url}"


def capture_of(base: str, location: str) -> tuple[str, str] | None:
    """(timestamp, original URL) when `location` is a capture URL of this archive, else None."""
    absolute = urljoin(base.rstrip("/") + "/", location)
    parts, home = urlsplit(absolute), urlsplit(base)
    if (parts.scheme, parts.netloc) != (home.scheme, home.netloc):
        return None
    path = absolute[len(f"{parts.scheme}://{parts.netloc}"):]
    prefix = home.path.rstrip("/")
    if prefix and not path.startswith(prefix):
        return None
    match = _CAPTURE_PATH.match(path[len(prefix):])
    if not match:
        return None
    return match[1], match[2]
