"""Rematch: one narrative over the whole archive, in SQL (its hits in one scan of the
archive's index, its claim rule's candidates read once, snippets only where needed)."""

from __future__ import annotations

import itertools
import logging
import sqlite3
from bisect import bisect_left
from collections.abc import Callable, Mapping

import sqlite_utils

from narrative_archive.fts import (
    ELLIPSIS,
    HIGHLIGHT_SQL,
    MARK_CLOSE,
    MARK_OPEN,
    SNIPPET_SQL,
    best_excerpt,
    changed_query,
    marked_terms,
    memory_matches,
    snippets_alone,
    split_matches,
)
from narrative_archive.store.articles import texts_of
from narrative_archive.store.claim_rules import UNREJECTED, Rereads, keep_verdicts
from narrative_archive.store.db import reader, transaction
from narrative_archive.store.layer import LAYER_CARRIES, layer_doubts
from narrative_archive.store.prefixes import Terms, archive_terms, spelt_out
from narrative_archive.times import now

logger = logging.getLogger("narrative_archive.match.narratives")

CJK_LANGUAGES = ("zh", "ja")
# (candidate query, accept(title, text, language), the rule's key, rereads): match.claim's
# second way to match; the key names what the rule's verdicts depend on, and rereads which
# of those kept under another key still stand (match.claim_key; store.claim_rules)
Claim = tuple[str, Callable[[str | None, str | None, str | None], bool], str, Rereads | None]
# Given candidates (article ids, in order), starts reading them elsewhere and returns
# what waits for the ids accept takes among them; None: read them here.
Read = Callable[[list[int]], Callable[[], list[int]] | None]
# Given a query, an article id and the ids that need no snippet (their snippet NULL), starts
# cutting the snippets of the articles from that id on elsewhere and returns what waits for
# their (article id, snippet) rows; None: cut here.
Split = Callable[[str, int, list[int] | None],
                 Callable[[], list[tuple[int, str | None]]] | None]


def _find_hits(db: sqlite_utils.Database, query: str, snippets: bool = True,
               keep: tuple[str, list[int]] | None = None, split: Split | None = None,
               skip: list[int] | None = None, vocabulary: Terms | None = None) -> str:
    """temp.hits(article_id, snippet, terms): every article the query matches, in one scan
    (`snippets` False: the snippet NULL, but for the Chinese and Japanese articles).
    `keep` (narrative id, versions): each hit that is a mention of one of those versions
    (not in temp.recut) keeps its snippet and terms while the snippet still stands in the
    article's text, the others' NULL; the scan cuts none, or, given `skip` (the ids of those
    mentions), every other hit's. Returns the query as scanned.

    The scan computes snippet(); where FTS5's snippet() bug stops it (FIELD_NOTES), one
    more scan computes highlight() (which has no such bug) and the snippet is cut from
    its output in Python (fts.best_excerpt). Never one snippet() per hit: each such call
    evaluates the whole query again, so a rematch would grow with hits x archive.

    Both scans run the query without its parts that need a word no article holds, and
    with each prefix phrase that covers one term written as that term (store.prefixes):
    the phrases that can match are the same, so the hits, snippets and highlights are.
    """
    vocabulary = vocabulary or archive_terms(db.conn)
    original, fast = query, spelt_out(query, vocabulary, most=1, prune=True)
    db.conn.execute("DROP TABLE IF EXISTS temp.hits")
    if fast == "":  # no article holds what it needs
        db.conn.execute("CREATE TEMP TABLE hits (article_id INTEGER, snippet TEXT, terms TEXT)")
        _cjk_hits(db, original)
        return original
    query = fast or original
    if snippets and (keep is None or skip is not None):
        _snippet_scan(db, "hits", query, split, skip)
    else:
        db.conn.execute("CREATE TEMP TABLE hits AS SELECT rowid AS article_id, NULL AS snippet"
                        " FROM articles_fts WHERE articles_fts MATCH ?", [query])
    # a kept snippet's terms are its mention's (marking them again costs more than the scan)
    db.conn.execute("ALTER TABLE temp.hits ADD COLUMN terms TEXT")
    if keep is not None:  # after the scan: inside it, each lookup costs half as much again
        db.conn.execute(
            f"UPDATE temp.hits SET {_kept_snippet('hits.article_id', len(keep[1]))}"
            " WHERE snippet IS NULL", [keep[0], *keep[1]])
    _cjk_hits(db, original)
    return query


