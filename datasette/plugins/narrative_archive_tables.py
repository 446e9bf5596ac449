"""Datasette plugin: tables a reader can read (loaded with --plugins-dir).

- a long URL in any table or query of the archive shows short, as host and path
  (publish.display.short_url), linked to the whole URL, which is also its tooltip;
- the rest is CSS (static/narrative-archive.css): sticky column headers, horizontal scroll
  instead of one-character columns, widths by column name; and metadata.yml: canned
  queries' SQL hidden by default (hide_sql), their columns in reading order.
"""

from __future__ import annotations

from datasette import hookimpl
from markupsafe import Markup, escape

from narrative_archive.publish.display import http_href, short_url
from narrative_archive.publish.instance import archive_name

URL_COLUMNS = {"url", "canonical_url", "claimed_canonical_url", "target_url", "archive_url",
               "moved_to", "new_url", "atom_link", "source_url"}


def short_link(value) -> Markup | None:
    """An http(s) URL as a short link (host and path) with the whole URL on hover."""
    href = http_href(value)
    if href is None:
        return None
    quoted = escape(href)  # escaped as Markup(...).format escapes, without its formatter
    return Markup(f'<a class="short-url" href="{quoted}" title="{quoted}" '
                  f'rel="nofollow noopener noreferrer">{escape(short_url(href))}</a>')


@hookimpl
def render_cell(value, column, table, database, datasette):
    if column not in URL_COLUMNS or database != archive_name(datasette):
        return None
    return short_link(value)
