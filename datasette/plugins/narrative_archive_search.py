"""Datasette plugin: search that forgives, and search results that show why they matched.

- ?_search= on articles and mention_articles is read by searchbox.forgiving_query (the perf
  plugin applies it to Datasette's own search SQL): al-Qaeda, Taliban's, U.S. weapons
  and "taliban AND" search as meant, FTS5 syntax runs as written;
- the results page shows, beside each row, the passage of the article where the words
  matched, <mark>ed (templates/_table-archive-articles.html), and says how the text was
  read when it was not FTS5 as typed;
- a search that cannot be read answers 400 with the search box kept and what is wrong
  (templates/search_error.html; the JSON API answers 400 with the error, as before);
- canned queries' searches are forgiven the same way by fts_query() (publish/searches.py,
  registered by the admission plugin), which also explains a search that cannot be read.
"""

from __future__ import annotations

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from datasette.views.base import DatasetteError
from markupsafe import Markup, escape

from narrative_archive.fts import MARK_CLOSE, MARK_OPEN
from narrative_archive.publish.instance import archive_name
from narrative_archive.publish.search import search_passages
from narrative_archive.searchbox import SEARCH_HELP, forgiving_query

PLUGIN = "narrative-archive"
SEARCHED_TABLES = {"articles": ("id",), "mention_articles": ("article_id",)}






@hookimpl
def prepare_connection(conn, database, datasette):
    if database == "_internal":
        return


def marked_html(passage: str | None) -> Markup:
    """A scraped passage as HTML: all escaped, then only the exact marks restored."""
    if not passage:
        return Markup("")
    escaped = str(escape(passage))
    return Markup(escaped.replace(str(escape(MARK_OPEN)), MARK_OPEN)
                  .replace(str(escape(MARK_CLOSE)), MARK_CLOSE))


def _row_ids(display_rows, columns: tuple[str, ...]) -> list[int | None]:
    ids: list[int | None] = []
    for row in display_rows:
        found = None
        for cell in row:
            if cell.get("column") in columns:
                try:
                    found = int(str(cell.get("raw")))
                except ValueError:
                    pass
                break
        ids.append(found)
    return ids


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name != "table" or table not in SEARCHED_TABLES or request is None \
            or database != archive_name(datasette):
        return {}
    search = request.args.get("_search") or ""
    if not search:
        return {}
    forgiven = forgiving_query(search)

    async def search_passages_of(display_rows) -> list[Markup]:
        ids = _row_ids(display_rows, SEARCHED_TABLES[table])
        db = datasette.get_database(database)
        found = await db.execute_fn(lambda conn: search_passages(
            sqlite_utils.Database(conn), search, [i for i in ids if i is not None]))
        return [marked_html(found.get(i)) if i is not None else Markup("") for i in ids]

    return {"search_passages": search_passages_of,
            "search_read_as": forgiven.query if forgiven.changed else None,
            "search_help": SEARCH_HELP}


@hookimpl(tryfirst=True)  # before the admission plugin's handler of every error
def handle_exception(datasette, request, exception):
    """A search page's 400 (its text could not be read): the box kept, the reason said."""
    typed = request.args.get("_search") if request is not None else None
    if typed is None or not isinstance(exception, DatasetteError) or exception.status != 400 \
            or request.path.endswith(".json"):
        return None

    async def inner():
        return Response.html(await datasette.render_template("search_error.html", {
            "typed": typed, "error": exception.message, "action": request.path,
        }, request=request), status=400)

    return inner
