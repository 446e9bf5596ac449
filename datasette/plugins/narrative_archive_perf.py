"""Datasette plugin: the published archive stays fast at a million articles.

- every connection to the archive memory-maps the file and keeps a larger page
  cache, so a query that visits many rows reads them without a system call each;
- the count of a full-text search of the articles table is the FTS index's own
  count (the same number: the index is kept in sync by triggers), not a join that
  visits every matching article row; and it is counted once per search while the
  archive file is unchanged (publish.cache.Memo, as the narrative pages: after a write
  it is served for up to a minute, the instance's HTTP cache time, while one request
  counts it again): a common word's count visits hundreds of thousands of index
  entries at a million articles, far more than the page of rows shown; a table page's
  count (every row of the articles table, or those its filters select) is kept the same
  way;
- the ready-made queries' and dashboard charts' results are kept the same way, per
  query and parameters (a timeline is a few thousand rows counted from every mention
  of a narrative; the dashboard asks for the same charts on every visit);
- the search box forgives: ?_search= text that is not valid FTS5 (al-Qaeda, Taliban's,
  U.S. weapons, taliban AND) is searched as the user meant it (searchbox.forgiving_query);
- a search's newest-first page is read in date order when the words are common
  (walking the published_at index until a page of hits is found) instead of sorting
  every hit: SQLite cannot tell from an FTS5 MATCH how many rows it will return
  (both done by SearchDatabase, which every database file is served as);
- /-/export/NARRATIVE.csv streams every mention of a narrative with its article's
  dates and its outlet's columns, straight from a read-only cursor in a worker
  thread: no page size, no row limit, no OFFSET paging;
- the tables' and canned queries' metadata is served through get_metadata instead of
  sitting in the metadata Datasette deep-copies on every table permission check
  (publish.metadata: the same answer to every lookup, metadata.yml unchanged).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import sqlite3
import threading
import weakref

import sqlite_utils
from datasette import hookimpl
from datasette.database import Database, Results
from datasette.plugins import pm
from datasette.utils.asgi import Response

from narrative_archive import store
from narrative_archive.publish import metadata
from narrative_archive.publish.cache import Memo, file_stamp
from narrative_archive.publish.instance import INTERNAL, archive_name
from narrative_archive.searchbox import forgiving_query

MMAP_BYTES = 16 * 2**30  # address space only: the OS pages in what queries touch
CACHE_KIB = 64 * 1024  # per connection
EXPORT_BATCH = 2000  # rows per chunk sent to the client
# Datasette's count for ?_search= on articles (filters.py), and the equal count it becomes.
SEARCH_COUNT = re.compile(
    r"select count\(\*\) from articles where id in \(select rowid from articles_fts "
    r"where articles_fts match :search\)\s*")
COUNT_DESCRIPTION = (("count", None, None, None, None, None, None),)  # cursor.description
FTS_COUNT = "select count(*) from articles_fts where articles_fts match :search"
FTS_HITS = "select rowid from articles_fts where articles_fts match :search"
# Datasette's count of a table page (views/table.py: "select count(*) from TABLE [where
# ...]"): 36 ms for the 1M articles table on every visit of /archive/articles, now kept as
# the search counts are.
TABLE_COUNT = re.compile(r"select count\(\*\) from (\w+|\[[^\]]+\]) (where .*)?", re.DOTALL)
SEARCH_IN = f"id in ({FTS_HITS})"
SEARCH_PROBE = ("exists (select 1 from articles_fts where articles_fts match :search "
                "and rowid = articles.id)")
SEARCH_PAGE = re.compile(r"select .+ from articles where .*order by published_at desc.*",
                         re.DOTALL)
# A search matching more than this share of the articles walks the date index probing the
# FTS index row by row (a page of hits is near); above RARE it walks the index checking the
# hits' rowids (a page of hits is within PAGE_SCAN rows); rarer ones sort their few hits.
COMMON, RARE = 1 / 10, 1 / 1000
# A count is kept while the archive file is unchanged; after a write it is served this long
# (settings.json default_cache_ttl, the time browsers keep the page) while it is recounted.
# As for the narrative pages, NARRATIVE_ARCHIVE_PAGE_STALE overrides it (0: count again
# after any write) and NARRATIVE_ARCHIVE_PAGE_CACHE=off counts every time.
COUNT_STALE_SECONDS = 60
KEPT_RESULTS = 64  # canned query and chart results kept (each at most max_returned_rows)


@hookimpl
def prepare_connection(conn, database, datasette):
    if database == INTERNAL:
        return
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


class SearchDatabase(Database):
    """A file database whose ?_search= count and newest-first page on articles read the FTS
    index (see the module's docstring); every other query runs as Datasette wrote it.

    Built with Database's documented constructor and added with datasette.add_database();
    it overrides the documented `await db.execute(sql, params, ...)`. What it recognises
    is the SQL Datasette 0.65's table view writes for ?_search= (SEARCH_COUNT,
    SEARCH_PAGE); tests/test_perf_shape.py fails if that SQL stops being recognised.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:  # the narrative pages' setting (0: count again after any write)
            stale = float(os.environ.get("NARRATIVE_ARCHIVE_PAGE_STALE", COUNT_STALE_SECONDS))
        except ValueError:
            stale = COUNT_STALE_SECONDS
        self.search_sizes = Memo(entries=1024, stale_seconds=stale)
        self.kept_counts = Memo(entries=1024, stale_seconds=stale)
        self.recognised = {"count": 0, "page": 0}  # Datasette search queries seen, by kind
        self.results = Memo(entries=KEPT_RESULTS, stale_seconds=stale)
        self.kept_sql: frozenset[str] = frozenset()  # canned queries' and charts' SQL

    def stamp(self) -> tuple | None:
        """What kept counts and results are kept against (publish.cache.file_stamp)."""
        return file_stamp(self.path)

    async def search_size(self, search: str) -> tuple[int, int]:
        """(articles matching search, max article id), kept while the archive is unchanged
        (COUNT_STALE_SECONDS after a change)."""

        return await self.search_sizes.get(search, self.stamp(), lambda: self._count(search))

    async def _count(self, search: str) -> tuple[int, int]:
        hits = (await super().execute(FTS_COUNT, {"search": search})).rows[0][0]
        articles = (await super().execute("select max(id) from articles")).rows[0][0] or 0
        return hits, articles

    async def _run(self, sql, params, args, kwargs):
        return await super().execute(sql, params, *args, **kwargs)

    async def execute(self, sql, params=None, *args, **kwargs):
        if isinstance(sql, str) and sql in self.kept_sql:
            key = (sql, _frozen(params), args, _frozen(kwargs))
            return await self.results.get(key, self.stamp(),
                                          lambda: self._run(sql, params, args, kwargs))
        if isinstance(params, dict) and isinstance(params.get("search"), str):
            params = {**params, "search": searchable(params["search"])}
        if isinstance(sql, str) and isinstance(params, dict) and "search" in params:
            if SEARCH_COUNT.fullmatch(sql):
                hits, _articles = await self.search_size(params["search"])
                self.recognised["count"] += 1
                # the kept count as Datasette's Results, without a trip to a SQL thread
                # (each trip waits for one of the five threads, which under load costs
                # more than a query)
                return Results([(hits,)], False, COUNT_DESCRIPTION)
            elif SEARCH_IN in sql and SEARCH_PAGE.fullmatch(sql):
                hits, articles = await self.search_size(params["search"])
                if hits > COMMON * articles:
                    sql = sql.replace(SEARCH_IN, SEARCH_PROBE)
                if hits > RARE * articles:
                    sql = sql.replace("from articles where",
                                      "from articles indexed by articles_published where", 1)
                self.recognised["page"] += 1
        if isinstance(sql, str) and TABLE_COUNT.fullmatch(sql):
            key = (sql, _frozen(params), args, _frozen(kwargs))
            return await self.kept_counts.get(key, self.stamp(),
                                               lambda: self._run(sql, params, args, kwargs))
        return await super().execute(sql, params, *args, **kwargs)


