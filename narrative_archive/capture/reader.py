"""WARC records read back: by file and offset (path-checked against the captures
directory), or a whole file in order, never stopping at a bad record.

A crawl killed mid-write, a corrupt stretch or stray bytes are reported by file
and offset (an UnreadableRecord, or a CaptureProblem when iterating), and reading
carries on at the next record the file still holds.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader

from narrative_archive.capture.paths import CaptureError, safe_path

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16


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
            resume = _next_magic(fh, offset + 1, end)
            if resume is None:
                return
            offset = resume
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
            resume = _next_magic(fh, offset + 1, end)
            if resume is None:
                return
            offset = resume
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


def request_after(captures_dir: str | os.PathLike, response: StoredRecord) -> bytes | None:
    """The bytes of the request record written right after a response, if it is its pair
    (writer.py writes each response's request at `offset + length`), path-checked."""
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
