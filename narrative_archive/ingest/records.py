"""Reading collections for `narrative-archive import`: records (dicts) out of JSON lines,
news-please's JSON (one document per file, or a list) and CSV, each with its line, or a
RowError saying why a record is broken. Pure: no database, no mapping to articles."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

FORMATS = ("jsonl", "news-please", "csv")
NEWS_PLEASE_KEYS = frozenset(("maintext", "date_publish", "source_domain", "date_download"))


class RowError(ValueError):
    """A row that cannot be imported; str() is the reason shown beside file:line."""


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
                if isinstance(whole, RowError):  # one document, broken: one error, not one a line
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