@hookimpl
def get_metadata(datasette, key, database, table):
    """The tables' and canned queries' metadata taken out at startup (publish.metadata)."""
    relocated = getattr(datasette, "_narrative_relocated", None)
    return relocated.served(key, database) if relocated is not None else {}


@hookimpl
def startup(datasette):
    """Every database file is served as a SearchDatabase, under the same name and route,
    keeping the results of its canned queries and of the dashboard's charts; the tables'
    and queries' metadata moves out of what Datasette copies (publish.metadata)."""
    if getattr(datasette, "_narrative_relocated", None) is None:
        datasette._narrative_relocated = metadata.relocate(datasette._metadata_local)
    for name, db in list(datasette.databases.items()):
        if db.path and not isinstance(db, SearchDatabase):
            datasette.remove_database(name)
            datasette.add_database(SearchDatabase(datasette, path=db.path,
                                                  is_mutable=db.is_mutable),
                                   name=name, route=db.route)
            # not db.close(): Datasette keeps one connection per thread and database name
            # (datasette.database.connections), which the new database goes on using; a
            # query another plugin ran at startup would otherwise leave it closed

    async def keep_results():
        await _note_markdown_cells(datasette)
        charts = {chart.get("query") for dashboard in
                  (datasette.plugin_config("datasette-dashboards") or {}).values()
                  if isinstance(dashboard, dict)
                  for chart in (dashboard.get("charts") or {}).values()
                  if isinstance(chart, dict)}
        for name, db in datasette.databases.items():
            if isinstance(db, SearchDatabase):
                queries = (await datasette.get_canned_queries(name, None)).values()
                db.kept_sql = frozenset(
                    sql for sql in [*(q.get("sql") for q in queries if not q.get("write")),
                                    *charts]
                    if isinstance(sql, str) and ":_" not in sql)  # not magic :_now_... ones

    return keep_results


