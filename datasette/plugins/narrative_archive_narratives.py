"""Datasette plugin: the narrative pages (loaded with --plugins-dir).

- /narratives lists the narratives, each with its counts and a small chart of its
  articles per month (/narratives.json the same as JSON);
- /narratives/NARRATIVE answers who said it first, how it spread, who repeated it, who
  disputed it, which outlets carry it and who cited whom, narrowed by date range,
  country, outlet kind, language and stance (templates/narrative.html; the blocks are
  counted by narrative_archive.publish.narrative_page on a read connection, off the
  event loop, kept while the archive file is unchanged and for up to a minute after it
  changes, counted by one request at a time: publish.cache.Memo); /narratives/NARRATIVE.json
  is every block, and
  /narratives/NARRATIVE/BLOCK.csv or .json one block, with the same filters;
- /-/wacz/NARRATIVE.wacz packages the captures of the narrative's articles for
  ReplayWeb.page: built once per set of captures in a worker thread, one build at a
  time, and refused above WACZ_MAX_CAPTURES (`narrative-archive export-wacz` has no cap);
- the Atom feed of new mentions answers 404 for a narrative the archive does not have,
  as /-/export/NARRATIVE.csv does (it used to answer 200 with a "no mentions yet" entry).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from narrative_archive import store
from narrative_archive.publish import charts, dashboards
from narrative_archive.publish.cache import Memo, file_stamp
from narrative_archive.publish.display import http_href, short_url
from narrative_archive.publish.narrative_page import (
    BLOCKS,
    Filters,
    mention_rows,
    narrative_page,
    sorted_rows,
)
from narrative_archive.publish.narratives import block_rows, overview, to_csv
from narrative_archive.store import narrative_page as rows_of
from narrative_archive.times import now

PLUGIN = "narrative-archive"
WACZ_MAX_CAPTURES = 5000
BLOCK_TITLES = {"first": "Who said it first", "spread": "How it spread",
                "uptake": "Outlets in the order they took it up",
                "repeated": "Who repeated it", "disputed": "Who disputed it",
                "outlets": "Outlets", "citations": "Who cited whom"}
_wacz_lock = threading.Lock()


def archive_name(datasette) -> str:
    return (datasette.plugin_config(PLUGIN) or {}).get("database", "archive")


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.filters["short_url"] = short_url
    env.filters["http_href"] = http_href


@hookimpl
def register_routes(datasette):
    blocks = "|".join(BLOCKS)
    return [
        (r"^/narratives(\.(?P<format>json))?/?$", narratives_view),
        (rf"^/narratives/(?P<narrative>[^/]+)/(?P<block>{blocks})\.(?P<format>csv|json)$",
         block_view),
        (r"^/narratives/(?P<narrative>[^/]+?)(\.(?P<format>json))?$", narrative_view),
        (r"^/-/wacz/(?P<narrative>[^/]+)\.wacz$", wacz_view),
    ]


async def _read(datasette, fn):
    db = datasette.get_database(archive_name(datasette))
    return await db.execute_fn(lambda conn: fn(sqlite_utils.Database(conn)))


def _json_default(value):
    if isinstance(value, Filters):
        return value.args()
    if isinstance(value, Markup):
        return str(value)
    return str(value)


def _json_response(data, status: int = 200) -> Response:
    return Response(json.dumps(data, default=_json_default, ensure_ascii=False),
                    status=status, content_type="application/json; charset=utf-8")


async def _not_found(request, datasette, narrative: str, fmt: str | None) -> Response:
    message = f"No narrative {narrative!r} in this archive."
    if fmt in ("json", "csv"):
        return Response.text(message + "\n", status=404)
    return Response.html(await datasette.render_template("error.html", {
        "title": "Narrative not found", "status": 404,
        "error": Markup('{} <a href="{}">All narratives</a>').format(
            message, datasette.urls.path("/narratives"))}, request=request), status=404)


async def narratives_view(request, datasette):
    stamp, memos = _file_stamp(datasette), _memos(datasette)
    data = await memos["pages"].get("/narratives", stamp, lambda: _read(
        datasette, lambda db: {**overview(db), "counted_at": now()}))
    if request.url_vars.get("format") == "json":
        return _json_response(data)

    async def render():
        months = data["months"]
        charted = [{**narrative, "chart": charts.sparkbars(
            narrative["monthly"], narrative["colour"],
            title=f"{narrative['title']}: articles per month"
                  + (f", {months[0]} to {months[-1]}" if months else ""))}
            for narrative in data["narratives"]]
        return await datasette.render_template("narratives.html", {
            **data, "narratives": charted, "database": archive_name(datasette)},
            request=request)

    return Response.html(await memos["html"].get(("/narratives", data["counted_at"]), stamp,
                                                 render))


# What the narrative pages count, kept (publish.cache.Memo): current while the archive file
# is unchanged (the size and modification time of the file and its WAL, which every commit
# changes); after a change served for up to a minute (the instance's HTTP cache time,
# settings.json default_cache_ttl) while one request counts it again. Every mention of a
# narrative as rows, each filtered page's blocks, and each page as HTML.
STALE_SECONDS = 60  # NARRATIVE_ARCHIVE_PAGE_STALE overrides it (0: count after any change)


def _memos(datasette) -> dict[str, Memo]:
    """This Datasette's memos (rows, pages, html), with the stale time now in force."""
    memos = getattr(datasette, "_narrative_memos", None)
    if memos is None:
        memos = datasette._narrative_memos = {
            "rows": Memo(entries=16), "pages": Memo(entries=256), "html": Memo(entries=256)}
    try:
        stale = float(os.environ.get("NARRATIVE_ARCHIVE_PAGE_STALE", STALE_SECONDS))
    except ValueError:
        stale = STALE_SECONDS
    for memo in memos.values():
        memo.stale_seconds = stale
    return memos


