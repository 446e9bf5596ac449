"""How the published pages show values: long URLs short (host and path)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

SHORT_URL_CHARS = 60


def short_url(url: object, limit: int = SHORT_URL_CHARS) -> str:
    """A URL as a reader scans it: host (without www.) and path, the query and fragment
    dropped, the middle of a long path cut to "…". Not a URL: returned as text."""
    text = str(url or "")
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return text
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return text
    host = parts.hostname.removeprefix("www.")
    path = unquote(parts.path or "").rstrip("/")
    shown = host + path
    if len(shown) > limit:
        keep = max(limit - len(host) - 2, 12)
        head, tail = keep // 2, keep - keep // 2
        shown = host + path[:head] + "…" + path[-tail:] if len(path) > keep else shown[:limit]
    return shown


def http_href(value: object) -> str | None:
    """The value if it is an http(s) URL (safe in an href), else None: never javascript:."""
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None
