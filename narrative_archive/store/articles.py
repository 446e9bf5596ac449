"""Articles and their versions: upserts, dedup reads, bulk import."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import sqlite_utils

from narrative_archive.store.db import _json, reader, transaction
from narrative_archive.times import now

# --- articles --------------------------------------------------------------

ARTICLE_FIELDS = (
    "url", "title", "text", "description", "authors", "published_at", "modified_at",
    "language", "links", "content_hash", "claimed_canonical_url", "warnings",
)


def save_article(
    db: sqlite_utils.Database,
    article: Mapping[str, Any],
    outlet_id: str | None,
    via: str | None = None,
    fetched_at: str | None = None,
    archive: Mapping[str, Any] | None = None,
    *,
    capture_id: int | None = None,
    extractor: str | None = None,
    origin: str = "crawl",
) -> tuple[int, str]:
    """Upsert an article on its canonical URL.

    Returns (article id, what happened): "new", "updated" (text or title changed:
    a new article_versions row), or "unchanged" (only last_seen_at moves).
    first_seen_at is never overwritten. `archive` ({"source": "wayback" |
    "commoncrawl", "url": ..., "archived_at": ...}) says where an archived copy
    came from; the earliest capture recorded is kept. A new version records the
    capture it came from, the extractor and its origin (crawl, reextract,
    revisit, import).
    """
    evidence: dict[str, Any] = {"capture_id": capture_id, "extractor": extractor,
                                "origin": origin}
    fetched_at = fetched_at or now()
    canonical = article.get("canonical_url") or article["url"]
    values = {field: article.get(field) for field in ARTICLE_FIELDS}
    values["authors"] = _json(values["authors"] or [])
    values["links"] = _json(values["links"] or [])
    values["warnings"] = _json(values["warnings"] or [])
    with transaction(db):
        # The crawl_errors high-water mark: errors after it came after this fetch.
        error_mark = db.conn.execute("SELECT max(id) FROM crawl_errors").fetchone()[0] or 0
        existing = db.conn.execute(
            "SELECT id, title, text, content_hash FROM articles WHERE canonical_url = ?",
            [canonical],
        ).fetchone()
        if existing is None:
            cursor = db.conn.execute(
                f"INSERT INTO articles (canonical_url, outlet_id, via, first_seen_at, last_seen_at,"
                f" fetched_at, fetched_after_error_id, {', '.join(ARTICLE_FIELDS)})"
                f" VALUES (?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(ARTICLE_FIELDS))})",
                [canonical, outlet_id, via, fetched_at, fetched_at, fetched_at, error_mark,
                 *values.values()],
            )
            article_id = cursor.lastrowid
            assert article_id is not None  # an INSERT always sets it
            _save_version(db, article_id, fetched_at, values, **evidence)
            _save_archive(db, article_id, archive)
            return article_id, "new"
        article_id, old_title, old_text, old_hash = existing
        _save_archive(db, article_id, archive)
        changed = (values["text"], values["title"]) != (old_text, old_title)
        if changed:
            _replace_text(db, article_id, (old_title, old_text, old_hash), values, fetched_at,
                          outlet_id, error_mark, evidence)
            return article_id, "updated"
        db.conn.execute(
            "UPDATE articles SET last_seen_at = ?, fetched_at = ?, fetched_after_error_id = ?,"
            " published_at = coalesce(published_at, ?), modified_at = coalesce(?, modified_at),"
            " warnings = ? WHERE id = ?",
            [fetched_at, fetched_at, error_mark, values["published_at"], values["modified_at"],
             values["warnings"], article_id],
        )
        return article_id, "unchanged"


def _save_archive(db, article_id: int, archive: Mapping[str, Any] | None) -> None:
    """Record an archived copy's provenance, unless an earlier capture is already recorded."""
    if not archive or not archive.get("archived_at"):
        return
    db.conn.execute(
        "UPDATE articles SET archived_at = ?, archive_url = ?, archive_source = ?"
        " WHERE id = ? AND (archived_at IS NULL OR archived_at > ?)",
        [archive["archived_at"], archive.get("url"), archive.get("source"), article_id,
         archive["archived_at"]],
    )