# A mention's snippet as its marks and end ellipses left it: still a stretch of its
# article's title or text, or the text changed under it (an edit made outside the crawl's
# matching, which re-reads the article)
_UNMARKED = (f"trim(replace(replace(m.snippet, '{MARK_OPEN}', ''), '{MARK_CLOSE}', ''),"
             f" '{ELLIPSIS}')")


def _kept_snippet(article_id: str, versions: int = 1) -> str:
    """SQL, an UPDATE's assignment: (snippet, terms) of the mention of article `article_id`
    (a column) of narrative ? at one of `versions` versions (?, ...) when its snippet still
    stands in the article and is not in temp.recut for that version, else NULL."""
    if versions == 1:
        held = "m.narrative_version = ?"
    else:
        held = (f"m.narrative_version IN ({', '.join('?' * versions)}) AND NOT EXISTS"
                " (SELECT 1 FROM temp.recut r WHERE r.article_id = m.article_id"
                " AND r.version = m.narrative_version)")
    return ("(snippet, terms) = (SELECT m.snippet, m.terms FROM mentions m"
            " JOIN articles a ON a.id = m.article_id"
            f" WHERE m.article_id = {article_id} AND m.narrative_id = ? AND {held}"
            f" AND (instr(a.text, {_UNMARKED}) OR instr(a.title, {_UNMARKED})))")


def _kept_versions(db: sqlite_utils.Database, version: int, earlier: Mapping[int, str],
                   query: str, vocabulary: Terms) -> list[int]:
    """The versions whose mentions may keep their snippets: `version`, and each earlier
    one (`earlier`: version -> its query) whose query's change can be read. An article
    a changed member matches (fts.changed_query) cannot keep that version's snippet:
    temp.recut(article_id, version) lists them."""
    db.conn.execute("DROP TABLE IF EXISTS temp.recut")
    db.conn.execute("CREATE TEMP TABLE recut (article_id INTEGER, version INTEGER,"
                    " PRIMARY KEY (article_id, version)) WITHOUT ROWID")
    versions = [version]
    for old, old_query in sorted(earlier.items()):
        if (changed := changed_query(old_query, query)) is None:
            continue
        versions.append(old)
        if changed:
            scanned = spelt_out(changed, vocabulary, most=1, prune=True)
            if scanned != "":  # "": no article can match the change
                db.conn.execute("INSERT INTO temp.recut SELECT rowid, ? FROM articles_fts"
                                " WHERE articles_fts MATCH ?", [old, scanned or changed])
    return versions

# Hits whose snippet is cut from the article alone (fts.snippets_alone: the crawl's way,
# milliseconds each for a long query) when there are at most this many, or one in this
# many hits; more are cut from one scan of the archive
ALONE_MOST, ALONE_SHARE = 200, 40
# Hits that need a snippet from a scan before half of them are cut in a worker process
# (`split`); fewer are cut here
SPLIT_LEAST = 20_000


def _snippet_scan(db: sqlite_utils.Database, table: str, query: str,
                  split: Split | None = None, skip: list[int] | None = None) -> None:
    """temp.`table`(article_id, snippet): every article the query matches, with its
    snippet, in one scan of the archive's index (highlight() where snippet() fails); the
    snippet NULL for the ids in `skip` (in order): a snippet costs more than its row's
    scan.
    `split` cuts the snippets of the later half of the archive elsewhere (a worker
    process, match.workers) while this process cuts the first half's."""
    share, below = None, None
    if split is not None:
        middle = (db.conn.execute("SELECT max(id) FROM articles").fetchone()[0] or 0) // 2 + 1
        share = split(query, middle, None if skip is None else skip[bisect_left(skip, middle):])
        below = middle if share is not None else None
    where = " FROM articles_fts WHERE articles_fts MATCH ?" + (" AND rowid < ?" if below else "")
    params = [query, below] if below else [query]
    snippet, highlight = _unless(db.conn, skip, SNIPPET_SQL), _unless(db.conn, skip, HIGHLIGHT_SQL)
    db.conn.execute("SAVEPOINT hits")
    try:
        db.conn.execute(
            f"CREATE TEMP TABLE {table} AS SELECT rowid AS article_id, {snippet} AS snippet"
            + where, params)
    except sqlite3.DatabaseError as error:
        db.conn.execute("ROLLBACK TO hits")
        db.conn.execute("RELEASE hits")
        logger.info("snippet() failed over the whole match (%s): snippets cut from highlight()",
                    error)
        db.conn.execute(
            f"CREATE TEMP TABLE {table} AS SELECT rowid AS article_id,"
            f" {_excerpt(db.conn, highlight)} AS snippet" + where, params)
    else:
        db.conn.execute("RELEASE hits")
    if share is not None:
        db.conn.executemany(f"INSERT INTO temp.{table} VALUES (?, ?)", share())


