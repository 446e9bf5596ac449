"""Every HTTP response as WARC/1.1 records (warcio): the writer of a crawl run's files.

Files are gzip-per-record WARCs named
`narrative-archive-{run_id}-{timestamp}-{serial:05d}.warc.gz` under a captures
directory: one new file per crawl run (never appended to), rotating at
`max_bytes`. Every record is flushed as soon as it is written, so a crawl
killed mid-write leaves all its complete records readable (reader.py reports
the cut one by file and offset and carries on).

Each fetch becomes a `response` record followed directly by its `request`
record (warcio's own order for a pair), linked both ways by
WARC-Concurrent-To, so the request of a response is the record at
`offset + length`.

Bodies are stored as the server sent them: a gzip/br/deflate body keeps its
Content-Encoding header and its encoded bytes, and the payload digest is of
those bytes (warcio's convention; readers decode on the way out). What cannot
be kept raw is normalised and said so in a WARC header: a de-chunked body
loses its `Transfer-Encoding: chunked` (WARC-Original-Transfer-Encoding), and
a body the caller already decoded loses Content-Encoding and Content-Length
(WARC-Original-Content-Encoding).
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from narrative_archive.capture.paths import check_captures_dir
from narrative_archive.times import iso

DEFAULT_MAX_BYTES = 1_000_000_000
# warcio compresses at level 9; level 1 costs about a third of its CPU for ~8% more bytes,
# and the crawl process shares its cores with extraction.
DEFAULT_GZIP_LEVEL = 1


def software() -> str:
    try:
        return f"narrative-archive/{version('narrative-archive')}"
    except PackageNotFoundError:
        return "narrative-archive"


@dataclass(frozen=True)
class CaptureRecord:
    """Where one response landed: what a `captures` row holds."""

    warc_file: str  # relative to the captures dir
    offset: int  # of the response record's gzip member
    length: int  # of that member, in bytes (the request record follows at offset + length)
    payload_digest: str  # WARC-Payload-Digest, "sha1:<base32>" of the body as stored
    record_id: str  # WARC-Record-ID, "<urn:uuid:...>"
    content_type: str | None  # the response's Content-Type header
    status: int
    url: str
    fetched_at: str  # UTC ISO 8601 to the second, as the archive writes times


@dataclass(frozen=True)
class BuiltPair:
    """One fetch's response and request records, each its own gzip member, not yet in a
    file (build_pair): what an extraction worker hands back for the crawl process to
    append (CaptureWriter.append)."""

    data: bytes  # the response record's gzip member, then the request record's
    response_length: int  # bytes of the response record's member
    payload_digest: str
    record_id: str  # the response record's WARC-Record-ID
    content_type: str | None
    status: int
    url: str
    fetched_at: str


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _pairs(headers: Iterable[tuple[str | bytes, str | bytes]] | dict | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    pairs = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(_text(name), _text(v)) for v in values]
    return pairs


def _when(fetched_at: datetime | str | None) -> datetime:
    if fetched_at is None:
        return datetime.now(UTC)
    if isinstance(fetched_at, str):
        fetched_at = datetime.fromisoformat(fetched_at)
    if fetched_at.tzinfo is None:
        return fetched_at.replace(tzinfo=UTC)
    return fetched_at.astimezone(UTC)


def _request_target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target, parts.netloc


class _GzipMember:
    """One gzip member per record around a file: warcio's writer (gzip off) writes a record
    into it and flushes, which ends the member and flushes the file."""

    def __init__(self, out, level: int):
        self.out, self.level = out, level
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, 31)

    def write(self, data: bytes) -> None:
        _write_all(self.out, self.compressor.compress(data))

    def flush(self) -> None:
        _write_all(self.out, self.compressor.flush())
        self.out.flush()
        self.compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)


def _write_all(out, data: bytes) -> None:
    """Write all of `data` to an unbuffered file (which may take less than asked and say
    so, as when the disk fills up: the next write then raises)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view):]


class _PayloadDigestWriter(WARCWriter):
    """warcio's writer hashes each body twice (WARC-Payload-Digest when the record is made,
    WARC-Block-Digest when it is written); the block digest is optional in WARC/1.1 and left
    out, so each body is hashed once. Readers that check digests check the payload's."""

    def ensure_digest(self, record, block=True, payload=True):
        super().ensure_digest(record, block=False, payload=payload)