def _replace_text(db, article_id: int, old: tuple, values: Mapping[str, Any], fetched_at: str,
                  outlet_id: str | None, error_mark: int, evidence: Mapping[str, Any]) -> None:
    """An article's title or text changed: keep what the page said before (its first
    version, when none is stored yet), then store and version what it says now."""
    old_title, old_text, old_hash = old
    if not db.conn.execute(
        "SELECT 1 FROM article_versions WHERE article_id = ?", [article_id]
    ).fetchone():
        _save_version(db, article_id, fetched_at,
                      {"title": old_title, "text": old_text, "content_hash": old_hash})
    assignments = ", ".join(f"{field} = ?" for field in ARTICLE_FIELDS)
    db.conn.execute(
        f"UPDATE articles SET {assignments}, last_seen_at = ?, fetched_at = ?,"
        " fetched_after_error_id = ?, outlet_id = coalesce(outlet_id, ?) WHERE id = ?",
        [*(values[field] for field in ARTICLE_FIELDS), fetched_at, fetched_at, error_mark,
         outlet_id, article_id],
    )
    _save_version(db, article_id, fetched_at, values, **evidence)

def _save_version(db, article_id: int, fetched_at: str, values: Mapping[str, Any],
                  capture_id: int | None = None, extractor: str | None = None,
                  origin: str | None = None) -> None:
    db.conn.execute(
        "INSERT INTO article_versions (article_id, fetched_at, title, text, content_hash,"
        " capture_id, extractor, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [article_id, fetched_at, values.get("title"), values.get("text"),
         values.get("content_hash"), capture_id, extractor, origin],
    )


def _urls_where(db: sqlite_utils.Database, sql: str, urls: Iterable[str], since: str) -> set[str]:
    """Run `sql` (with `{marks}` for the URL placeholders) over URLs in chunks."""
    urls = list(urls)
    found: set[str] = set()
    for start in range(0, len(urls), 400):
        chunk = urls[start:start + 400]
        marks = ", ".join("?" * len(chunk))
        found.update(row[0] for row in db.execute(sql.format(marks=marks), [since, *chunk]))
    return found


def recently_fetched(db: sqlite_utils.Database, urls: Iterable[str], since: str) -> set[str]:
    """Which of these URLs (canonical, or as listed) were fetched at or after `since`:
    stored articles, and search results that matched no narrative."""
    urls = list(urls)
    return _urls_where(
        db, "SELECT canonical_url FROM articles WHERE fetched_at >= ?"
        " AND canonical_url IN ({marks})", urls, since,
    ) | _urls_where(
        db, "SELECT url FROM articles WHERE fetched_at >= ? AND url IN ({marks})", urls, since,
    ) | _urls_where(
        db, "SELECT url FROM unmatched_urls WHERE checked_at >= ? AND url IN ({marks})",
        urls, since,
    )


def mark_seen(db: sqlite_utils.Database, urls: Iterable[str], seen_at: str | None = None) -> int:
    """A feed or sitemap listed these stored articles again (canonical or listed URL) without
    their being refetched: move their last_seen_at (never back). Returns how many moved."""
    seen_at = seen_at or now()
    urls = list(dict.fromkeys(urls))
    moved = 0
    with transaction(db):
        for start in range(0, len(urls), 400):
            chunk = urls[start:start + 400]
            marks = ", ".join("?" * len(chunk))
            moved += db.conn.execute(
                f"UPDATE articles SET last_seen_at = ? WHERE last_seen_at < ?"
                f" AND (canonical_url IN ({marks}) OR url IN ({marks}))",
                [seen_at, seen_at, *chunk, *chunk],
            ).rowcount
    return moved


def save_unmatched(db: sqlite_utils.Database, urls: Iterable[str | None]) -> None:
    """Remember search results that matched no narrative, so they are not refetched at once."""
    checked_at = now()
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO unmatched_urls (url, checked_at) VALUES (?, ?)"
            " ON CONFLICT(url) DO UPDATE SET checked_at = excluded.checked_at",
            [(url, checked_at) for url in dict.fromkeys(urls) if url],
        )


def recently_failed(db: sqlite_utils.Database, urls: Iterable[str], since: str) -> set[str]:
    """Which of these URLs failed at or after `since` (already retried within their run)."""
    return _urls_where(
        db, "SELECT DISTINCT url FROM crawl_errors WHERE at >= ? AND kind = 'error'"
            " AND url IN ({marks})",
        urls, since,
    )


