"""Datasette plugin: what an anonymous visitor may do on the published archive.

- refuses every request that is not GET, HEAD or OPTIONS: the public instance is
  read-only whatever other plugins are installed;
- bounds the SQL anyone may run, on every connection but Datasette's own _internal:
  value and SQL text lengths, printf()/format() field widths, no fts3_tokenizer(), and
  no file path from pragma_database_list (narrative_archive.publish.sqlguard);
- serves /-/databases(.json) without the server's file paths.
"""

from __future__ import annotations

import json

from datasette import hookimpl
from datasette.utils.asgi import Response

from narrative_archive.publish.instance import INTERNAL, public_databases
from narrative_archive.publish.sqlguard import guard_connection

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@hookimpl
def prepare_connection(conn, database, datasette):
    if database == INTERNAL:  # Datasette's own catalog, not reachable by anonymous SQL
        return
    guard_connection(conn)


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
    return [(r"^/-/databases(\.(?P<format>json))?$", databases_view)]
