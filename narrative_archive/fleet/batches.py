"""Batches: what a crawl node leaves in shared storage for the archive host.

A batch is a folder of keys under the storage root, named `<job>/<seq>/`:

    articles.jsonl     one extracted article a line, in the `import` format (url,
                       canonical_url, title, text, authors, published_at, ...) plus
                       outlet_id, via and, when captured, `capture` (its record's place
                       in captures.warc.gz and the captures row's fields)
    captures.warc.gz   the articles' WARC response records (one gzip member each)
    manifest.json      written last: id, run, job, node, spider, seq, whether it is
                       the run's final batch (then the run's status and message), the
                       run's counters so far, its errors, and the files' sizes and sha256

A reader lists only manifests, so a batch whose manifest is not there yet is never
read; a manifest names the exact bytes of its files, so a torn file is refused.
`<job>` is the Scrapyd job id, unique per attempt: a rescheduled job writes under
its own name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narrative_archive.fleet.storage import Storage
from narrative_archive.times import now

FORMAT = 1
MANIFEST = "manifest.json"
ARTICLES = "articles.jsonl"
CAPTURES = "captures.warc.gz"


class BadBatch(ValueError):
    """A published batch whose files do not match its manifest."""


def batch_id(job_key: str, seq: int) -> str:
    return f"{job_key}/{seq:05d}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class BatchWriter:
    """Collects one job's articles, captures and errors; publish() writes a batch."""

    storage: Storage
    job_key: str  # the Scrapyd job id (unique per attempt)
    run_id: int | None
    job: str | None
    node: str
    spider: str
    max_articles: int = 500
    seq: int = 0
    started_at: str = field(default_factory=now)
    errors: list[dict] = field(default_factory=list)
    published: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="narrative-archive-batch-")
        self._open()

    def _open(self) -> None:
        self.seq += 1
        folder = Path(self._dir.name)
        self._articles_path = folder / f"{self.seq:05d}-{ARTICLES}"
        self._captures_path = folder / f"{self.seq:05d}-{CAPTURES}"
        self._articles = open(self._articles_path, "w", encoding="utf-8")
        self._captures = open(self._captures_path, "wb")
        self.articles = 0
        self.errors = []

    def add(self, article: dict[str, Any], capture: dict[str, Any] | None = None,
            record: bytes | None = None) -> None:
        """One article (import format); `record` is its WARC response record's gzip member."""
        line = dict(article)
        if capture is not None and record:
            line["capture"] = {**capture, "offset": self._captures.tell(), "length": len(record)}
            self._captures.write(record)
        self._articles.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.articles += 1

    def add_error(self, url: str | None, reason: str, outlet_id: str | None,
                  kind: str = "error") -> None:
        """A failure, or a page not fetched on purpose (`kind` 'skipped'), as the archive
        records it (crawl_errors.kind)."""
        self.errors.append({"url": url, "reason": reason, "outlet_id": outlet_id, "at": now(),
                            "kind": kind})

    @property
    def full(self) -> bool:
        return self.articles >= self.max_articles

    def publish(self, counters: dict[str, int], final: bool = False, status: str | None = None,
                message: str | None = None) -> str | None:
        """Upload this batch (files first, the manifest last) and start the next one.

        An empty batch that is not the final one is not published. Returns the batch id.
        """
        if not final and not self.articles and not self.errors:
            return None
        self._articles.close()
        self._captures.close()
        ident = batch_id(self.job_key, self.seq)
        files = {}
        try:
            for name, path in ((ARTICLES, self._articles_path),
                               (CAPTURES, self._captures_path)):
                if name == CAPTURES and not path.stat().st_size:
                    continue
                self.storage.put_file(f"{ident}/{name}", path)
                files[name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        except BaseException:  # the storage failed: keep collecting, try again next time
            self._articles = open(self._articles_path, "a", encoding="utf-8")
            self._captures = open(self._captures_path, "ab")
            raise
        manifest = {
            "format": FORMAT, "batch": ident, "job_key": self.job_key, "seq": self.seq,
            "run_id": self.run_id, "job": self.job, "node": self.node, "spider": self.spider,
            "started_at": self.started_at, "created_at": now(), "final": final,
            "status": status if final else None, "message": message if final else None,
            "articles": self.articles, "counters": dict(counters), "errors": self.errors,
            "files": files,
        }
        try:
            self.storage.put_bytes(f"{ident}/{MANIFEST}",
                                   json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        except BaseException:
            self._articles = open(self._articles_path, "a", encoding="utf-8")
            self._captures = open(self._captures_path, "ab")
            raise
        self._articles_path.unlink()
        self._captures_path.unlink()
        self.published.append(ident)
        if final:
            self._dir.cleanup()
        else:
            self._open()
        return ident

    def discard(self) -> None:
        for handle in (self._articles, self._captures):
            handle.close()
        self._dir.cleanup()


# --- reading ------------------------------------------------------------------------


def published(storage: Storage, prefix: str = "") -> Iterator[str]:
    """The ids of published batches (those whose manifest is there), in key order."""
    for key in storage.keys(prefix):
        if key.endswith("/" + MANIFEST):
            yield key[: -len(MANIFEST) - 1]


def manifest(storage: Storage, ident: str) -> dict:
    return json.loads(storage.get_bytes(f"{ident}/{MANIFEST}"))


def fetch(storage: Storage, ident: str, manifest: dict, folder: Path) -> dict[str, Path]:
    """Download a batch's files into `folder`, checked against its manifest."""
    paths = {}
    for name, expected in (manifest.get("files") or {}).items():
        path = folder / name
        storage.get_file(f"{ident}/{name}", path)
        if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            raise BadBatch(f"batch {ident}: {name} does not match its manifest")
        paths[name] = path
    return paths


def final_batch(storage: Storage, job_key: str) -> dict | None:
    """The manifest of a job's final batch, if it has been published."""
    ids = sorted(published(storage, job_key + "/"))
    last = manifest(storage, ids[-1]) if ids else None
    return last if last and last.get("final") else None


def read_lines(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def delete(storage: Storage, ident: str) -> None:
    """Remove a batch, manifest first (so it is never seen half-deleted)."""
    storage.delete(f"{ident}/{MANIFEST}")
    for key in list(storage.keys(ident + "/")):
        storage.delete(key)