# --- datasette-render-markdown, quiet where nothing is markdown -----------------------------
# It comes with datasette-dashboards (whose markdown charts use its render_markdown()) and
# its render_cell asks Datasette for its plugin configuration for every text cell: 14 us
# each, 450 times an articles table page (11 % of the page's time). Where it has no
# configuration and no served column matches its patterns (default *_markdown) it renders
# nothing, so its render_cell is skipped there: the module is registered again (pluggy's
# unregister/register, as Datasette's plugin tests do) behind QuietMarkdown, which answers
# None for those instances and passes everything else on, hooks and all.
MARKDOWN_PLUGIN = "datasette_render_markdown"
_QUIET_MARKDOWN: weakref.WeakSet = weakref.WeakSet()  # Datasette instances with no markdown


class QuietMarkdown:
    """datasette-render-markdown's hooks, its render_cell skipped for _QUIET_MARKDOWN."""

    quiet_markdown = True

    def __init__(self, module):
        self.module = module
        self.__name__ = module.__name__

    @hookimpl
    def render_cell(self, value, column, table, database, datasette):
        if datasette in _QUIET_MARKDOWN:
            return None
        return self.module.render_cell(value=value, column=column, table=table,
                                       database=database, datasette=datasette)

    @hookimpl
    def extra_template_vars(self):
        return self.module.extra_template_vars()

    @hookimpl
    def prepare_jinja2_environment(self, env):
        return self.module.prepare_jinja2_environment(env)


def _wrap_markdown() -> None:
    for plugin in pm.get_plugins():
        if getattr(plugin, "__name__", None) == MARKDOWN_PLUGIN and not getattr(
                plugin, "quiet_markdown", False):
            name = pm.get_name(plugin)
            pm.unregister(plugin)
            pm.register(QuietMarkdown(plugin), name=name)


