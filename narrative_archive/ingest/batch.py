"""Extracted articles from elsewhere (a crawl node's batch) into the archive, stored as
the crawl pipeline stores a page: upsert on the canonical URL, its capture linked, the
narratives that match recorded as mentions (with stance), then story and citations.

The rows are JSON lines in the `import` format, read with importer.to_article (the
same mapping and checks as `narrative-archive import`), plus what a crawl knows and an
import does not: outlet_id, via, fetched_at, an archived copy's source, and the
capture. The caller owns the transaction (narrative_archive.fleet.ingest: one per batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from narrative_archive import store
from narrative_archive.analysis import archive as analysis
from narrative_archive.analysis import citations
from narrative_archive.config import Config
from narrative_archive.extract.article import extractor_version
from narrative_archive.ingest.importer import OutletMap
from narrative_archive.ingest.rows import RowError, to_article
from narrative_archive.match import narratives as narratives_module


@dataclass(frozen=True)
class Stored:
    article_id: int
    status: str  # new | updated | unchanged
    mentions: tuple[str, ...]


class ArticleStore:
    """Saves crawled articles like crawl.pipelines.ArchivePipeline._store does."""

    def __init__(self, db, config: Config, extractor: str | None = None):
        self.db, self.config = db, config
        self.extractor = extractor or extractor_version()
        self.outlets = OutletMap(db, config)
        self.outlet_index = citations.outlet_index(config.outlets)
        narratives_module.sync_config(db, config)

    def save(self, record: Mapping[str, Any], run_id: int | None,
             capture: Mapping[str, Any] | None = None) -> Stored:
        """Store one row (inside the caller's transaction); RowError when it cannot be."""
        article = to_article(record)
        domain = article.pop("domain")
        if record.get("claimed_canonical_url"):
            article["claimed_canonical_url"] = record["claimed_canonical_url"]
        outlet_id = record.get("outlet_id") or self.outlets(domain)
        if not article.get("fetched_at"):
            raise RowError("no fetched_at")
        archive = None
        if record.get("archived_at"):
            archive = {"source": record.get("archive_source"), "url": record.get("archive_url"),
                       "archived_at": record.get("archived_at")}
        capture_id = None
        if capture:
            capture_id = store.save_capture(self.db, capture, run_id,
                                            source=record.get("archive_source") or "live")
        article_id, status = store.save_article(
            self.db, article, outlet_id, via=record.get("via") or "import",
            fetched_at=article["fetched_at"], archive=archive, capture_id=capture_id,
            extractor=self.extractor, origin="crawl")
        if capture_id is not None:
            store.link_capture(self.db, capture_id, article_id)
        matched: list[str] = []
        if status != "unchanged":  # read against every narrative, as a crawl's worker reads
            readings = narratives_module.reader_of(self.config.narratives).mentions(
                article.get("title"), article.get("text"), article.get("language"))
            # a new article can only gain mentions; a changed text may also lose one
            candidates = [n for n in self.config.narratives
                          if status == "updated" or n.id in readings]
            if candidates:
                matched = narratives_module.match_article(self.db, article_id, candidates,
                                                          readings)
        if status != "unchanged":
            analysis.analyse_article(self.db, article_id, article, self.outlet_index)
        return Stored(article_id, status, tuple(matched))