def _unless(conn: sqlite3.Connection, skip: list[int] | None, sql: str) -> str:
    """`sql` (snippet() or highlight()), NULL for the rows whose id is in `skip`."""
    if not skip:
        return sql
    conn.create_function("skips_snippet", 1, frozenset(skip).__contains__, deterministic=True)
    if sql == HIGHLIGHT_SQL:
        return ", ".join(f"CASE WHEN NOT skips_snippet(rowid) THEN highlight(articles_fts,"
                         f" {column}, '{MARK_OPEN}', '{MARK_CLOSE}') END" for column in (0, 1))
    return f"CASE WHEN NOT skips_snippet(rowid) THEN {sql} END"


def _excerpt(conn: sqlite3.Connection, highlight: str) -> str:
    """SQL: the snippet cut in Python from the two columns' highlight() (fts.best_excerpt)."""
    conn.create_function("best_excerpt", 2, lambda title, text: best_excerpt((title, text))
                         if title is not None or text is not None else None, deterministic=True)
    return f"best_excerpt({highlight})"


def snippet_rows(path: str, query: str, low: int,
                 skip: list[int] | None = None) -> list[tuple[int, str | None]]:
    """(article id, snippet) of the articles of the archive at `path` from id `low` on
    that the query matches, in one scan of its index (highlight() where snippet() fails;
    NULL for the ids in `skip`), read through this process's own connection (db.reader):
    a worker process's share of a rematch's snippets (_snippet_scan)."""
    conn, where = reader(path), " FROM articles_fts WHERE articles_fts MATCH ? AND rowid >= ?"
    try:
        return conn.execute(f"SELECT rowid, {_unless(conn, skip, SNIPPET_SQL)}{where}",
                            [query, low]).fetchall()
    except sqlite3.DatabaseError:
        return conn.execute(f"SELECT rowid, {_excerpt(conn, _unless(conn, skip, HIGHLIGHT_SQL))}"
                            f"{where}", [query, low]).fetchall()


def _cut_snippets(db: sqlite_utils.Database, query: str, scanned: str,
                  split: Split | None = None, batch: int = 200) -> None:
    """Give each hit of temp.hits without a snippet the one the query cuts for it: from
    the article alone when they are few (as the crawl cut them), else from one scan of
    `scanned` (the query as _find_hits scanned it)."""
    needed = [row[0] for row in db.conn.execute(
        "SELECT article_id FROM temp.hits WHERE snippet IS NULL ORDER BY article_id")]
    if not needed:
        return
    total = db.conn.execute("SELECT count(*) FROM temp.hits").fetchone()[0]
    db.conn.execute("DROP TABLE IF EXISTS temp.cut")
    if len(needed) <= ALONE_MOST or len(needed) * ALONE_SHARE <= total:
        db.conn.execute("CREATE TEMP TABLE cut (article_id INTEGER PRIMARY KEY, snippet TEXT)")
        for start in range(0, len(needed), batch):
            rows = [row[:3] for row in texts_of(db.conn, needed[start:start + batch])]
            db.conn.executemany("INSERT INTO temp.cut VALUES (?, ?)",
                                snippets_alone(rows, query).items())
    else:
        skip = [row[0] for row in db.conn.execute(
            "SELECT article_id FROM temp.hits WHERE snippet IS NOT NULL ORDER BY article_id")]
        _snippet_scan(db, "cut", scanned, split if len(needed) >= SPLIT_LEAST else None, skip)
        db.conn.execute("CREATE INDEX temp.cut_article ON cut(article_id)")
    db.conn.execute(
        "UPDATE temp.hits SET snippet = cut.snippet FROM temp.cut"
        " WHERE hits.snippet IS NULL AND cut.article_id = hits.article_id")
    db.conn.execute("DROP TABLE temp.cut")