def _file_stamp(datasette) -> tuple | None:
    """The archive file's stamp (publish.cache.file_stamp): None without one."""
    db = datasette.databases.get(archive_name(datasette))
    return file_stamp(db.path if db is not None else None)


def _page_key(request, narrative_id: str) -> tuple[tuple, Filters, str | None, list[str]]:
    filters, problems = Filters.from_args(request.args)
    by = request.args.get("by") or None
    return (narrative_id, tuple(sorted(filters.args().items())), by), filters, by, problems


async def _page(request, datasette, narrative_id: str):
    """(the narrative's blocks or None, what the filters refused), kept as above."""
    key, filters, by, problems = _page_key(request, narrative_id)
    stamp = _file_stamp(datasette)
    memos = _memos(datasette)

    async def rows():
        return await _read(datasette, lambda db: sorted_rows(mention_rows(db, narrative_id))
                           if store.get_narrative(db, narrative_id) is not None else None)

    async def count():
        held = await memos["rows"].get(narrative_id, stamp, rows)
        if held is None:
            return None

        def read(db):
            page = narrative_page(db, narrative_id, filters, by, rows=held)
            if page is not None:
                page["colour"] = charts.narrative_colour(
                    store.narrative_ids(db).index(narrative_id))
                page["counted_at"] = now()
            return page

        return await _read(datasette, read)

    return await memos["pages"].get(key, stamp, count), problems


async def narrative_view(request, datasette):
    narrative_id = urllib.parse.unquote(request.url_vars["narrative"])
    fmt = request.url_vars.get("format")
    page, problems = await _page(request, datasette, narrative_id)
    if page is None:
        return await _not_found(request, datasette, narrative_id, fmt)
    if fmt == "json":
        return _json_response({**{k: v for k, v in page.items() if k != "filters"},
                               "filters": page["filters"].args(), "problems": problems})
    key = (*_page_key(request, narrative_id)[0], page["counted_at"], tuple(problems))
    html = await _memos(datasette)["html"].get(key, _file_stamp(datasette),
                           lambda: _render(request, datasette, page, problems))
    return Response.html(html)