_wrap_markdown()


async def _note_markdown_cells(datasette) -> None:
    """Add datasette to _QUIET_MARKDOWN when render-markdown would render none of its cells:
    no configuration of its own anywhere in the metadata, no column or view column named
    like its default pattern."""
    if "datasette-render-markdown" in json.dumps(datasette.metadata(), default=str):
        return
    for name, db in datasette.databases.items():
        if name == INTERNAL:
            continue
        if await db.execute_fn(lambda conn: store.has_column_ending(conn, "_markdown")):
            return
    _QUIET_MARKDOWN.add(datasette)


def _frozen(values) -> tuple:
    """A query's parameters (a dict, a list or None) as part of a memo key."""
    if isinstance(values, dict):
        return tuple(sorted((str(key), repr(value)) for key, value in values.items()))
    return tuple(repr(value) for value in values or ())


def searchable(text: str) -> str:
    """The search box's text as the FTS5 query the user meant (searchbox.forgiving_query:
    al-Qaeda, Taliban's, U.S., a dangling AND); sqlite3.OperationalError saying what is
    wrong when it cannot be read (Datasette answers 400, templates/400.html keeps the box)."""
    forgiven = forgiving_query(text)
    if forgiven.query is None:
        raise sqlite3.OperationalError(f"Search {text!r}: {forgiven.error}")
    return forgiven.query


# --- the export ----------------------------------------------------------------


@hookimpl
def register_routes(datasette):
    return [(r"^/-/export/(?P<narrative>[^/]+)\.csv$", export_view)]


def _rows_in_thread(path: str, narrative: str, loop, queue: asyncio.Queue,
                    stop: threading.Event) -> None:
    """Read the narrative's mentions on a connection of its own, batch by batch."""

    def put(item):
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            cursor = store.export_mentions(conn, narrative)
            put([column[0] for column in cursor.description])
            while not stop.is_set():
                rows = cursor.fetchmany(EXPORT_BATCH)
                if not rows:
                    break
                put(rows)
        finally:
            conn.close()
        put(None)
    except Exception as error:  # reported in the stream, never a hung response
        put(error)


async def export_view(request, datasette, send):
    """Every mention of a narrative as CSV, streamed (no row limit) through the ASGI `send`
    that Datasette hands a route's view.

    The SQL time limit does not apply: the export reads one narrative's mentions
    in index order on its own read-only connection, and stops when the client goes.
    """
    narrative = request.url_vars["narrative"]
    db = datasette.get_database(archive_name(datasette))
    found = await db.execute_fn(
        lambda conn: store.get_narrative(sqlite_utils.Database(conn), narrative))
    if found is None:
        return Response.text(f"No narrative {narrative!r}\n", status=404)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/csv; charset=utf-8"),
        (b"content-disposition", f'attachment; filename="{narrative}-mentions.csv"'.encode())]})

    async def write(text: str) -> None:
        await send({"type": "http.response.body", "body": text.encode(), "more_body": True})

    await _stream_csv(db.path, narrative, write)
    await send({"type": "http.response.body", "body": b""})
    return None


async def _stream_csv(path: str, narrative: str, write) -> None:
    """The narrative's mentions as CSV text to `write`, batch by batch, read in a thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=4)
    stop = threading.Event()
    thread = threading.Thread(target=_rows_in_thread,
                              args=(path, narrative, loop, queue, stop), daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            if isinstance(item, Exception):
                await write(f"\nexport failed: {item}\n")
                break
            buffer = io.StringIO()
            out = csv.writer(buffer)
            if item and isinstance(item[0], str):
                out.writerow(item)
            else:
                out.writerows(item)
            await write(buffer.getvalue())
    finally:
        stop.set()
        while thread.is_alive():  # let the reader finish its put and close
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)
