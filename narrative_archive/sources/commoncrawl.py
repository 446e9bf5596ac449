"""Common Crawl: per-crawl CDX indexes (collinfo.json) and WARC records by byte range.

Index server: {index}/collinfo.json lists the crawls, each with its time range;
{index}/{crawl}-index?url=…&output=json answers JSON lines (pywb). A record
is fetched from {data}/{filename} with Range: bytes=offset-(offset+length-1)
and is one gzipped WARC record, read with warcio. Pure functions.

Filters are pywb's, not the Wayback CDX server's: `filter=url:x` tests whether the URL
contains the text x; a regex needs `~url:`, an exact value `=status:200`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from warcio.archiveiterator import ArchiveIterator

from narrative_archive.sources.wayback import timestamp_iso
from narrative_archive.times import parse_iso

DEFAULT_INDEX_URL = "https://index.commoncrawl.org"
DEFAULT_DATA_URL = "https://data.commoncrawl.org"


@dataclass(frozen=True)
class Crawl:
    id: str  # CC-MAIN-2017-04
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Record:
    """An index line: where one capture's WARC record is."""

    url: str
    timestamp: str
    filename: str
    offset: int
    length: int
    mime: str | None = None
    status: str | None = None

    @property
    def captured_at(self) -> str:
        return timestamp_iso(self.timestamp)

    @property
    def capture(self) -> str:
        """The record's id: which file, where."""
        return f"{self.filename}:{self.offset}"


@dataclass(frozen=True)
class Response:
    """The HTTP response inside a WARC record."""

    url: str
    status: int
    content_type: str
    body: bytes
    date: str | None


def parse_collinfo(body: bytes) -> list[Crawl]:
    """The crawls of collinfo.json (ValueError when it is not a list of crawls)."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        raise ValueError("collinfo.json is not JSON") from None
    if not isinstance(data, list):
        raise ValueError("collinfo.json is not a list of crawls")
    return [Crawl(str(item["id"]), parse_iso(item.get("from")), parse_iso(item.get("to")))
            for item in data if isinstance(item, dict) and item.get("id")]


def crawls_between(crawls: list[Crawl], since: datetime | None,
                   until: datetime | None) -> list[Crawl]:
    """The crawls whose time range overlaps [since, until], oldest first (undated ones too)."""
    chosen = [c for c in crawls
              if not (until and c.start and c.start > until)
              and not (since and c.end and c.end < since)]
    return sorted(chosen, key=lambda c: (c.start or datetime.min.replace(tzinfo=UTC), c.id))


def index_url(base: str, crawl: str, domain: str, *, since: datetime | None,
              until: datetime | None, url_regex: str | None = None, page: int | None = None,
              num_pages: bool = False) -> str:
    """A query of one crawl's index for a domain's HTML captures (status 200) in a range."""
    params = [("url", f"*.{domain}"), ("output", "json")]
    if since:
        params.append(("from", since.astimezone(UTC).strftime("%Y%m%d%H%M%S")))
    if until:
        params.append(("to", until.astimezone(UTC).strftime("%Y%m%d%H%M%S")))
    # pywb filters (pywb/warcserver/index/cdxops.py CDXFilter): `=` exact, `~` a regex
    # (re.match), no prefix a substring test; cdx_toolkit's README: "=status:200".
    params += [("filter", "=status:200"), ("filter", "=mime:text/html")]
    if url_regex:
        params.append(("filter", f"~url:{url_regex}"))
    if num_pages:
        params.append(("showNumPages", "true"))
    elif page is not None:
        params.append(("page", str(page)))
    return f"{base.rstrip('/')}/{crawl}-index?{urlencode(params, quote_via=quote)}"


def parse_index(body: bytes) -> list[Record]:
    """The JSON lines of an index answer; ValueError for a line that is not a record."""
    records = []
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            records.append(Record(
                url=item["url"], timestamp=str(item["timestamp"]), filename=item["filename"],
                offset=int(item["offset"]), length=int(item["length"]),
                mime=item.get("mime-detected") or item.get("mime"), status=item.get("status"),
            ))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"index line {number} is not a record: {line[:80]!r}") from None
    return records


def parse_num_pages(body: bytes) -> int:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
        return int(data["pages"] if isinstance(data, dict) else data)
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"not a page count: {body[:80]!r}") from None


def data_url(base: str, record: Record) -> str:
    return f"{base.rstrip('/')}/{record.filename}"


def byte_range(record: Record) -> str:
    """The Range header value that fetches exactly this record."""
    return f"bytes={record.offset}-{record.offset + record.length - 1}"


def read_record(data: bytes) -> Response:
    """The HTTP response of the (gzipped) WARC record fetched by byte range."""
    try:
        for warc in ArchiveIterator(io.BytesIO(data)):
            if warc.rec_type != "response" or warc.http_headers is None:
                continue
            headers = warc.http_headers
            status = int((headers.get_statuscode() or "0").split()[0] or 0)
            return Response(
                url=warc.rec_headers.get_header("WARC-Target-URI") or "",
                status=status, content_type=headers.get_header("Content-Type") or "",
                body=warc.content_stream().read(),
                date=warc.rec_headers.get_header("WARC-Date"),
            )
    except Exception as error:  # warcio raises several kinds on a damaged record
        raise ValueError(f"unreadable WARC record: {error}") from error
    raise ValueError("no HTTP response in the WARC record")
