"""Datasette plugin: the published narrative archive's pages (loaded with --plugins-dir).

- publishes the archive as the database "archive" whatever its file is called, so
  metadata.yml, the dashboard and every link work for any --db path;
- renders mention snippets with their <mark> highlights while escaping everything
  else (snippets are scraped text), and links titles and article ids to the article
  page; marked_passage() cuts such a passage from highlight() in SQL;
- gives the article page (templates/row-archive-articles.html) the article's
  outlet, narratives, snippets and versions, with a word diff between versions
  (narrative_archive.publish.diff, computed in a worker thread, never on the event
  loop), each mention's stance with its evidence, the other copies of its story, what
  it cites and what cites it;
- lists the article's WARC captures on its page, each downloadable as the exact
  record (`/-/capture/ID.warc.gz`: looked up by captures row id, read from the
  captures dir only; see capture_download).

What visitors may do (read-only, bounded SQL) is narrative_archive_guard.py; what keeps
the archive fast is narrative_archive_perf.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from narrative_archive import store
from narrative_archive.publish.diff import version_diffs
from narrative_archive.publish.instance import INTERNAL, archive_name, captures_dir
from narrative_archive.publish.search import marked_passage

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
LINKED_COLUMNS = frozenset({"snippet", "title", "article_id"})  # what render_cell changes


# --- the database name ------------------------------------------------------


@hookimpl
def startup(datasette):
    """Serve the one archive file as `archive`, so metadata keyed on that name applies."""
    name = archive_name(datasette)
    if name in datasette.databases:
        return
    files = [key for key, db in datasette.databases.items() if db.path and key != INTERNAL]
    if len(files) == 1:
        db = datasette.databases[files[0]]
        datasette.remove_database(files[0])
        datasette.add_database(db, name=name)


# --- the marked passage: an SQL function (publish.search.marked_passage) -------


@hookimpl
def prepare_connection(conn, database, datasette):
    if database == INTERNAL:
        return
    conn.create_function("marked_passage", 2, marked_passage, deterministic=True)


# --- WARC records ------------------------------------------------------------


@hookimpl
def register_routes(datasette):
    return [(r"^/-/capture/(?P<id>[0-9]{1,18})\.warc\.gz$", capture_download)]


async def capture_download(request, datasette):
    """One capture's exact WARC record (a gzip member): looked up by its captures row id,
    never by a path from the URL, and read only from inside the captures dir."""
    from narrative_archive.capture import UnreadableRecord, UnsafePath, record_bytes

    capture_id = int(request.url_vars["id"])
    db = datasette.get_database(archive_name(datasette))
    row = await db.execute_fn(
        lambda conn: store.get_capture(sqlite_utils.Database(conn), capture_id))
    directory = captures_dir(datasette)
    if row is None or row["pruned_at"] or directory is None:
        return Response.text("No such capture.\n", status=404)
    try:
        data = await asyncio.to_thread(record_bytes, directory, row["warc_file"], row["offset"],
                                       row["length"])
    except UnsafePath:
        return Response.text("Refused: this capture's file is outside the captures directory.\n",
                             status=403)
    except FileNotFoundError:
        return Response.text("This capture's WARC file is not on this server.\n", status=404)
    except (UnreadableRecord, OSError):
        return Response.text("This capture's record cannot be read.\n", status=500)
    return Response(data, status=200, content_type="application/warc", headers={
        "Content-Disposition": f'attachment; filename="capture-{capture_id}.warc.gz"',
        "X-Content-Type-Options": "nosniff"})


# --- safe HTML -------------------------------------------------------------------


def snippet_html(value) -> Markup:
    """A snippet as HTML: everything escaped, then only the exact <mark> and </mark> restored."""
    if value is None:
        return Markup("")
    escaped = str(escape(str(value)))
    return Markup(
        escaped.replace(str(escape(MARK_OPEN)), MARK_OPEN)
        .replace(str(escape(MARK_CLOSE)), MARK_CLOSE)
    )


_HTTP = re.compile(r"^https?://", re.IGNORECASE)


def http_url(value) -> str | None:
    """The value if it is an http(s) URL (safe in href), else None: never javascript: etc."""
    if isinstance(value, str) and _HTTP.match(value.strip()):
        return value.strip()
    return None


def from_json(value, default=None):
    try:
        return json.loads(value) if isinstance(value, str) else (value or default)
    except ValueError:
        return default


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.filters["snippet_html"] = snippet_html
    env.filters["http_url"] = http_url
    env.filters["from_json"] = from_json


def _row_value(row, key):
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


def _link(href: str, text) -> Markup:
    """<a href="href">text</a>, both escaped (what Markup(...).format does, without its
    formatter: this runs for up to a thousand cells a page)."""
    return Markup(f'<a href="{escape(href)}">{escape(text)}</a>')


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column not in LINKED_COLUMNS or database != archive_name(datasette):
        return None
    if column == "snippet":
        return snippet_html(value) if isinstance(value, str) else None
    if column == "title" and isinstance(value, str):
        article_id = _row_value(row, "id") if table == "articles" else _row_value(row, "article_id")
        if isinstance(article_id, int):
            return _link(datasette.urls.row(database, "articles", str(article_id)), value)
    if column == "article_id" and isinstance(value, int) and table not in (
        "mentions", "article_versions"
    ):
        return _link(datasette.urls.row(database, "articles", str(value)), value)
    return None


# --- the article page ----------------------------------------------------------


ARCHIVE_NAMES = {"wayback": "the Wayback Machine", "commoncrawl": "Common Crawl"}


NO_ANALYSIS: dict[str, list] = {"copies": [], "cites": [], "cited_by": []}


def _analysis(db: sqlite_utils.Database, article_id: int) -> dict:
    try:
        return store.article_analysis(db, article_id)
    except sqlite3.OperationalError:  # an archive from before the analysis tables
        return {key: [] for key in NO_ANALYSIS}


def _page_rows(conn, article_id: int, with_analysis: bool) -> dict:
    db = sqlite_utils.Database(conn)
    rows = store.article_page(db, article_id)
    if with_analysis and rows["article"] is not None:
        rows["analysis"] = _analysis(db, article_id)
    return rows


async def article_details(datasette, database: str, article_id,
                          analyses: dict | None = None) -> dict | None:
    """The article, its outlet, its mentions and its versions (each with a diff to the last).

    With `analyses`, the article's story and citations are read in the same trip to a
    SQL thread (at a million articles, waiting for a thread costs more than the queries)
    and left there for article_analysis()."""
    try:
        article_id = int(article_id)
    except (TypeError, ValueError):
        return None
    db = datasette.get_database(database)
    rows = await db.execute_fn(lambda conn: _page_rows(conn, article_id, analyses is not None))
    article = rows["article"]
    if article is None:
        return None
    if analyses is not None:
        analyses[article_id] = rows["analysis"]
    mentions = rows["mentions"]
    for mention in mentions:
        mention["terms"] = from_json(mention["terms"], [])
        mention["stance_evidence"] = from_json(mention.get("stance_evidence"), {}) or {}
    versions = rows["versions"]
    texts = [version["text"] for version in versions]
    # CPU work: off the event loop, which would otherwise stall every other request (one
    # version has nothing to diff).
    diffs = await asyncio.to_thread(version_diffs, texts) if len(texts) > 1 \
        else [None] * len(texts)
    previous = None
    for number, (version, diff) in enumerate(zip(versions, diffs, strict=True), 1):
        version["number"] = number
        version["words"] = len((version["text"] or "").split())
        version["title_changed"] = previous is not None and version["title"] != previous["title"]
        version["text_changed"] = previous is not None and version["text"] != previous["text"]
        version["diff"] = diff
        previous = version
    article = dict(article)
    archived = None
    if article.get("archived_at"):  # an archived copy (backfill): where it came from
        source = article.get("archive_source")
        archived = {"captured_at": article["archived_at"], "url": article.get("archive_url"),
                    "by": ARCHIVE_NAMES.get(source, source or "a web archive")}
    return {
        "article": article,
        "archived": archived,
        "revisits": rows["revisits"],
        "authors": from_json(article.get("authors"), []) or [],
        "mentions": mentions,
        "set_aside": rows["set_aside"],
        "versions": versions,
        "edited": sum(1 for v in versions if v["text_changed"] or v["title_changed"]),
        "words": len((article.get("text") or "").split()),
        "captures": rows["captures"],
    }


@hookimpl
def extra_template_vars(template, database, table, view_name, datasette):
    if view_name != "row" or table != "articles" or database != archive_name(datasette):
        return {}

    analyses: dict[int, dict] = {}  # read with the article, for this page

    async def article_page(article_id):
        return await article_details(datasette, database, article_id, analyses)

    async def article_analysis(article_id):
        try:
            return analyses.pop(int(article_id))
        except (KeyError, TypeError, ValueError):
            return await story_and_citations(datasette, database, article_id)

    return {"article_page": article_page, "article_analysis": article_analysis}


async def story_and_citations(datasette, database: str, article_id) -> dict:
    """The other copies of the article's story, what it cites and what cites it
    (store.article_analysis, on Datasette's read connection)."""
    try:
        article_id = int(article_id)
    except (TypeError, ValueError):
        return {key: [] for key in NO_ANALYSIS}
    db = datasette.get_database(database)
    return await db.execute_fn(lambda conn: _analysis(sqlite_utils.Database(conn), article_id))


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/static/narrative-archive.css")]