def get_article(db: sqlite_utils.Database, article_id: int) -> dict | None:
    """One article's row, or None."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    return rows[0] if rows else None


# --- bulk import -----------------------------------------------------------

BULK_FIELDS = ARTICLE_FIELDS + ("outlet_id",)


def save_articles_bulk(db: sqlite_utils.Database, articles: Iterable[Mapping[str, Any]],
                       via: str = "import", fetched_at: str | None = None) -> dict[str, int]:
    """Upsert many articles on their canonical URL in one transaction (executemany).

    Same outcomes as save_article: a new URL is inserted; a known one whose title
    or text changed keeps its old text as a version and takes the new one; an
    unchanged one only fills a missing published_at or modified_at (an import
    does not move last_seen_at). An article's own first_seen_at / fetched_at
    (from the collection) is kept, else `fetched_at` (now). A new article gets
    no article_versions row: the first version is the row itself, and
    save_article saves it as a version before any change.
    Returns {"new", "updated", "unchanged"}.
    """
    fetched_at = fetched_at or now()
    rows: dict[str, dict[str, Any]] = {}
    for article in articles:
        values = {field: article.get(field) for field in BULK_FIELDS}
        for field in ("authors", "links", "warnings"):
            values[field] = _json(values[field] or [])
        seen = article.get("first_seen_at") or article.get("fetched_at") or fetched_at
        values["first_seen_at"] = seen
        values["fetched_at"] = article.get("fetched_at") or seen
        rows[article.get("canonical_url") or article["url"]] = values
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    if not rows:
        return counts
    with transaction(db):
        error_mark = db.conn.execute("SELECT max(id) FROM crawl_errors").fetchone()[0] or 0
        existing: dict[str, tuple] = {}
        keys = list(rows)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            existing.update(
                (row[0], row[1:]) for row in db.conn.execute(
                    "SELECT canonical_url, id, title, text, content_hash FROM articles"
                    f" WHERE canonical_url IN ({', '.join('?' * len(chunk))})", chunk))
        new = [(canonical, via, values["first_seen_at"], values["first_seen_at"],
                values["fetched_at"], error_mark, *(values[f] for f in BULK_FIELDS))
               for canonical, values in rows.items() if canonical not in existing]
        # Many new articles: indexed for search in one statement after the inserts rather
        # than by the insert trigger row by row (half the CPU of the whole insert).
        with fts_deferred(db) if len(new) >= BULK_FTS_ROWS else nullcontext():
            db.conn.executemany(
                "INSERT INTO articles (canonical_url, via, first_seen_at, last_seen_at,"
                f" fetched_at, fetched_after_error_id, {', '.join(BULK_FIELDS)})"
                f" VALUES (?, ?, ?, ?, ?, ?, {', '.join('?' * len(BULK_FIELDS))})", new)
        counts["new"] = len(new)
        unchanged = []
        for canonical, (article_id, old_title, old_text, old_hash) in existing.items():
            values = rows[canonical]
            if (values["text"], values["title"]) == (old_text, old_title):
                unchanged.append((values["published_at"], values["modified_at"], article_id))
                continue
            _replace_text(db, article_id, (old_title, old_text, old_hash), values, fetched_at,
                          values["outlet_id"], error_mark,
                          {"origin": "import" if via == "import" else None})
            counts["updated"] += 1
        db.conn.executemany(
            "UPDATE articles SET published_at = coalesce(published_at, ?),"
            " modified_at = coalesce(modified_at, ?) WHERE id = ?", unchanged)
        counts["unchanged"] = len(unchanged)
    return counts


BULK_FTS_ROWS = 500  # new articles in one save_articles_bulk from which FTS is filled in bulk


@contextmanager
def fts_deferred(db: sqlite_utils.Database) -> Iterator[None]:
    """Inside an open transaction: the articles inserted meanwhile are indexed for search
    in one statement at the end, before the caller commits, instead of one by one by the
    insert trigger (the crawl writer's batches: ~30 % less CPU a stored article; an
    import's, half its CPU). The schema does not change, so a Datasette serving the
    archive meanwhile keeps its schema. A reader never sees an article without its index
    entry: the rows and their entries commit together, and the fts_deferred row that tells the triggers (migration 24) is
    deleted before the commit. When the body raises, the caller's rollback undoes it all."""
    conn = db.conn
    if not conn.in_transaction:
        raise RuntimeError("fts_deferred needs an open transaction")
    after = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
    conn.execute("INSERT INTO fts_deferred (after_id) VALUES (?)", [after])
    yield
    conn.execute("INSERT INTO articles_fts (rowid, title, text)"
                 " SELECT id, title, text FROM articles WHERE id > ?", [after])
    conn.execute("DELETE FROM fts_deferred")


Text = tuple[int, str | None, str | None, str | None]  # (id, title, text, language)


def texts_of(conn: sqlite3.Connection, ids: list[int]) -> list[Text]:
    """(id, title, text, language) of these articles, in id order."""
    return conn.execute(
        "SELECT id, title, text, language FROM articles"
        " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", [_json(ids)]).fetchall()


def texts_by_id(path: str, ids: list[int]) -> list[Text]:
    """texts_of these articles, read through this process's own read-only connection to
    the archive at `path` (db.reader): a worker process reading its share of a rematch's
    candidates."""
    return texts_of(reader(path), ids)


# --- an article's page ---------------------------------------------------------

_ARTICLE_SQL = """
select a.*, o.name as outlet_name, o.url as outlet_url, o.country as outlet_country,
       o.kind as outlet_kind, o.state_affiliated as outlet_state_affiliated
from articles a left join outlets o on o.id = a.outlet_id
where a.id = :id
"""
_MENTIONS_SQL = """
select m.narrative_id, n.title as narrative_title, m.narrative_version,
       n.version as current_version, m.matched_at, m.snippet, m.terms,
       m.stance, m.stance_confidence, m.stance_evidence, m.stance_speaker,
       m.stance_speaker_name, m.matched_by,
       (select r.probability from layer_readings r where r.article_id = m.article_id
        and r.narrative_id = m.narrative_id) as layer_probability
from mentions m join narratives n on n.id = m.narrative_id
where m.article_id = :id
order by n.title
"""
_SET_ASIDE_SQL = """
select r.narrative_id, n.title as narrative_title, r.probability, r.sentence, r.read_at
from layer_readings r join articles a on a.id = r.article_id
join narratives n on n.id = r.narrative_id
where r.article_id = :id and r.doubts and r.content_hash is a.content_hash
order by n.title
"""
_VERSIONS_SQL = """
select id, fetched_at, title, text, content_hash, capture_id, extractor, origin
from article_versions where article_id = :id
order by fetched_at, id
"""
_CAPTURES_SQL = """
select id, fetched_at, status, content_type, payload_digest, warc_file, offset, length, source
from captures where article_id = :id and pruned_at is null
order by fetched_at desc, id desc
"""
_REVISITS_SQL = """
select checked_at, outcome, http_status, new_url, detail
from revisits where article_id = :id
order by checked_at desc, id desc limit 20
"""


def article_page(db: sqlite_utils.Database, article_id: int) -> dict[str, Any]:
    """What an article's page shows, as rows: {"article" (with its outlet's name, url,
    country, kind; None if there is no such article), "mentions" (with the narrative's
    title and current version), "set_aside" (the narratives whose query match the learned
    layer set aside, with its probability), "versions" (oldest first), "captures" (newest
    first, none held before migration 15 or once pruned), "revisits" (the latest 20)}."""
    found = list(db.query(_ARTICLE_SQL, {"id": article_id}))
    page: dict[str, Any] = {"article": found[0] if found else None, "mentions": [],
                            "set_aside": [], "versions": [], "captures": [], "revisits": []}
    if not found:
        return page
    for key, sql in (("mentions", _MENTIONS_SQL), ("set_aside", _SET_ASIDE_SQL),
                     ("versions", _VERSIONS_SQL), ("revisits", _REVISITS_SQL)):
        page[key] = list(db.query(sql, {"id": article_id}))
    try:
        page["captures"] = list(db.query(_CAPTURES_SQL, {"id": article_id}))
    except sqlite3.OperationalError:  # an archive from before the captures table
        pass
    return page
