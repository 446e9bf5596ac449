"""Datasette plugin: what the public instance admits, and how it answers a search it
cannot run (loaded with --plugins-dir, beside narrative_archive_site.py).

- admission control (narrative_archive.publish.admission): arbitrary SQL, canned
  queries, dashboard charts, CSV and other exports take a slot of a small number,
  globally and per client address, and wait in a short line for one; past that a
  429 (this client asks too much) or 503 (the server is busy) with Retry-After. Table
  and row pages, searches and the dashboard page never wait here, so they keep their
  latency while sixteen time-limit queries run;
- Datasette's debug pages (/-/threads, /-/versions, /-/plugins and the permission,
  pattern and message debuggers) answer 404;
- an archive file replaced under the server (another file moved or copied to its path)
  is not served stale or mixed with the new one: every page answers 503 until a restart
  (store.restore_backup restores a backup in place, with no restart);
- searches (narrative_archive.publish.searches): a canned query opened without its
  search (/archive/near_misses, /archive/search_snippets) shows its form with a hint
  instead of SQLite's 'fts5: syntax error near ""' (its MATCH reads fts_query(:q),
  which turns an empty search into one that matches nothing); a bad search in any
  parameter (a table's _search, a canned query's q, the MATCH of ?sql=) is explained
  in words, on the query's form or as a 400 (JSON for .json), never dumped.

Settings (metadata.yml, plugins: narrative-archive-admission:), all optional:
  sql: {running: 2, running_per_client: 1, waiting: 16, waiting_per_client: 16,
        max_wait: 10, retry_after: 2}       # arbitrary SQL
  query: {...the same keys}                  # canned queries, charts, exports
  refusal_delay: 1             # seconds before a 429/503 is sent (a tarpit for loops)
  file_check_every: 1          # seconds between looks at whether the archive file was replaced
  trust_forwarded_for: false   # true behind a reverse proxy that sets X-Forwarded-For
  debug_endpoints: false       # true to keep Datasette's debug pages (a private instance)
Keep `running` of both kinds below Datasette's num_sql_threads (settings.json), so a
thread is always left for cheap pages.
"""

from __future__ import annotations

import asyncio
import os
import pdb
import time
import traceback
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

from narrative_archive.publish.admission import (
    DEBUG_PATHS,
    KINDS,
    QUERY,
    SQL,
    Admission,
    Limits,
    classify,
    client_address,
)
from narrative_archive.publish.searches import (
    MATCH_PARAMETER,
    bad_searches,
    fts_query,
    guard_matches,
    match_parameters,
    table_search_arguments,
    without_empty_searches,
)

PLUGIN = "narrative-archive-admission"
SITE_PLUGIN = "narrative-archive"


class _State:
    """One Datasette's admission slots and what it knows of its queries."""

    def __init__(self, datasette):
        config = datasette.plugin_config(PLUGIN) or {}
        self.database = (datasette.plugin_config(SITE_PLUGIN) or {}).get("database", "archive")
        self.admission = Admission({kind: Limits.from_config(config.get(kind)) for kind in KINDS})
        self.trust_forwarded_for = bool(config.get("trust_forwarded_for"))
        self.debug_endpoints = bool(config.get("debug_endpoints"))
        self.refusal_delay = float(config.get("refusal_delay", 1.0))
        self.check_every = float(config.get("file_check_every", 1.0))
        self.base = (datasette.setting("base_url") or "/").rstrip("/")
        self.canned: dict[str, str] | None = None  # name → SQL
        self.known_sql: set[str] = set()  # canned queries' and dashboard charts' SQL
        self.file: tuple[str, tuple[int, int] | None] | None = None  # path, (device, inode)
        self.file_checked = 0.0
        self.is_replaced = False
        self.guarded: dict[str, str | None] = {}  # a canned query's SQL → guarded (None: as is)

    def replaced(self, datasette) -> bool:
        """Whether the archive file was replaced (another file at its path) since this
        server opened it; looked at once a second."""
        now = time.monotonic()
        if self.file is not None and now - self.file_checked < self.check_every:
            return self.is_replaced
        self.file_checked = now
        if self.file is None:
            db = datasette.databases.get(self.database)
            path = getattr(db, "path", None)
            self.file = (path, _identity(path)) if path else ("", None)
        self.is_replaced = self.file[1] is not None and _identity(self.file[0]) != self.file[1]
        return self.is_replaced

    async def load(self, datasette) -> None:
        if self.canned is not None:
            return
        queries = await datasette.get_canned_queries(self.database, None)
        self.canned = {name: query.get("sql") or "" for name, query in queries.items()}
        charts = [chart.get("query") for dashboard in
                  (datasette.plugin_config("datasette-dashboards") or {}).values()
                  if isinstance(dashboard, dict)
                  for chart in (dashboard.get("charts") or {}).values() if isinstance(chart, dict)]
        self.known_sql = {_normal(sql) for sql in [*self.canned.values(), *charts] if sql}


