"""py3langid's language model, memory-mapped from an uncompressed copy on disk.

py3langid unpacks its model (4.5 MB of LZMA) into 74 MiB of arrays and lists on the heap
of the process that loads it. In the crawl that was the extraction forkserver, and every
worker forked from it: shared, but a page on the heap counts in full in the RSS of each
process that inherited it (three times for two workers), and a worker kept all of it
whatever its pages needed. Here the model's tables are written once, uncompressed, under
the user's cache folder ($XDG_CACHE_HOME, else ~/.cache: narrative-archive/py3langid-*,
64 MiB) and mapped read-only: every process shares the same page-cache pages (which the
kernel may drop and read again, like a library's), a process holds only the pages its
texts walk through, and a new process starts without decompressing.

The identifier classifies exactly as py3langid's own (tests/test_language.py): the
same tables, read through memoryviews instead of lists and arrays. When the cache folder
cannot be written (or py3langid's layout is not the one expected) the model is loaded the
usual way, with a debug log line.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

logger = logging.getLogger(__name__)

_FORMAT = 1  # of the cached files; a new value writes a new folder
# name: (dtype, memory-mapped); the three DFA tables are read through memoryviews
_TABLES = {"ptc": ("float16", True), "pc": ("float32", False), "nextmove": ("uint32", True),
           "rowbase": ("uint32", True), "output": ("int32", True)}


def identifier(norm_probs: bool = True) -> LanguageIdentifier:
    """py3langid's LanguageIdentifier on the memory-mapped model (the heap copy if need be)."""
    model = Path(MODEL_DIR) / MODEL_FILE
    try:
        folder = cache_folder(model)
        if not (folder / "classes.json").exists():
            _write(model, folder)
        return _mapped(folder, norm_probs)
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as error:
        logger.debug("language model not memory-mapped (%s): loaded on the heap", error)
        return LanguageIdentifier.from_model_file(str(model), norm_probs=norm_probs)


def cache_folder(model: Path) -> Path:
    """Where the uncompressed tables of this py3langid model go (one folder per version)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    stamp = model.stat()
    version = metadata.version("py3langid")
    return base / "narrative-archive" / f"py3langid-{version}-{stamp.st_size}-{_FORMAT}"


def _write(model: Path, folder: Path) -> None:
    """Unpack the model the usual way and write its tables; another process writing the
    same folder at once is harmless (the first rename wins)."""
    stock = LanguageIdentifier.from_model_file(str(model), norm_probs=False)
    tables: dict[str, Any] = {"ptc": stock.nb_ptc, "pc": stock.nb_pc,
                              "nextmove": stock.tk_nextmove, "rowbase": stock._rowbase,
                              "output": stock.tk_output}
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(folder.parent)
    temporary = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
    try:
        for name, (dtype, _) in _TABLES.items():
            table = np.asarray(tables[name])
            converted = table.astype(dtype)
            if converted.shape != table.shape or not np.array_equal(converted, table):
                raise ValueError(f"py3langid's {name} does not fit {dtype}")
            np.save(temporary / f"{name}.npy", converted)
        (temporary / "classes.json").write_text(json.dumps(list(stock.nb_classes)))
        del stock, tables, table, converted
        try:
            os.rename(temporary, folder)
        except OSError:
            if not (folder / "classes.json").exists():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _remove_abandoned(parent: Path, older_than: float = 3600.0) -> None:
    """Half-written folders a killed process left behind (a live writer takes seconds)."""
    now = time.time()
    for leftover in parent.glob(".writing-*"):
        try:
            if now - leftover.stat().st_mtime > older_than:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


# The read-only maps of the tables this process classifies with (see release).
_MAPS: list[mmap.mmap] = []


def _mapped(folder: Path, norm_probs: bool) -> LanguageIdentifier:
    tables = {name: _map(folder / f"{name}.npy") if mapped else np.load(folder / f"{name}.npy")
              for name, (_, mapped) in _TABLES.items()}
    classes = json.loads((folder / "classes.json").read_text())
    if tables["ptc"].shape != (tables["ptc"].shape[0], len(classes)) \
            or len(tables["rowbase"]) != len(tables["output"]):
        raise ValueError(f"{folder}: tables of mismatched sizes")
    nextmove, rowbase, output = (tables[name].data  # memoryviews, read like lists
                                 for name in ("nextmove", "rowbase", "output"))
    found = LanguageIdentifier(tables["ptc"], tables["pc"], classes, nextmove, output,
                               norm_probs=norm_probs, tk_row=())
    found._rowbase = rowbase  # what __init__ computes from tk_row, precomputed
    return found


def _map(path: Path) -> np.ndarray:
    """The .npy file's array on a read-only map of the file (numpy's header read first)."""
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        if version != (1, 0):
            raise ValueError(f"{path}: .npy version {version}")
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
        if fortran:
            raise ValueError(f"{path}: not in C order")
        offset = file.tell()
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    _MAPS.append(mapped)
    return np.frombuffer(mapped, dtype=dtype, offset=offset).reshape(shape)


def release() -> None:
    """Drop this process's hold on the model's pages (they stay in the page cache for the
    processes that use them): for the forkserver, after its warm-up, so that it does not
    keep pages it will never read again; the next classification maps them back."""
    for mapped in _MAPS:
        if hasattr(mapped, "madvise"):
            mapped.madvise(mmap.MADV_DONTNEED)