def _candidates(db: sqlite_utils.Database, narrative_id: str, candidates: str, read: Read | None,
                vocabulary: Terms) -> tuple[Callable[[], list[int]] | None, list[int]]:
    """temp.candidates(article_id, snippet, terms): the articles `candidates` matches (listed
    without snippets: a scan computing them loads every candidate's positions, most of
    its cost; a Chinese or Japanese article keeps the one its split reading gave), and
    `read` started on those that are not the narrative's mentions now and that the rule
    has not rejected before (most of those are the query's hits, which need no reading;
    _claim_hits reads the others). Other processes read the archive as committed, which
    is this connection's as long as it has written nothing. Returns read's wait (or None)
    and the ids it was given."""
    _find_hits(db, candidates, snippets=False, vocabulary=vocabulary)
    db.conn.execute("DROP TABLE IF EXISTS temp.candidates")
    db.conn.execute("ALTER TABLE temp.hits RENAME TO candidates")
    if read is None:
        return None, []
    ids = [row[0] for row in db.conn.execute(
        "SELECT article_id FROM temp.candidates WHERE article_id NOT IN"
        f" (SELECT article_id FROM mentions WHERE narrative_id = ?) AND {UNREJECTED}"
        " ORDER BY article_id", [narrative_id, narrative_id])]
    taken = read(ids)
    return taken, ids if taken is not None else []


def _claim_hits(db: sqlite_utils.Database, narrative_id: str, version: int, candidates: str,
                accept: Callable[[str | None, str | None, str | None], bool],
                read: Read | None, taken: Callable[[], list[int]] | None,
                given: list[int], batch: int = 200) -> None:
    """Add to temp.hits the articles of temp.candidates that temp.hits lacks and `accept`
    reads as holding the claim (or `taken` gives: read elsewhere, the ids `given`, every
    candidate that was not a mention), each with the snippet its candidate query gives (a
    mention of `version` keeps its own, as in _find_hits). A candidate the rule rejected
    before is not read again; this rematch's rejections are kept (claim_rejections).

    In a topical archive nearly every article is a candidate and few hold the claim: the
    accepted ones that need a snippet get it from an in-memory index of their own (each
    alone when they are few, fts.snippets_alone, as the crawl; else all in one,
    fts.memory_matches: the archive's table and tokenizer)."""
    db.conn.execute("DELETE FROM temp.candidates WHERE article_id IN"
                    " (SELECT article_id FROM temp.hits)")
    accepted: list[tuple[int]] = []
    unread = f"SELECT article_id FROM temp.candidates WHERE {UNREJECTED}"
    if taken is not None:  # the candidates that are mentions and no hit are left to read
        accepted = [(article_id,) for article_id in taken()]
        unread += " AND article_id IN (SELECT article_id FROM mentions WHERE narrative_id = ?)"
    ids = [row[0] for row in db.conn.execute(
        unread + " ORDER BY article_id", [narrative_id] * (2 if taken is not None else 1))]
    again = read(ids) if read is not None and taken is not None else None
    if again is not None:
        accepted += [(article_id,) for article_id in again()]
    else:
        for start in range(0, len(ids), batch):
            accepted += [(article_id,) for article_id, title, text, language
                         in texts_of(db.conn, ids[start:start + batch])
                         if accept(title, text, language)]
    # temp.candidates has no index: one keyed table and one NOT IN, not a DELETE per
    # rejected article (each a scan of the table: quadratic in the candidates)
    db.conn.execute("DROP TABLE IF EXISTS temp.claim_hits")
    db.conn.execute("CREATE TEMP TABLE claim_hits (article_id INTEGER PRIMARY KEY)")
    db.conn.executemany("INSERT OR IGNORE INTO temp.claim_hits VALUES (?)", accepted)
    db.conn.execute("DROP TABLE IF EXISTS temp.claim_read")
    db.conn.execute("CREATE TEMP TABLE claim_read (article_id INTEGER PRIMARY KEY)")
    db.conn.executemany("INSERT OR IGNORE INTO temp.claim_read VALUES (?)",
                        ((article_id,) for article_id in itertools.chain(given, ids)))
    db.conn.execute(
        "INSERT OR IGNORE INTO claim_rejections (article_id, narrative_id) SELECT article_id, ?"
        " FROM temp.claim_read WHERE article_id NOT IN (SELECT article_id FROM temp.claim_hits)",
        [narrative_id])
    db.conn.execute("DROP TABLE temp.claim_read")
    # taken may hold articles the query matched (the workers read every candidate)
    db.conn.execute("DELETE FROM temp.candidates WHERE article_id NOT IN"
                    " (SELECT article_id FROM temp.claim_hits)")
    db.conn.execute(f"UPDATE temp.candidates SET {_kept_snippet('candidates.article_id')}"
                    " WHERE snippet IS NULL", [narrative_id, version])
    unsnipped = db.conn.execute(
        "SELECT c.article_id, a.title, a.text FROM temp.candidates c JOIN articles a"
        " ON a.id = c.article_id WHERE c.snippet IS NULL ORDER BY c.article_id").fetchall()
    # a few each alone, as the crawl cuts them; many in one in-memory index of their own
    cut = snippets_alone if len(unsnipped) <= ALONE_MOST else memory_matches
    db.conn.execute("CREATE TEMP TABLE cut (article_id INTEGER PRIMARY KEY, snippet TEXT)")
    db.conn.executemany("INSERT INTO temp.cut VALUES (?, ?)", cut(unsnipped, candidates).items())
    db.conn.execute("UPDATE temp.candidates SET snippet = cut.snippet FROM temp.cut"
                    " WHERE candidates.snippet IS NULL AND cut.article_id = candidates.article_id")
    db.conn.execute("DROP TABLE temp.cut")
    db.conn.execute("INSERT INTO temp.hits SELECT article_id, snippet, terms FROM temp.candidates")
    db.conn.execute("DROP TABLE temp.candidates")
    db.conn.execute("DROP TABLE temp.claim_hits")