async def _render(request, datasette, page: dict, problems: list[str]) -> str:
    """The narrative page as HTML (the same for every reader of a public instance)."""
    spread = page["spread"]
    chart = charts.stacked_bars(
        [row["period"] for row in spread],
        {stance: [row[stance] for row in spread] for stance in charts.STANCES},
        charts.STANCE_COLOURS, markers=[row["stories"] for row in spread],
        labels=charts.STANCE_LABELS,
        title=f"Articles per {page['by']} by stance, with distinct stories") if spread else None
    query = urllib.parse.urlencode(page["filters"].args())
    return await datasette.render_template("narrative.html", {
        **page, "problems": problems, "chart": chart, "query": query,
        "block_titles": BLOCK_TITLES, "stance_colours": charts.STANCE_COLOURS,
        "stance_labels": charts.STANCE_LABELS, "stances": charts.STANCES,
        "database": archive_name(datasette), "by_requested": request.args.get("by") or "",
    }, request=request)


async def block_view(request, datasette):
    narrative_id = urllib.parse.unquote(request.url_vars["narrative"])
    block, fmt = request.url_vars["block"], request.url_vars["format"]
    page, _problems = await _page(request, datasette, narrative_id)
    if page is None:
        return await _not_found(request, datasette, narrative_id, fmt)
    rows = block_rows(page, block)
    if fmt == "json":
        return _json_response({"narrative": narrative_id, "block": block,
                               "filters": page["filters"].args(), "rows": rows})
    filename = f"{narrative_id}-{block}.csv"
    return Response(to_csv(rows), status=200, content_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


# --- WACZ ----------------------------------------------------------------------------


def _captures_dir(datasette) -> Path | None:
    configured = (datasette.plugin_config(PLUGIN) or {}).get("captures_dir") or os.environ.get(
        "NARRATIVE_ARCHIVE_CAPTURES")
    if configured:
        return Path(configured)
    db = datasette.databases.get(archive_name(datasette))
    return Path(db.path).resolve().parent / "captures" if db is not None and db.path else None


def _build_wacz(rows: list[dict], captures: Path, narrative: dict) -> Path:
    from narrative_archive.capture import export_wacz

    newest = max(row["id"] for row in rows)
    directory = Path(tempfile.gettempdir()) / "narrative-archive-wacz"
    directory.mkdir(exist_ok=True)
    out = directory / f"{narrative['id']}-{len(rows)}-{newest}.wacz"
    with _wacz_lock:
        if not out.exists():
            for old in directory.glob(f"{narrative['id']}-*.wacz"):
                old.unlink(missing_ok=True)
            partial = out.with_suffix(".partial.wacz")
            export_wacz([(r["warc_file"], r["offset"], r["length"]) for r in rows], captures,
                        partial, narrative["title"], narrative["description"],
                        page_titles={r["url"]: r["title"] for r in rows if r["title"]})
            partial.replace(out)
    return out


async def wacz_view(request, datasette):
    narrative_id = urllib.parse.unquote(request.url_vars["narrative"])
    narrative = await _read(datasette, lambda db: store.get_narrative(db, narrative_id))
    if narrative is None:
        return await _not_found(request, datasette, narrative_id, "csv")
    rows = await _read(datasette, lambda db: store.narrative_captures(db, narrative_id))
    captures = _captures_dir(datasette)
    if not rows or captures is None:
        return Response.text(f"No captures of articles mentioning {narrative_id} are kept.\n",
                             status=404)
    if len(rows) > WACZ_MAX_CAPTURES:
        return Response.text(
            f"{len(rows):,} captures: too many to package on request (at most "
            f"{WACZ_MAX_CAPTURES:,}). Run `narrative-archive export-wacz {narrative_id} "
            f"{narrative_id}.wacz` on the archive's host.\n", status=413)
    try:
        path = await asyncio.to_thread(_build_wacz, rows, captures, narrative)
    except Exception as error:  # reported, never a hung request
        return Response.text(f"The WACZ could not be built: {error}\n", status=500)
    data = await asyncio.to_thread(path.read_bytes)
    return Response(data, status=200, content_type="application/wacz", headers={
        "content-disposition": f'attachment; filename="{narrative_id}.wacz"'})


# --- one colour per narrative, on the dashboard too ---------------------------------------

COLOURS_MEMO_SECONDS = 60


def narrative_titles(datasette) -> list[str]:
    """The archive's narrative titles in id order (read from the file, kept a minute)."""
    memo = getattr(datasette, "_narrative_titles", None)
    now = time.monotonic()
    if memo and now - memo[0] < COLOURS_MEMO_SECONDS:
        return memo[1]
    titles: list[str] = []
    # the name from the local metadata, not plugin_config(): that asks get_metadata again
    local = getattr(datasette, "_metadata_local", None) or {}
    name = ((local.get("plugins") or {}).get(PLUGIN) or {}).get("database", "archive")
    db = datasette.databases.get(name)
    if db is None:  # before the site plugin names it "archive": the one file served
        db = next((d for d in datasette.databases.values() if d.path), None)
    if db is not None and db.path:
        try:
            conn = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)
            try:
                titles = rows_of.narrative_titles(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            titles = []
    datasette._narrative_titles = (now, titles)
    return titles


# --- the dashboard's configuration: datasette/dashboards.yml -----------------------------

DASHBOARDS = Path(__file__).resolve().parent.parent / dashboards.DASHBOARDS_FILE


def _local_plugins(datasette) -> dict:
    """The `plugins:` of the metadata file Datasette was given (read directly:
    plugin_config() would ask get_metadata again)."""
    return (getattr(datasette, "_metadata_local", None) or {}).get("plugins") or {}


def dashboards_config(datasette) -> dict:
    """datasette-dashboards' configuration, as get_metadata gives it: dashboards.yml (or the
    file named by `narrative-archive: dashboards:`, relative to the Datasette directory)
    with the narratives' colours, kept until the file or the narratives' titles change.
    When the metadata itself has `plugins: datasette-dashboards:`, only the colours (the
    metadata's own configuration is merged over them by Datasette)."""
    local = _local_plugins(datasette)
    own = local.get("datasette-dashboards")
    titles = tuple(narrative_titles(datasette))
    state = getattr(datasette, "_narrative_dashboards", None)
    if state is None:
        named = (local.get(PLUGIN) or {}).get("dashboards")
        path = DASHBOARDS.parent / named if named else DASHBOARDS
        state = datasette._narrative_dashboards = {"file": dashboards.ConfigFile(path),
                                                   "key": None, "value": {}}
    if isinstance(own, dict):
        key: tuple = ("metadata", id(own), titles)
        if key != state["key"]:
            state["key"], state["value"] = key, dashboards.colour_scales(own, list(titles))
        return copy.deepcopy(state["value"])  # Datasette merges the metadata's into it
    stamp, config = state["file"].get()
    key = ("file", stamp, titles)
    if key != state["key"]:
        state["key"], state["value"] = key, dashboards.with_colours(config, list(titles))
    return state["value"]


@hookimpl
def get_metadata(datasette, key, database, table):
    """datasette-dashboards' configuration (dashboards_config), for the `plugins` key (and the
    whole metadata) only: Datasette's table permission checks, which deep-copy whatever
    metadata they are given, ask for `tables` and never see it. Each chart coloured by
    narrative gets the narratives' colours as its scale (narrative titles in id order,
    charts.NARRATIVE_COLOURS): a narrative has the same colour on every chart, filtered or
    not, as on /narratives; none is a stance's colour."""
    if key not in (None, "plugins") or database is not None:
        return {}
    config = dashboards_config(datasette)
    # fresh outer dicts: Datasette merges the metadata file's plugins into them in place
    return {"plugins": {"datasette-dashboards": config}} if config else {}


# --- the Atom feed: 404 for an unknown narrative -------------------------------------


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def atom_not_found(scope, receive, send):
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if path.endswith("/new_mentions_feed.atom"):
                args = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
                narrative = (args.get("narrative") or [""])[0]
                if narrative and await _read(
                        datasette, lambda db: store.get_narrative(db, narrative)) is None:
                    response = Response.text(f"No narrative {narrative!r}\n", status=404)
                    await response.asgi_send(send)
                    return
            await app(scope, receive, send)

        return atom_not_found

    return wrap
