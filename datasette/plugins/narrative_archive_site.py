"""Datasette plugin for the published narrative archive (loaded with --plugins-dir).

- publishes the archive as the database "archive" whatever its file is called, so
  metadata.yml, the dashboard and every link work for any --db path;
- refuses every request that is not GET, HEAD or OPTIONS: the public instance is
  read-only whatever other plugins are installed;
- renders mention snippets with their <mark> highlights while escaping everything
  else (snippets are scraped text), and links titles and article ids to the article
  page;
- gives the article page (templates/row-archive-articles.html) the article's
  outlet, narratives, snippets and versions, with a word diff between versions
  (bounded, and computed in a worker thread, never on the event loop), each
  mention's stance with its evidence, the other copies of its story, what it
  cites and what cites it;
- lists the article's WARC captures on its page, each downloadable as the exact
  record (`/-/capture/ID.warc.gz`: looked up by captures row id, read from the
  captures dir only; see capture_download).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
import sqlite3
import threading
from pathlib import Path

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from narrative_archive import store

PLUGIN = "narrative-archive"
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
DIFF_CONTEXT = 12  # words of unchanged text kept around each change
DIFF_MAX_WORDS = 50000  # per version: longer texts are not compared at all
DIFF_MAX_PARAGRAPHS = 2000  # per version, likewise
# difflib's worst case for n and m words is n * m * min(n, m) steps: word-by-word comparison
# stops when the changed passages of a pair of versions sum to this many; later changes are
# shown as whole passages.
DIFF_MAX_WORK = 20_000_000
DIFF_MAX_SHOWN = 2000  # words shown per pair of versions (changed and context)


def archive_name(datasette) -> str:
    # Asked for every rendered cell: read the plugin config once per Datasette.
    name = getattr(datasette, "_narrative_archive_name", None)
    if name is None:
        name = (datasette.plugin_config(PLUGIN) or {}).get("database", "archive")
        datasette._narrative_archive_name = name
    return name


# --- the database name ------------------------------------------------------


@hookimpl
def startup(datasette):
    """Serve the one archive file as `archive`, so metadata keyed on that name applies."""
    name = archive_name(datasette)
    if name in datasette.databases:
        return
    files = [key for key, db in datasette.databases.items() if db.path and key != "_internal"]
    if len(files) == 1:
        db = datasette.databases[files[0]]
        datasette.remove_database(files[0])
        datasette.add_database(db, name=name)


# --- SQL limits: what anonymous SQL may do ------------------------------------------


# Longest string or blob (and row) a query may make. Above any stored article, so every
# row still reads; far below what printf('%.*c', 900000000, 'x') would allocate.
MAX_VALUE_BYTES = 16 * 1024 * 1024
MAX_SQL_BYTES = 50_000  # the longest SQL text; ready-made queries are a few KB
# fts3_tokenizer('name') returns a C pointer; with two arguments it registers a tokenizer.
REFUSED_FUNCTIONS = {"fts3_tokenizer"}


def authorize(action, arg1, arg2, db_name, trigger):
    """sqlite3 authorizer for Datasette's connections: refuse REFUSED_FUNCTIONS, and read
    the file column of pragma_database_list as NULL (it is the server's file path)."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if (action == sqlite3.SQLITE_READ and (arg1 or "").lower() == "pragma_database_list"
            and (arg2 or "").lower() == "file"):
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


# SQLite 3.40's printf() loops once per character of a field's width or precision, with no
# check of the time limit: printf('%.*c', 900000000, 'x') runs for seconds even when the
# result is refused as too long. Such fields are refused before SQLite sees them.
PRINTF_MAX_FIELD = 100_000
_PRINTF_FIELD = re.compile(r"%[-+ #!0,]*(\*|\d+)?(?:\.(\*|\d*))?l{0,2}(.)", re.DOTALL)
_printf_connections = threading.local()


