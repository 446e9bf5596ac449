"""Datasette plugin for the published narrative archive (loaded with --plugins-dir).

- publishes the archive as the database "archive" whatever its file is called, so
  metadata.yml, the dashboard and every link work for any --db path;
- refuses every request that is not GET, HEAD or OPTIONS: the public instance is
  read-only whatever other plugins are installed;
- renders mention snippets with their <mark> highlights while escaping everything
  else (snippets are scraped text), and links titles and article ids to the article
  page;
- gives the article page (templates/row-archive-articles.html) the article's
  outlet, narratives, snippets and versions, with a word diff between versions.
"""

from __future__ import annotations

import difflib
import json
import re

from datasette import hookimpl
from markupsafe import Markup, escape

PLUGIN = "narrative-archive"
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
DIFF_CONTEXT = 12  # words of unchanged text kept around each change
DIFF_MAX_WORDS = 20000  # longer texts are not diffed word by word


def archive_name(datasette) -> str:
    return (datasette.plugin_config(PLUGIN) or {}).get("database", "archive")


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


def word_diff(old: str | None, new: str | None) -> Markup:
    """What changed from old to new, word by word, as escaped HTML with <del> and <ins>.

    Unchanged stretches longer than twice DIFF_CONTEXT words are shortened to "…".
    """
    old_words, new_words = (old or "").split(), (new or "").split()
    if len(old_words) + len(new_words) > 2 * DIFF_MAX_WORDS:
        return Markup("<p>(too long to compare word by word)</p>")
    parts = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, a1, a2, b1, b2) in enumerate(opcodes):
        if tag == "equal":
            words = old_words[a1:a2]
            head = words[:DIFF_CONTEXT] if index > 0 else []
            tail = words[-DIFF_CONTEXT:] if index < len(opcodes) - 1 else []
            if len(words) > len(head) + len(tail):
                parts.append(Markup(" … ").join(escape(" ".join(side)) for side in (head, tail))
                             .strip())
            else:
                parts.append(escape(" ".join(words)))
            continue
        if tag in ("delete", "replace"):
            parts.append(Markup("<del>{}</del>").format(" ".join(old_words[a1:a2])))
        if tag in ("insert", "replace"):
            parts.append(Markup("<ins>{}</ins>").format(" ".join(new_words[b1:b2])))
    return Markup(" ").join(part for part in parts if part)


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


ARTICLE_SQL = """
select a.*, o.name as outlet_name, o.url as outlet_url, o.country as outlet_country,
       o.kind as outlet_kind, o.state_affiliated as outlet_state_affiliated
from articles a left join outlets o on o.id = a.outlet_id
where a.id = :id
"""
MENTIONS_SQL = """
select m.narrative_id, n.title as narrative_title, m.narrative_version,
       n.version as current_version, m.matched_at, m.snippet, m.terms
from mentions m join narratives n on n.id = m.narrative_id
where m.article_id = :id
order by n.title
"""
VERSIONS_SQL = """
select id, fetched_at, title, text, content_hash
from article_versions where article_id = :id
order by fetched_at, id
"""


async def article_details(datasette, database: str, article_id) -> dict | None:
    """The article, its outlet, its mentions and its versions (each with a diff to the last)."""
    try:
        article_id = int(article_id)
    except (TypeError, ValueError):
        return None
    db = datasette.get_database(database)
    article = (await db.execute(ARTICLE_SQL, {"id": article_id})).first()
    if article is None:
        return None
    mentions = [dict(row) for row in await db.execute(MENTIONS_SQL, {"id": article_id})]
    for mention in mentions:
        mention["terms"] = from_json(mention["terms"], [])
    versions = [dict(row) for row in await db.execute(VERSIONS_SQL, {"id": article_id})]
    previous = None
    for number, version in enumerate(versions, 1):
        version["number"] = number
        version["words"] = len((version["text"] or "").split())
        version["title_changed"] = previous is not None and version["title"] != previous["title"]
        version["text_changed"] = previous is not None and version["text"] != previous["text"]
        version["diff"] = (word_diff(previous["text"], version["text"])
                           if version["text_changed"] else None)
        previous = version
    article = dict(article)
    return {
        "article": article,
        "authors": from_json(article.get("authors"), []) or [],
        "mentions": mentions,
        "versions": versions,
        "edited": sum(1 for v in versions if v["text_changed"] or v["title_changed"]),
        "words": len((article.get("text") or "").split()),
    }


@hookimpl
def extra_template_vars(template, database, table, view_name, datasette):
    if view_name != "row" or table != "articles" or database != archive_name(datasette):
        return {}

    async def article_page(article_id):
        return await article_details(datasette, database, article_id)

    return {"article_page": article_page}


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/static/narrative-archive.css")]