def _identity(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return (-1, -1)  # gone: not the file this server opened either
    return found.st_dev, found.st_ino


REPLACED = ("The archive file was replaced while this server had it open: it would serve the"
            " old file, or a mix of both. Restart it to serve the new one (restore a backup"
            " with narrative_archive.store.restore_backup to avoid this).")


def _normal(sql: str) -> str:
    return " ".join(sql.split())


def state_of(datasette) -> _State:
    state = getattr(datasette, "_narrative_archive_admission", None)
    if state is None:
        state = datasette._narrative_archive_admission = _State(datasette)
    return state


# --- the request, before Datasette sees it -----------------------------------------


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def admit(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            state = state_of(datasette)
            await state.load(datasette)
            path = scope["path"]
            if state.base and path.startswith(state.base):
                path = path[len(state.base):] or "/"
            if state.replaced(datasette) and not path.startswith("/static/"):
                return await _send(send, Response.text(REPLACED + "\n", status=503,
                                                       headers={"Retry-After": "60"}))
            if not state.debug_endpoints and DEBUG_PATHS.match(path) \
                    and scope["method"] in ("GET", "HEAD"):  # others: refused as writes
                return await _send(send, Response.text("Not found.\n", status=404))
            query_string = scope.get("query_string", b"").decode("latin-1")
            kept = without_empty_searches(query_string)
            if kept != query_string:  # an empty search box: the whole table, not an error
                query_string = kept
                scope = {**scope, "query_string": kept.encode("latin-1")}
            arguments = dict(parse_qsl(query_string, keep_blank_values=True))
            refused = await _bad_search(datasette, state, scope, receive, path, arguments)
            if refused is not None:
                return await _send(send, refused)
            kind = classify(path, query_string, state.database, state.canned or ())
            if kind == SQL and _normal(arguments.get("sql", "")) in state.known_sql:
                kind = QUERY  # a dashboard chart or a canned query's own SQL
            if kind is None:
                return await app(scope, receive, send)
            client = client_address(scope, state.trust_forwarded_for)
            async with state.admission.slot(kind, client) as refusal:
                if refusal is not None:
                    # A loop that ignores Retry-After gets its refusals no faster than this,
                    # so it cannot keep the event loop busy with them.
                    await asyncio.sleep(state.refusal_delay)
                    return await _send(send, _refusal_response(path, refusal))
                await app(scope, receive, send)

        return admit

    return wrap


def _refusal_response(path: str, refusal) -> Response:
    title = "Too many requests" if refusal.status == 429 else "Busy"
    headers = {"Retry-After": str(refusal.retry_after), "Cache-Control": "no-store"}
    if _format(path) == "json":
        return Response.json({"ok": False, "status": refusal.status, "title": title,
                              "error": refusal.message, "retry_after": refusal.retry_after},
                             status=refusal.status, headers=headers)
    return Response.text(f"{title}: {refusal.message}. Retry after {refusal.retry_after} s.\n",
                         status=refusal.status, headers=headers)


async def _send(send, response: Response) -> None:
    await response.asgi_send(send)


def _query_sql(state: _State, path: str, arguments: dict[str, str]) -> tuple[str, bool] | None:
    """(SQL, canned?) of a query page (a canned query or ?sql= on the database), else None."""
    parts = path.strip("/").split("/")
    name = parts[0].rsplit(".", 1)[0] if "." in parts[0] else parts[0]
    if name != state.database:
        return None
    if len(parts) == 1:
        sql = arguments.get("sql") or ""
        return (sql, False) if sql.strip() else None
    query = parts[1].rsplit(".", 1)[0] if "." in parts[1] else parts[1]
    if len(parts) == 2 and state.canned and query in state.canned:
        return state.canned[query], True
    return None


def _format(path: str) -> str:
    """A page's format: '' for HTML, else its extension (json, csv, ...)."""
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[1].lower() if "." in last else ""


async def _bad_search(datasette, state: _State, scope, receive, path: str,
                      arguments: dict[str, str]) -> Response | None:
    """A 400 explaining a bad search, for any page but a query's HTML form (which shows
    the explanation itself, see extra_template_vars); None when the searches are fine."""
    query = _query_sql(state, path, arguments)
    if query is not None:
        sql, canned = query
        bad = bad_searches(arguments, match_parameters(sql), allow_empty=canned, forgiving=canned)
        if _format(path) in ("", "html"):
            return None  # the query's form, rendered with the explanation
    else:
        if _format(path) in ("", "html"):
            return None  # the table page keeps its search box (plugins/..._search.py)
        bad = bad_searches(arguments, table_search_arguments(arguments))
    if not bad:
        return None
    message = " ".join(bad.values())
    title = "Search not understood"
    if _format(path) == "json":
        return Response.json({"ok": False, "status": 400, "title": title, "error": message},
                             status=400)
    if _format(path):
        return Response.text(f"{title}: {message}\n", status=400)
    html = await datasette.render_template(
        ["400.html", "error.html"], {"ok": False, "status": 400, "title": title, "error": message},
        request=Request({**scope, "csrftoken": lambda: ""}, receive))  # no form on it
    return Response.html(html, status=400)


# --- queries: an empty search matches nothing; a bad one is explained --------------


@hookimpl
def prepare_connection(conn, database, datasette):
    if database != "_internal":
        conn.create_function("fts_query", 1, fts_query, deterministic=True)


@hookimpl
def canned_queries(datasette, database, actor):
    """The metadata's canned queries whose MATCH reads a parameter, guarded: MATCH
    fts_query(:q) (an empty q matches nothing, so the page shows its form).

    Datasette asks for the canned queries on every page, some pages up to three times
    (permission checks): the guarded SQL is kept per query text, not rewritten each time."""
    queries = datasette.metadata("queries", database=database, fallback=False) or {}
    known: dict[str, str | None] = state_of(datasette).guarded
    guarded = {}
    for name, query in queries.items():
        if isinstance(query, str):
            query = {"sql": query}
        sql = query.get("sql") or ""
        if sql not in known:
            if len(known) > 1000:
                known.clear()
            known[sql] = guard_matches(sql) if MATCH_PARAMETER.search(sql) else None
        if known[sql] is not None and not query.get("write"):
            guarded[name] = {**query, "sql": known[sql]}
    return guarded


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    """On a query's HTML page: a hint when its search is empty, and the explanation of a
    bad one in place of SQLite's message."""
    if request is None or not template.startswith("query"):
        return {}
    state = state_of(datasette)
    arguments = {key: request.args.get(key) for key in request.args}
    query = _query_sql(state, request.path[len(state.base):] if state.base else request.path,
                       arguments)
    if query is None:
        return {}
    sql, canned = query
    names = match_parameters(sql)
    empty = [name for name in names if not (arguments.get(name) or "").strip()]
    if canned and empty:
        datasette.add_message(request, (
            f"Type a search in {', '.join(empty)} and press Run: this query lists what the"
            " search finds (an empty search finds nothing)."), datasette.INFO)
    bad = bad_searches(arguments, names, allow_empty=canned, forgiving=canned)
    return {"error": " ".join(bad.values())} if bad else {}


# --- errors: answered without a traceback on the event loop -------------------------

DEFAULT_HANDLER = "datasette.handle_exception"


@hookimpl
def startup(datasette):
    """Replace Datasette's default error handler with handle_exception below. The default
    prints every error's traceback with every local variable through rich, on the event
    loop: each query over the time limit held up every other request for up to seconds."""
    from datasette.plugins import pm

    if not pm.is_blocked(DEFAULT_HANDLER):
        pm.set_blocked(DEFAULT_HANDLER)


@hookimpl
def handle_exception(datasette, request, exception):
    """Datasette's error page or JSON, as its default handler makes them; a server error
    (5xx) prints a plain traceback, a client's error (a query over the time limit, a bad
    parameter, a missing page) prints nothing."""
    if isinstance(exception, Base400):
        status, info, message, title = exception.status, {}, exception.args[0], None
    elif isinstance(exception, DatasetteError):
        status, info, message, title = (exception.status, dict(exception.error_dict),
                                        exception.message, exception.title)
        if exception.message_is_html:
            message = Markup(message)
    else:
        status, info, message, title = 500, {}, str(exception), None
    if status >= 500:
        traceback.print_exception(exception)
        if datasette.pdb:
            pdb.post_mortem(exception.__traceback__)

    async def inner():
        info.update({"ok": False, "error": message, "status": status, "title": title})
        headers: dict[str, str] = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.path.split("?")[0].endswith(".json"):
            return Response.json(info, status=status, headers=headers)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        return Response.html(await template.render_async(dict(
            info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(),
            menu_links=lambda: [])), status=status, headers=headers)

    return inner