def guarded_printf(format_string, *args):
    """SQLite's printf(format, ...) (alias format()), refusing widths and precisions above
    PRINTF_MAX_FIELD with "string or blob too big"."""
    if isinstance(format_string, str):
        position = 0
        for match in _PRINTF_FIELD.finditer(format_string):
            width, precision, conversion = match.groups()
            for field in (width, precision):
                if field == "*":
                    value = args[position] if position < len(args) else 0
                    position += 1
                    try:
                        field = abs(int(value))
                    except (TypeError, ValueError):
                        field = 0
                if field and int(field) > PRINTF_MAX_FIELD:
                    raise OverflowError("printf field too wide")  # sqlite3: SQLITE_TOOBIG
            if conversion != "%":
                position += 1
    conn = getattr(_printf_connections, "conn", None)
    if conn is None:
        conn = _printf_connections.conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    marks = ", ".join("?" * (len(args) + 1))
    try:
        return conn.execute(f"select printf({marks})", (format_string, *args)).fetchone()[0]
    except sqlite3.DataError as error:
        raise OverflowError(str(error)) from None


def marked_passage(text, words=32):
    """The `words` consecutive words of highlighted text holding the most <mark>ed words,
    "…" where cut, marks kept balanced; None when nothing is marked.

    SQL: marked_passage(highlight(articles_fts, 1, '<mark>', '</mark>'), 32). FTS5's own
    snippet() fails on some queries with "database disk image is malformed" (FIELD_NOTES);
    highlight() does not.
    """
    if not isinstance(text, str) or MARK_OPEN not in text:
        return None
    tokens = text.split()
    inside, open_at, marked = False, [], []
    for token in tokens:
        open_at.append(inside)
        marked.append(inside or MARK_OPEN in token)
        for tag in re.findall(r"</?mark>", token):
            inside = tag == MARK_OPEN
    size = max(int(words), 1)
    best, score = 0, sum(marked[:size])
    running = score
    for start in range(1, max(len(tokens) - size + 1, 1)):
        running += marked[start + size - 1] - marked[start - 1]
        if running > score:
            best, score = start, running
    end = min(best + size, len(tokens))
    passage = " ".join(tokens[best:end])
    if open_at[best]:
        passage = MARK_OPEN + passage
    if end < len(tokens) and open_at[end]:
        passage += MARK_CLOSE
    return ("… " if best else "") + passage + (" …" if end < len(tokens) else "")


@hookimpl
def prepare_connection(conn, database, datasette):
    if database == "_internal":  # Datasette's own catalog, not reachable by anonymous SQL
        return
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.set_authorizer(authorize)
    for name in ("printf", "format"):
        conn.create_function(name, -1, guarded_printf, deterministic=True)
    conn.create_function("marked_passage", 2, marked_passage, deterministic=True)


def public_databases(datasette) -> list[dict]:
    """What /-/databases.json says, without the server's file paths."""
    return [{key: value for key, value in db.items() if key != "path"}
            for db in datasette._connected_databases()]


async def databases_view(request, datasette):
    data = public_databases(datasette)
    if request.url_vars.get("format"):
        return Response.json(data)
    return Response.html(await datasette.render_template(
        "show_json.html", {"filename": "databases.json", "data_json": json.dumps(data, indent=4)},
        request=request))


@hookimpl
def register_routes(datasette):
    # Ahead of Datasette's own /-/databases: plugin routes are matched first.
    return [(r"^/-/databases(\.(?P<format>json))?$", databases_view),
            (r"^/-/capture/(?P<id>[0-9]{1,18})\.warc\.gz$", capture_download)]


# --- WARC records ------------------------------------------------------------


def captures_dir(datasette) -> Path | None:
    """Where the WARC files are: plugin config `captures_dir`, else env
    NARRATIVE_ARCHIVE_CAPTURES (`serve --captures`), else captures/ beside the archive."""
    configured = (datasette.plugin_config(PLUGIN) or {}).get("captures_dir") or os.environ.get(
        "NARRATIVE_ARCHIVE_CAPTURES")
    if configured:
        return Path(configured)
    db = datasette.databases.get(archive_name(datasette))
    return Path(db.path).resolve().parent / "captures" if db is not None and db.path else None


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


