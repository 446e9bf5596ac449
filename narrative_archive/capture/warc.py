"""Evidence: every HTTP response as WARC/1.1 records (warcio), read back by file and offset.

Files are gzip-per-record WARCs named
`narrative-archive-{run_id}-{timestamp}-{serial:05d}.warc.gz` under a captures
directory: one new file per crawl run (never appended to), rotating at
`max_bytes`. Every record is flushed as soon as it is written, so a crawl
killed mid-write leaves all its complete records readable; the reader reports
the cut one by file and offset and carries on.

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

Paths handed to the readers are checked: nothing that resolves outside the
captures directory is opened.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

from narrative_archive.times import iso, now

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1_000_000_000
SUFFIXES = (".warc.gz", ".warc")
GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16
# warcio compresses at level 9; level 1 costs about a third of its CPU for ~8% more bytes,
# and the crawl process shares its cores with extraction.
DEFAULT_GZIP_LEVEL = 1


def software() -> str:
    try:
        return f"narrative-archive/{version('narrative-archive')}"
    except PackageNotFoundError:
        return "narrative-archive"


# --- errors ---------------------------------------------------------------------------------


class CaptureError(Exception):
    """Something about captures a user must hear about (a bad directory, a bad path, a bad record)."""


class CaptureDirError(CaptureError):
    """The captures directory is missing, not a directory, or not writable."""


class UnsafePath(CaptureError):
    """A WARC path that resolves outside the captures directory."""


class UnreadableRecord(CaptureError):
    """A record that cannot be read: truncated, corrupt, or not a WARC record."""

    def __init__(self, warc_file: str, offset: int, reason: str):
        super().__init__(f"{warc_file} at offset {offset}: {reason}")
        self.warc_file, self.offset, self.reason = warc_file, offset, reason


@dataclass(frozen=True)
class CaptureProblem:
    """An unreadable stretch of a WARC file, as iter_records reports it."""

    warc_file: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.warc_file} at offset {self.offset}: {self.reason}"


# --- what a write returns -----------------------------------------------------------------------


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


# --- the directory ------------------------------------------------------------------------------


def check_captures_dir(path: str | os.PathLike, create: bool = True) -> Path:
    """The captures directory, resolved, after proving a file can be written in it.

    Raises CaptureDirError with a message naming the directory when it is missing
    (and `create` is off or fails), not a directory, or not writable. Call it
    before any fetching starts.
    """
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise CaptureDirError(f"captures dir {directory} is not a directory")
    if not directory.exists():
        if not create:
            raise CaptureDirError(f"captures dir {directory} does not exist")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CaptureDirError(
                f"captures dir {directory} cannot be created: {error.strerror or error}") from error
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".write-test-"):
            pass
    except OSError as error:
        raise CaptureDirError(
            f"captures dir {directory} is not writable: {error.strerror or error}") from error
    return directory.resolve()


def safe_path(captures_dir: str | os.PathLike, warc_file: str | os.PathLike) -> Path:
    """The file a relative WARC name points at, refusing anything outside captures_dir.

    Refused (UnsafePath): absolute paths, `..`, names that are not .warc/.warc.gz,
    and symlinks (of the file or a folder) that lead outside the directory.
    """
    name = str(warc_file)
    root = Path(captures_dir).resolve()
    relative = Path(name)
    if not name or "\x00" in name:
        raise UnsafePath(f"refusing WARC path {name!r}: empty or not a path")
    if relative.is_absolute() or relative.drive or relative.anchor:
        raise UnsafePath(f"refusing WARC path {name!r}: absolute paths are not allowed")
    if ".." in relative.parts:
        raise UnsafePath(f"refusing WARC path {name!r}: '..' is not allowed")
    if not name.endswith(SUFFIXES):
        raise UnsafePath(f"refusing WARC path {name!r}: not a .warc or .warc.gz file")
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise UnsafePath(f"refusing WARC path {name!r}: it resolves outside the captures dir")
    return target


# --- writing ------------------------------------------------------------------------------------


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
        self._writer: WARCWriter | None = None
        self._lock = threading.Lock()

    # -- files --

    def _open(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"narrative-archive-{self.run_id}-{stamp}-{self._serial:05d}.warc.gz"
            self._serial += 1
            try:
                # Unbuffered: what write() returned is on disk, and truncate() after a failed
                # write cuts the file back without first flushing a half-written record.
                self._file = open(self.captures_dir / name, "xb", buffering=0)  # noqa: SIM115
                break
            except FileExistsError:
                continue
        self._name = name
        try:
            self._start_file(name)
        except BaseException:  # no room even for its warcinfo record: no empty file left
            self._close_file()
            with contextlib.suppress(OSError):
                (self.captures_dir / name).unlink()
            raise
        self.files.append(name)

    def _start_file(self, name: str) -> None:
        assert self._file is not None
        self._writer = _PayloadDigestWriter(_GzipMember(self._file, self.gzip_level),
                                            gzip=False, warc_version="1.1")
        fields = {
            "software": software(),
            "format": "WARC File Format 1.1",
            "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "isPartOf": f"narrative-archive run {self.run_id}",
            **self.info,
        }
        self._writer.write_record(self._writer.create_warcinfo_record(name, fields))
        self._file.flush()

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = self._writer = self._name = None

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

        with self._lock:
            if self._file is None or self._file.tell() >= self.max_bytes:
                self._close_file()
                self._open()
            writer, out, name = self._writer, self._file, self._name
            start = out.tell()
            try:
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
                writer.write_record(response)  # warcio flushes after every record
                end = out.tell()
                writer.write_record(request)
            except BaseException:
                # A half-written pair (disk full, ...): cut it off, so the file ends at a
                # record boundary, and start a new file next time.
                with contextlib.suppress(OSError):
                    out.truncate(start)
                self._close_file()
                raise
        return CaptureRecord(
            warc_file=name, offset=start, length=end - start,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            record_id=response_id, content_type=content_type, status=int(status), url=url,
            fetched_at=iso(moment),
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return "Unknown"


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRecord:
    """One WARC record read back, with where it is."""

    warc_file: str
    offset: int
    length: int
    type: str  # warcinfo, response, request, ...
    record_id: str | None
    url: str | None
    date: str | None  # WARC-Date
    concurrent_to: str | None
    payload_digest: str | None
    status: int | None  # HTTP status of a response record
    headers: list[tuple[str, str]] = field(repr=False)  # HTTP headers (response or request)
    payload: bytes = field(repr=False)  # the HTTP body as stored (still content-encoded)
    warc_headers: list[tuple[str, str]] = field(repr=False, default_factory=list)

    @property
    def content_type(self) -> str | None:
        return header(self.headers, "Content-Type")

    def body(self) -> bytes:
        """The payload with its Content-Encoding undone (what a browser would render)."""
        return decode_body(self.headers, self.payload)


class ReadRecord(NamedTuple):
    headers: list[tuple[str, str]]
    status: int | None
    body: bytes


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    lower = name.lower()
    return next((value for key, value in headers if key.lower() == lower), None)


def decode_body(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """Undo Content-Encoding (gzip, deflate, br) the way warcio's readers do: a body that
    does not decode as labelled is returned as stored."""
    encodings = [e.strip().lower() for n, v in headers if n.lower() == "content-encoding"
                 for e in v.split(",") if e.strip() and e.strip().lower() != "identity"]
    supported = BufferedReader.get_supported_decompressors()
    for encoding in reversed(encodings):
        encoding = {"x-gzip": "gzip"}.get(encoding, encoding)
        if encoding not in supported:
            break
        payload = BufferedReader(io.BytesIO(payload), decomp_type=encoding).read()
    return payload


def _members(fh, warc_file: str, start: int = 0,
             end: int | None = None) -> Iterator[tuple[int, int, bytes] | CaptureProblem]:
    """Split a gzip-per-record file into (offset, length, decompressed bytes) members.

    A bad member (corrupt, not gzip, cut short) is yielded as a CaptureProblem;
    reading resumes at the next gzip header after it, if any.
    """
    offset = start
    fh.seek(offset)
    while end is None or offset < end:
        head = fh.read(len(GZIP_MAGIC))
        if not head:
            return
        if head != GZIP_MAGIC:
            yield CaptureProblem(warc_file, offset, "not a gzip record (bytes that are no WARC record)")
            offset = _next_magic(fh, offset + 1, end)
            if offset is None:
                return
            fh.seek(offset)
            continue
        decompressor = zlib.decompressobj(wbits=31)
        parts = []
        position = offset
        fh.seek(offset)
        problem = None
        while not decompressor.eof:
            limit = CHUNK if end is None else min(CHUNK, end - position)
            chunk = fh.read(limit) if limit > 0 else b""
            if not chunk:
                problem = "truncated record: the file ends in the middle of it"
                break
            try:
                parts.append(decompressor.decompress(chunk))
            except zlib.error as error:
                problem = f"corrupt gzip data ({error})"
                break
            position += len(chunk)
        if problem:
            yield CaptureProblem(warc_file, offset, problem)
            offset = _next_magic(fh, offset + 1, end)
            if offset is None:
                return
            fh.seek(offset)
            continue
        member_end = position - len(decompressor.unused_data)
        yield offset, member_end - offset, b"".join(parts)
        offset = member_end
        fh.seek(offset)


def _next_magic(fh, start: int, end: int | None) -> int | None:
    fh.seek(start)
    position = start
    tail = b""
    while end is None or position < end:
        chunk = fh.read(CHUNK)
        if not chunk:
            return None
        data = tail + chunk
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return position - len(tail) + found
        tail = data[-(len(GZIP_MAGIC) - 1):]
        position += len(chunk)
    return None


def _parse(warc_file: str, offset: int, length: int, data: bytes) -> StoredRecord:
    try:
        iterator = ArchiveIterator(io.BytesIO(data), no_record_parse=False)
        record = next(iter(iterator))
        payload = record.raw_stream.read()
    except StopIteration as error:
        raise UnreadableRecord(warc_file, offset, "no WARC record in this gzip member") from error
    except Exception as error:  # warcio raises its own and plain errors on garbage
        raise UnreadableRecord(warc_file, offset, f"not a WARC record ({error})") from error
    http = record.http_headers
    status = None
    if http is not None and record.rec_type == "response":
        with contextlib.suppress(ValueError, TypeError):
            status = int(http.get_statuscode())
    headers = list(http.headers) if http is not None else []
    get = record.rec_headers.get_header
    return StoredRecord(
        warc_file=warc_file, offset=offset, length=length, type=record.rec_type,
        record_id=get("WARC-Record-ID"), url=get("WARC-Target-URI"), date=get("WARC-Date"),
        concurrent_to=get("WARC-Concurrent-To"), payload_digest=get("WARC-Payload-Digest"),
        status=status, headers=headers, payload=payload,
        warc_headers=list(record.rec_headers.headers),
    )


def iter_records(path: str | os.PathLike, problems: list[CaptureProblem] | None = None,
                 name: str | None = None) -> Iterator[StoredRecord]:
    """Every readable record of a WARC file, in order; never raises on bad data.

    An unreadable record (truncated tail, corrupt gzip, garbage) is logged as a
    warning naming the file and offset, appended to `problems` if given, and
    skipped: reading resumes at the next record the file still holds.
    `name` is what records report as their warc_file (default: the path).
    """
    label = name or str(path)
    with open(path, "rb") as fh:
        for member in _members(fh, label):
            if isinstance(member, CaptureProblem):
                _report(member, problems)
                continue
            offset, length, data = member
            try:
                yield _parse(label, offset, length, data)
            except UnreadableRecord as error:
                _report(CaptureProblem(label, offset, error.reason), problems)


def _report(problem: CaptureProblem, problems: list[CaptureProblem] | None) -> None:
    log.warning("unreadable WARC record: %s", problem)
    if problems is not None:
        problems.append(problem)


def record_bytes(captures_dir: str | os.PathLike, warc_file: str, offset: int,
                 length: int) -> bytes:
    """The exact bytes of one record's gzip member (for a download), path-checked.

    Raises UnsafePath for a path outside captures_dir, FileNotFoundError for a
    missing file, UnreadableRecord when the range is not one whole record.
    """
    path = safe_path(captures_dir, warc_file)
    offset, length = int(offset), int(length)
    if offset < 0 or length <= 0:
        raise UnreadableRecord(warc_file, offset, f"bad range (offset {offset}, length {length})")
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if offset + length > size:
            raise UnreadableRecord(warc_file, offset,
                                   f"the range ends past the end of the file ({size} bytes)")
        fh.seek(offset)
        data = fh.read(length)
    if not data.startswith(GZIP_MAGIC):
        raise UnreadableRecord(warc_file, offset, "no record starts at this offset")
    decompressor = zlib.decompressobj(wbits=31)
    try:
        decompressor.decompress(data)
    except zlib.error as error:
        raise UnreadableRecord(warc_file, offset, f"corrupt gzip data ({error})") from error
    if not decompressor.eof or decompressor.unused_data:
        raise UnreadableRecord(warc_file, offset, "the range is not exactly one record")
    return data


def read_record(captures_dir: str | os.PathLike, warc_file: str, offset: int,
                length: int | None = None, decode: bool = True) -> ReadRecord:
    """(HTTP headers, status, body) of the record at offset, path-checked.

    The body has its Content-Encoding undone unless `decode=False`. Raises
    UnsafePath, FileNotFoundError, or UnreadableRecord naming file and offset.
    """
    record = stored_record(captures_dir, warc_file, offset, length)
    return ReadRecord(record.headers, record.status,
                      record.body() if decode else record.payload)


def stored_record(captures_dir: str | os.PathLike, warc_file: str, offset: int,
                  length: int | None = None) -> StoredRecord:
    """The whole StoredRecord at offset (read_record's fuller answer), path-checked."""
    path = safe_path(captures_dir, warc_file)
    offset = int(offset)
    if offset < 0:
        raise UnreadableRecord(warc_file, offset, "negative offset")
    with open(path, "rb") as fh:
        end = None if length is None else offset + int(length)
        member = next(_members(fh, warc_file, offset, end), None)
    if member is None:
        raise UnreadableRecord(warc_file, offset, "no record at this offset (end of file)")
    if isinstance(member, CaptureProblem):
        raise UnreadableRecord(warc_file, offset, member.reason)
    start, size, data = member
    if start != offset or (length is not None and size != int(length)):
        raise UnreadableRecord(warc_file, offset, "the range is not exactly one record")
    return _parse(warc_file, start, size, data)


# --- WACZ ---------------------------------------------------------------------------------------


def export_wacz(records: Iterable[tuple[str, int, int]], captures_dir: str | os.PathLike,
                out_path: str | os.PathLike, title: str, description: str | None = None,
                page_titles: dict[str, str] | None = None) -> dict:
    """Package these response records (warc_file, offset, length) as a WACZ for replay.

    Each response record is copied byte for byte with the request record that
    follows it, into one WARC inside the package; `wacz create` (the wacz
    package, called in-process) indexes it and writes the datapackage.
    HTML responses with a 2xx status become the package's pages (titles from
    `page_titles`, by URL). Returns {"records", "pages", "problems"}; an
    unreadable or unsafe record is skipped and listed in problems.
    """
    from wacz.main import main as wacz_main

    out = Path(out_path)
    seen: set[tuple[str, int]] = set()
    pages: list[dict] = []
    problems: list[str] = []
    count = 0
    with tempfile.TemporaryDirectory(prefix="narrative-archive-wacz-") as scratch:
        warc = Path(scratch) / f"{out.stem or 'export'}.warc.gz"
        with open(warc, "wb") as target:
            info = WARCWriter(target, gzip=True, warc_version="1.1")
            info.write_record(info.create_warcinfo_record(warc.name, {
                "software": software(), "format": "WARC File Format 1.1",
                "description": description or title}))
            for warc_file, offset, length in records:
                key = (str(warc_file), int(offset))
                if key in seen:
                    continue
                seen.add(key)
                try:
                    response = stored_record(captures_dir, warc_file, offset, length)
                    data = record_bytes(captures_dir, warc_file, offset, length)
                    request = _request_after(captures_dir, response)
                except (CaptureError, OSError) as error:
                    problems.append(str(error))
                    log.warning("export-wacz skips %s@%s: %s", warc_file, offset, error)
                    continue
                target.write(data)
                if request is not None:
                    target.write(request)
                count += 1
                mime = (response.content_type or "").split(";")[0].strip().lower()
                if response.status and 200 <= response.status < 300 and mime in (
                        "text/html", "application/xhtml+xml"):
                    page = {"id": uuid.uuid4().hex, "url": response.url,
                            "ts": _page_ts(response.date)}
                    if page_titles and page_titles.get(response.url):
                        page["title"] = page_titles[response.url]
                    pages.append(page)
        if not count:
            raise CaptureError("nothing to export: no readable capture among the records given")
        pages_file = Path(scratch) / "pages.jsonl"
        lines = [{"format": "json-pages-1.0", "id": "pages", "title": title}, *pages]
        pages_file.write_text("".join(json.dumps(line) + "\n" for line in lines),
                              encoding="utf-8")
        args = ["create", "-o", str(out), str(warc), "--title", title,
                "--pages", str(pages_file), "--copy-pages"]
        if description:
            args += ["--desc", description]
        out.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()) as chatter:
            code = wacz_main(args)
        if code:
            raise CaptureError(f"wacz create failed: {chatter.getvalue().strip()[-500:]}")
    return {"records": count, "pages": len(pages), "problems": problems}


def _request_after(captures_dir, response: StoredRecord) -> bytes | None:
    """The bytes of the request record written right after a response, if it is its pair."""
    path = safe_path(captures_dir, response.warc_file)
    start = response.offset + response.length
    with open(path, "rb") as fh:
        member = next(_members(fh, response.warc_file, start), None)
        if member is None or isinstance(member, CaptureProblem):
            return None
        offset, length, data = member
        record = _parse(response.warc_file, offset, length, data)
        if record.type != "request" or record.concurrent_to != response.record_id:
            return None
        fh.seek(offset)
        return fh.read(length)


def _page_ts(warc_date: str | None) -> str:
    if not warc_date:
        return now()
    stamp = iso_date_to_timestamp(warc_date)
    return iso(datetime.strptime(stamp[:14], "%Y%m%d%H%M%S"))