def _cjk_hits(db: sqlite_utils.Database, query: str, batch: int = 200) -> None:
    """Add to temp.hits the Chinese and Japanese articles the query matches as the
    matcher reads them at ingest (one token per CJK character, fts.split_cjk): the
    archive's index keeps a run of CJK characters as one token (docs/realtext.md)."""
    found = {row[0] for row in db.conn.execute("SELECT article_id FROM temp.hits")}
    # each way of writing the codes' two letters, a range of articles_language (a test on
    # lower(substr(language, ...)) alone reads every row of the archive, twice a rematch)
    ranges = [bound for code in CJK_LANGUAGES
              for written in map("".join, itertools.product(*({ch.lower(), ch.upper()}
                                                              for ch in code)))
              for bound in (written, written[:-1] + chr(ord(written[-1]) + 1))]
    cursor = db.conn.execute(
        "SELECT id, title, text FROM articles WHERE ("
        + " OR ".join(["language >= ? AND language < ?"] * (len(ranges) // 2))
        + f") AND lower(substr(language, 1, 2)) IN ({', '.join('?' * len(CJK_LANGUAGES))})",
        [*ranges, *CJK_LANGUAGES])
    while rows := cursor.fetchmany(batch):
        hits = split_matches(rows, query)
        db.conn.executemany("INSERT INTO temp.hits (article_id, snippet) VALUES (?, ?)",
                            [(i, snippet) for i, snippet in hits.items() if i not in found])


def rematch_mentions(db: sqlite_utils.Database, narrative_id: str, query: str,
                     version: int, claim: Claim | None = None,
                     read: Read | None = None, split: Split | None = None,
                     earlier: Mapping[int, str] | None = None) -> dict[str, int]:
    """Make the narrative's mentions those its query matches now, set based (one
    INSERT ... SELECT): mentions no longer matched are deleted, new ones added, kept
    ones get `version` and a fresh snippet but keep their matched_at (their stance is
    computed again when their matched words changed; one that nothing changed is not
    rewritten).

    A mention already of `version` keeps its snippet while it still stands in the
    article: the crawl cut it from the article alone, and a scan of the archive can mark
    other words in it (docs/narratives.md, "Snippets"); a few hits that need a new one get
    it the crawl's way too, many get it from one scan (half of it cut by `split`
    elsewhere when no claim candidates are being read there). A mention of an earlier
    version (`earlier`: version -> its query) keeps its snippet too where the query's
    change marks no other word: in an article no changed member matches.

    `claim` is the narrative's second way to match (match.claim): (candidate query,
    accept(title, text, language), key, rereads): an article the query does not match and
    the candidate query does is a hit when accept says so (an article accept rejected under
    the same key, or under another where `rereads` says the verdict stands, its text
    unchanged since, is not read again: store.claim_rules); `read` reads the
    candidates elsewhere (worker processes, match.workers) when it takes them. Returns
    {"matched", "added", "removed"}."""
    db.conn.create_function("marked_terms", 1, marked_terms, deterministic=True)
    timestamp = now()
    with transaction(db):
        # the candidates are read (by `read`'s workers) while the query's scan runs here
        taken: Callable[[], list[int]] | None = None
        given: list[int] = []
        vocabulary = archive_terms(db.conn)  # one for every query this rematch spells
        if claim is not None:
            keep_verdicts(db, narrative_id, claim[2], claim[3], vocabulary)
            taken, given = _candidates(db, narrative_id, claim[0], read, vocabulary)
        versions = _kept_versions(db, version, earlier or {}, query, vocabulary)
        kept = [row[0] for row in db.conn.execute(
            f"SELECT article_id FROM mentions WHERE narrative_id = ? AND narrative_version IN"
            f" ({', '.join('?' * len(versions))}) AND NOT EXISTS (SELECT 1 FROM temp.recut r"
            " WHERE r.article_id = mentions.article_id AND r.version = mentions.narrative_version)"
            " ORDER BY article_id", [narrative_id, *versions])]
        mentions = db.conn.execute("SELECT count(*) FROM mentions WHERE narrative_id = ?",
                                   [narrative_id]).fetchone()[0]
        split = None if given else split  # the workers are reading candidates
        if kept or mentions <= ALONE_MOST:  # snippets only for the hits that need one
            # so many mentions need one that _cut_snippets would scan for them: the scan
            # that finds the hits cuts them (a snippet costs more than its row's scan)
            needed = mentions - len(kept)
            many = needed > ALONE_MOST and needed * ALONE_SHARE > mentions
            scanned = _find_hits(db, query, keep=(narrative_id, versions),
                                 split=split if many and needed >= SPLIT_LEAST else None,
                                 skip=kept if many else None, vocabulary=vocabulary)
            _cut_snippets(db, query, scanned, split)
        else:  # a new version of the query over many mentions: each needs a new snippet
            _find_hits(db, query, split=split if mentions >= SPLIT_LEAST else None, vocabulary=vocabulary)
        if claim is not None:
            _claim_hits(db, narrative_id, version, *claim[:2], read, taken, given)
        # a match the learned layer set aside stays aside while its reading holds
        db.conn.execute(f"DELETE FROM temp.hits WHERE {layer_doubts('temp.hits.article_id', '?')}",
                        [narrative_id])
        # a mention the learned layer still carries stays, as the layer's (store.layer)
        removed = db.conn.execute(
            "DELETE FROM mentions WHERE narrative_id = ?"
            f" AND article_id NOT IN (SELECT article_id FROM temp.hits) AND NOT {LAYER_CARRIES}",
            [narrative_id],
        ).rowcount
        db.conn.execute("UPDATE mentions SET matched_by = 'layer' WHERE narrative_id = ?"
                        " AND matched_by != 'layer'"
                        " AND article_id NOT IN (SELECT article_id FROM temp.hits)", [narrative_id])
        before = db.conn.execute(
            "SELECT count(*) FROM mentions WHERE narrative_id = ?", [narrative_id]
        ).fetchone()[0]
        db.conn.execute(
            "INSERT INTO mentions (article_id, narrative_id, narrative_version, matched_at,"
            " snippet, terms) SELECT article_id, ?, ?, ?, snippet,"
            " coalesce(terms, marked_terms(snippet))"
            " FROM temp.hits WHERE true"
            " ON CONFLICT(article_id, narrative_id) DO UPDATE SET"
            " narrative_version = excluded.narrative_version, snippet = excluded.snippet,"
            " terms = excluded.terms, matched_by = excluded.matched_by,"
            # other matched words, another sentence to read: the stance is computed again
            " stance_confidence = CASE WHEN excluded.terms IS mentions.terms"
            " THEN mentions.stance_confidence END"
            # a kept mention that nothing changed is not written again
            " WHERE mentions.narrative_version IS NOT excluded.narrative_version"
            " OR mentions.snippet IS NOT excluded.snippet"
            " OR mentions.terms IS NOT excluded.terms"
            " OR mentions.matched_by IS NOT excluded.matched_by",
            [narrative_id, version, timestamp],
        )
        matched = db.conn.execute("SELECT count(*) FROM temp.hits").fetchone()[0]
        db.conn.execute("DROP TABLE temp.hits")
        db.conn.execute("DROP TABLE temp.recut")
    return {"matched": matched, "added": matched - before, "removed": removed}