# --- read-only ---------------------------------------------------------------


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def read_only(scope, receive, send):
            if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
                await send({
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"allow", ", ".join(sorted(SAFE_METHODS)).encode()),
                    ],
                })
                await send({"type": "http.response.body",
                            "body": b"This archive is read-only.\n"})
                return
            await app(scope, receive, send)

        return read_only

    return wrap


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


def _paragraphs(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def diff_runs(old: str | None, new: str | None) -> tuple[list[tuple[str, list, list]], bool]:
    """(tag, old words, new words) runs from old to new, and whether any changed passage was
    too long to compare word by word (it is then one replace run).

    Paragraphs are matched first, then words within each pair of changed paragraphs,
    trimmed of the words the pair shares at either end, while DIFF_MAX_WORK lasts.
    """
    old_pars, new_pars = _paragraphs(old), _paragraphs(new)
    runs: list[tuple[str, list, list]] = []
    budget, cut = DIFF_MAX_WORK, False
    paragraphs = difflib.SequenceMatcher(a=old_pars, b=new_pars)  # autojunk: repeated lines
    for tag, a1, a2, b1, b2 in paragraphs.get_opcodes():
        if tag == "equal":
            words = " ".join(old_pars[a1:a2]).split()
            runs.append(("equal", words, words))
            continue
        # Changed paragraphs pair up in order; the unpaired rest of either side is one more pair.
        pairs = list(zip(old_pars[a1:a2], new_pars[b1:b2], strict=False))
        rest = min(a2 - a1, b2 - b1)
        pairs.append((" ".join(old_pars[a1 + rest:a2]), " ".join(new_pars[b1 + rest:b2])))
        for old_par, new_par in pairs:
            old_words, new_words = old_par.split(), new_par.split()
            head = _common_prefix(old_words, new_words)
            tail = _common_prefix(old_words[head:][::-1], new_words[head:][::-1])
            old_mid = old_words[head:len(old_words) - tail]
            new_mid = new_words[head:len(new_words) - tail]
            runs.append(("equal", old_words[:head], new_words[:head]))
            work = len(old_mid) * len(new_mid) * min(len(old_mid), len(new_mid))
            if work <= budget:
                budget -= work
                words = difflib.SequenceMatcher(a=old_mid, b=new_mid, autojunk=False)
                runs += [(t, old_mid[c1:c2], new_mid[d1:d2])
                         for t, c1, c2, d1, d2 in words.get_opcodes()]
            else:
                cut = True
                runs.append(("replace", old_mid, new_mid))
            runs.append(("equal", old_words[len(old_words) - tail:],
                         new_words[len(new_words) - tail:]))
    merged: list[tuple[str, list, list]] = []
    for tag, a, b in runs:
        if not a and not b:
            continue
        if merged and merged[-1][0] == tag == "equal":
            merged[-1] = ("equal", merged[-1][1] + a, merged[-1][2] + b)
        else:
            merged.append((tag, a, b))
    return merged, cut


def word_diff(old: str | None, new: str | None) -> Markup:
    """What changed from old to new, word by word, as escaped HTML with <del> and <ins>.

    Unchanged stretches longer than twice DIFF_CONTEXT words are shortened to "…"; at
    most DIFF_MAX_SHOWN words are shown, and the changed words left out are counted.
    """
    old_words, new_words = (old or "").split(), (new or "").split()
    if (len(old_words) + len(new_words) > 2 * DIFF_MAX_WORDS
            or len(_paragraphs(old)) + len(_paragraphs(new)) > 2 * DIFF_MAX_PARAGRAPHS):
        return Markup("<p>(too long to compare word by word)</p>")
    runs, cut = diff_runs(old, new)
    parts, shown, hidden = [], 0, 0
    for index, (tag, old_run, new_run) in enumerate(runs):
        if tag == "equal":
            if shown >= DIFF_MAX_SHOWN:
                continue
            head = old_run[:DIFF_CONTEXT] if index > 0 else []
            tail = old_run[-DIFF_CONTEXT:] if index < len(runs) - 1 else []
            if len(old_run) > len(head) + len(tail):
                parts.append(Markup(" … ").join(escape(" ".join(side)) for side in (head, tail))
                             .strip())
                shown += len(head) + len(tail)
            else:
                parts.append(escape(" ".join(old_run)))
                shown += len(old_run)
            continue
        for element, words in (("del", old_run), ("ins", new_run)):
            if not words:
                continue
            room = max(DIFF_MAX_SHOWN - shown, 0)
            hidden += max(len(words) - room, 0)
            if room:
                more = " …" if len(words) > room else ""
                parts.append(Markup("<{0}>{1}{2}</{0}>").format(
                    Markup(element), " ".join(words[:room]), more))
                shown += min(len(words), room)
    html = Markup(" ").join(part for part in parts if part)
    if cut:
        html = Markup("<p class=\"diff-note\">Long changed passages are compared as whole "
                      "passages, not word by word.</p> ") + html
    if hidden:
        html += Markup(" <p class=\"diff-note\">… {:,} more changed words not shown; each "
                       "version's full text is on its row page.</p>").format(hidden)
    return html


def version_diffs(texts: list[str | None]) -> list[Markup | None]:
    """The word diff of each text to the one before it (None for the first and unchanged)."""
    return [word_diff(texts[i - 1], text) if i and text != texts[i - 1] else None
            for i, text in enumerate(texts)]


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


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != archive_name(datasette):
        return None
    if column == "snippet" and isinstance(value, str):
        return snippet_html(value)
    urls = datasette.urls
    if column == "title" and isinstance(value, str):
        article_id = _row_value(row, "id") if table == "articles" else _row_value(row, "article_id")
        if isinstance(article_id, int):
            return Markup('<a href="{}">{}</a>').format(
                urls.row(database, "articles", str(article_id)), value)
    if column == "article_id" and isinstance(value, int) and table not in (
        "mentions", "article_versions"
    ):
        return Markup('<a href="{}">{}</a>').format(
            urls.row(database, "articles", str(value)), value)
    return None


# --- the article page ----------------------------------------------------------


ARCHIVE_NAMES = {"wayback": "the Wayback Machine", "commoncrawl": "Common Crawl"}


async def article_details(datasette, database: str, article_id) -> dict | None:
    """The article, its outlet, its mentions and its versions (each with a diff to the last)."""
    try:
        article_id = int(article_id)
    except (TypeError, ValueError):
        return None
    db = datasette.get_database(database)
    rows = await db.execute_fn(
        lambda conn: store.article_page(sqlite_utils.Database(conn), article_id))
    article = rows["article"]
    if article is None:
        return None
    mentions = rows["mentions"]
    for mention in mentions:
        mention["terms"] = from_json(mention["terms"], [])
        mention["stance_evidence"] = from_json(mention.get("stance_evidence"), {}) or {}
    versions = rows["versions"]
    # CPU work: off the event loop, which would otherwise stall every other request.
    diffs = await asyncio.to_thread(version_diffs, [version["text"] for version in versions])
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
        "versions": versions,
        "edited": sum(1 for v in versions if v["text_changed"] or v["title_changed"]),
        "words": len((article.get("text") or "").split()),
        "captures": rows["captures"],
    }


@hookimpl
def extra_template_vars(template, database, table, view_name, datasette):
    if view_name != "row" or table != "articles" or database != archive_name(datasette):
        return {}

    async def article_page(article_id):
        return await article_details(datasette, database, article_id)

    async def article_analysis(article_id):
        return await story_and_citations(datasette, database, article_id)

    return {"article_page": article_page, "article_analysis": article_analysis}


async def story_and_citations(datasette, database: str, article_id) -> dict:
    """The other copies of the article's story, what it cites and what cites it
    (store.article_analysis, on Datasette's read connection)."""
    try:
        article_id = int(article_id)
    except (TypeError, ValueError):
        return {"copies": [], "cites": [], "cited_by": []}
    db = datasette.get_database(database)
    try:
        return await db.execute_fn(
            lambda conn: store.article_analysis(sqlite_utils.Database(conn), article_id))
    except sqlite3.OperationalError:  # an archive from before the analysis tables
        return {"copies": [], "cites": [], "cited_by": []}


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/static/narrative-archive.css")]