class CaptureWriter:
    """Writes request/response pairs into rotating gzip-per-record WARC/1.1 files.

    `gzip_level` is zlib's 1-9 (1: fastest).

    One writer is one crawl run: its files are new (`x` mode, never appended
    to) and named after `run_id`. Thread-safe: a lock serialises writes, so it
    can be driven from a worker thread. Use as a context manager or call close().
    """

    def __init__(self, captures_dir: str | os.PathLike, run_id: int | str,
                 max_bytes: int = DEFAULT_MAX_BYTES, info: dict[str, str] | None = None,
                 gzip_level: int = DEFAULT_GZIP_LEVEL):
        self.captures_dir = check_captures_dir(captures_dir)
        self.gzip_level = gzip_level
        self.run_id = str(run_id)
        self.max_bytes = max_bytes
        self.info = info or {}
        self.files: list[str] = []  # every file this writer created, relative names
        self._serial = 0
        self._file: io.RawIOBase | None = None
        self._name: str | None = None
        self._lock = threading.Lock()

    # -- files --

    def _open(self) -> tuple[io.RawIOBase, str]:
        """A new file, with its warcinfo record: the file and its name."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"narrative-archive-{self.run_id}-{stamp}-{self._serial:05d}.warc.gz"
            self._serial += 1
            try:
                # Unbuffered: what write() returned is on disk, and truncate() after a failed
                # write cuts the file back without first flushing a half-written record.
                file = open(self.captures_dir / name, "xb", buffering=0)  # noqa: SIM115
                break
            except FileExistsError:
                continue
        self._file, self._name = file, name
        try:
            self._start_file(file, name)
        except BaseException:  # no room even for its warcinfo record: no empty file left
            self._close_file()
            with contextlib.suppress(OSError):
                (self.captures_dir / name).unlink()
            raise
        self.files.append(name)
        return file, name

    def _start_file(self, file: io.RawIOBase, name: str) -> None:
        """A new file's warcinfo record."""
        writer = _PayloadDigestWriter(_GzipMember(file, self.gzip_level),
                                                     gzip=False, warc_version="1.1")
        fields = {
            "software": software(),
            "format": "WARC File Format 1.1",
            "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "isPartOf": f"narrative-archive run {self.run_id}",
            **self.info,
        }
        writer.write_record(writer.create_warcinfo_record(name, fields))
        file.flush()

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = self._name = None

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- records --

    def write(self, url: str, request_method: str, request_headers, status: int,
              reason: str | None, response_headers, body: bytes,
              fetched_at: datetime | str | None = None, protocol: str = "HTTP/1.1", *,
              request_body: bytes = b"", body_decoded: bool = False,
              truncated: str | None = None) -> CaptureRecord:
        """Write one fetch as a `response` then a `request` record; where the response went.

        Headers are (name, value) pairs (str or bytes; a dict or Scrapy Headers
        works too). `body` is the entity body as received after de-chunking;
        `body_decoded=True` says its Content-Encoding was already undone.
        `truncated` sets WARC-Truncated (e.g. "length", "disconnect").
        """
        return self.append(build_pair(
            url, request_method, request_headers, status, reason, response_headers, body,
            fetched_at, protocol, request_body=request_body, body_decoded=body_decoded,
            truncated=truncated, gzip_level=self.gzip_level))

    def append(self, pair: BuiltPair) -> CaptureRecord:
        """Append a pair of records built by build_pair (here or in another process)."""
        with self._lock:
            out, warc_file = self._file, self._name  # both set, or neither
            if out is None or warc_file is None or out.tell() >= self.max_bytes:
                self._close_file()
                out, warc_file = self._open()
            start = out.tell()
            try:
                _write_all(out, pair.data)
            except BaseException:
                # A half-written pair (disk full, ...): cut it off, so the file ends at a
                # record boundary, and start a new file next time.
                with contextlib.suppress(OSError):
                    out.truncate(start)
                self._close_file()
                raise
        return CaptureRecord(
            warc_file=warc_file, offset=start, length=pair.response_length,
            payload_digest=pair.payload_digest, record_id=pair.record_id,
            content_type=pair.content_type, status=pair.status, url=pair.url,
            fetched_at=pair.fetched_at,
        )


def build_pair(url: str, request_method: str, request_headers, status: int,
               reason: str | None, response_headers, body: bytes,
               fetched_at: datetime | str | None = None, protocol: str = "HTTP/1.1", *,
               request_body: bytes = b"", body_decoded: bool = False,
               truncated: str | None = None, gzip_level: int = DEFAULT_GZIP_LEVEL) -> BuiltPair:
    """One fetch's `response` and `request` records as bytes (CaptureWriter.write's
    arguments): a pure function of them, so an extraction worker builds them (compression
    and digest included) and the crawl process only appends the bytes to its file."""
    moment = _when(fetched_at)
    warc_date = datetime_to_iso_date(moment.replace(tzinfo=None), use_micros=True)
    request_pairs = _pairs(request_headers)
    response_pairs = _pairs(response_headers)
    extra: dict[str, str] = {}
    kept = []
    for name, value in response_pairs:
        lower = name.lower()
        if lower == "transfer-encoding":
            extra["WARC-Original-Transfer-Encoding"] = value
        elif body_decoded and lower == "content-encoding":
            extra["WARC-Original-Content-Encoding"] = value
        elif body_decoded and lower == "content-length":
            continue
        else:
            kept.append((name, value))
    if body_decoded:
        kept.append(("Content-Length", str(len(body))))
    target, host = _request_target(url)
    if not any(name.lower() == "host" for name, _ in request_pairs):
        request_pairs.insert(0, ("Host", host))
    reason = reason or _reason(status)
    content_type = next((v for n, v in kept if n.lower() == "content-type"), None)

    buffer = io.BytesIO()
    writer = _PayloadDigestWriter(_GzipMember(buffer, gzip_level), gzip=False,
                                  warc_version="1.1")
    response_headers_dict = {"WARC-Date": warc_date, **extra}
    if truncated:
        response_headers_dict["WARC-Truncated"] = truncated
    response = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body),
        warc_headers_dict=response_headers_dict,
        http_headers=StatusAndHeaders(f"{status} {reason}", kept, protocol=protocol))
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(request_body), length=len(request_body),
        warc_headers_dict={"WARC-Date": warc_date},
        http_headers=StatusAndHeaders(f"{request_method} {target} {protocol}",
                                      request_pairs, protocol=protocol,
                                      is_http_request=True))
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    request_id = request.rec_headers.get_header("WARC-Record-ID")
    response.rec_headers.add_header("WARC-Concurrent-To", request_id)
    request.rec_headers.add_header("WARC-Concurrent-To", response_id)
    writer.write_record(response)  # warcio flushes after every record: one gzip member each
    response_length = buffer.tell()
    writer.write_record(request)
    return BuiltPair(
        data=buffer.getvalue(), response_length=response_length,
        payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
        record_id=response_id, content_type=content_type, status=int(status), url=url,
        fetched_at=iso(moment))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return "Unknown"
