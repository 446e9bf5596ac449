"""The captures directory: checked before a crawl writes to it, and the only place WARC
paths handed to the readers may lead (nothing that resolves outside it is opened).

Where an archive's captures go by default (`captures/` beside the archive) is
narrative_archive.paths.captures_dir.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SUFFIXES = (".warc.gz", ".warc")


class CaptureError(Exception):
    """Something about captures a user must hear about (a bad directory, a bad path, a bad record)."""


class CaptureDirError(CaptureError):
    """The captures directory is missing, not a directory, or not writable."""


class UnsafePath(CaptureError):
    """A WARC path that resolves outside the captures directory."""


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
