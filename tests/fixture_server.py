"""Fixture outlets over real HTTP on 127.0.0.1, and how the crawl tests run against them.

`FixtureServer` serves the sites under tests/sites/<host>/ (robots.txt, feeds,
sitemaps, article pages) plus routes added in Python (hostile cases: a 500 then
a 200, a redirect loop, a binary file served as text/html, a page over the size
limit). It is also an HTTP proxy: a crawl run with http_proxy pointing at it
reaches any host name (tass.test, dawn.test, ...) through it, so fixture
outlets keep realistic, distinct domains, and Scrapy's proxy support is
exercised on the way. Without the proxy, plain requests to 127.0.0.1:<port>
are served by the Host header.

`run_crawl(...)` runs `python -m narrative_archive crawl ...` in a subprocess
(a Twisted reactor cannot be restarted inside the test process) with the
politeness settings turned down so the tests are fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

SITES = Path(__file__).parent / "sites"
REPO = Path(__file__).parent.parent
CRAWL_FILES = Path(__file__).parent / "files" / "crawl"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".xml": "text/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8", ".rss": "application/rss+xml; charset=utf-8",
    ".json": "application/json", ".txt": "text/plain; charset=utf-8", ".gz": "application/x-gzip",
    ".pdf": "application/pdf", ".png": "image/png",
}
# Tried in order when a URL path has no file of its own: /feed/ → feed/index.xml, /news/1 → news/1.html
SUFFIXES = ("", ".html", ".xml", ".atom", ".json", "index.html", "/index.html", "index.xml",
            "/index.xml")

# Fast crawls: the politeness defaults off, small limits so hostile cases are cheap.
FAST = {
    "AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0", "RETRY_BACKOFF_BASE": "0.05",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "DOWNLOAD_TIMEOUT": "10",
    "DOWNLOAD_MAXSIZE": str(256 * 1024), "NARRATIVE_ARCHIVE_EXTRACT_WORKERS": "2",
    "NARRATIVE_ARCHIVE_PROGRESS_EVERY": "1",
}

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


class FixtureServer:
    """A threaded HTTP server (and proxy) for fixture outlets; use as a context manager."""

    def __init__(self, sites: Path | None = SITES):
        self.sites = sites
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        # host+path → answer(params, headers, time.monotonic(), url): a (status, content
        # type, body, headers) tuple, or None to serve the route or file as usual
        self.services: dict[tuple[str, str], Callable] = {}
        self.delays: dict[str, float] = {}  # host → seconds to wait before every answer
        self.hits: Counter[tuple[str, str]] = Counter()
        self.queries: list[tuple[str, str, str]] = []  # (host, path, query) of every request
        self.times: list[tuple[str, str, float]] = []  # (host, path, time.monotonic())
        self.user_agents: set[str] = set()
        self.request_headers: dict[tuple[str, str], list[dict[str, str]]] = {}  # every request's
        self.proxied = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --

    def start(self) -> FixtureServer:
        server = _QuietServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="fixture-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- routes --

    def add(self, host: str, path: str, *replies: Reply) -> None:
        """Answer host+path with these replies in turn (the last one from then on)."""
        self.routes[(host, path)] = list(replies)

    def page(self, host: str, path: str) -> bytes:
        """The bytes of a fixture file, as a route body."""
        return (self.sites / host / path.lstrip("/")).read_bytes()

    def reply(self, host: str, path: str) -> Reply:
        with self._lock:
            self.hits[(host, path)] += 1
            replies = self.routes.get((host, path))
            if replies:
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return self._file(host, path)

    def _file(self, host: str, path: str) -> Reply:
        if self.sites is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        root = (self.sites / host).resolve()
        relative = path.lstrip("/")
        for suffix in SUFFIXES:
            candidate = (root / (relative + suffix)).resolve() if relative or suffix else root
            if candidate.is_file() and candidate.is_relative_to(root):
                body = candidate.read_bytes()
                content_type = CONTENT_TYPES.get(candidate.suffix, "application/octet-stream")
                if candidate.suffix == ".html":
                    try:
                        body.decode("utf-8")
                    except UnicodeDecodeError:  # a legacy page: the header names no charset
                        content_type = "text/html"
                return Reply(200, body, {"Content-Type": content_type})
        return Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>",
                     {"Content-Type": "text/html; charset=utf-8"})

    def fetched(self, host: str, path: str) -> int:
        return self.hits[(host, path)]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a crawler hanging up (a size limit, a kill) is part of the tests


def _handler(fixture: FixtureServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            target = self.path
            if target.startswith(("http://", "https://")):  # absolute form: we are a proxy
                parts = urlsplit(target)
                host, path, query = (parts.hostname or ""), parts.path or "/", parts.query
                with fixture._lock:
                    fixture.proxied += 1
            else:
                parts = urlsplit(target)
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                path, query = parts.path or "/", parts.query
            with fixture._lock:
                fixture.queries.append((host, path, query))
                fixture.times.append((host, path, time.monotonic()))
                fixture.user_agents.add(self.headers.get("User-Agent", ""))
                fixture.request_headers.setdefault((host, path), []).append(dict(self.headers))
            service = fixture.services.get((host, path))
            url = target if target.startswith("http") else f"http://{host}{target}"
            answer = (service(parse_qsl(query), self.headers, time.monotonic(), url)
                      if service else None)
            if answer is not None:
                status, content_type, body, extra = answer
                reply = Reply(status, body, {"Content-Type": content_type, **extra})
            else:
                reply = fixture.reply(host, path)
            delay = reply.delay or fixture.delays.get(host, 0.0)
            if delay:
                time.sleep(delay)
            self.send_response(reply.status)
            headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler gave up on it (a size limit): fine

        def log_message(self, *args):  # quiet
            pass

    return Handler


# --- the fixture world -----------------------------------------------------------


def add_hostile_routes(server: FixtureServer) -> None:
    """antiwar.test's hostile cases, linked from its (malformed) feed."""
    host = "antiwar.test"
    html = {"Content-Type": "text/html; charset=UTF-8"}
    server.add(host, "/2024/05/22/flaky/",
               Reply(500, b"<h1>Internal Server Error</h1>", html),
               Reply(200, server.page(host, "2024/05/22/flaky/index.html"), html))
    server.add(host, "/2024/05/22/loop-a/", Reply(302, b"", {"Location": "/2024/05/22/loop-b/"}))
    server.add(host, "/2024/05/22/loop-b/", Reply(302, b"", {"Location": "/2024/05/22/loop-a/"}))
    server.add(host, "/2024/05/22/photo/", Reply(200, PNG * 40, html))
    huge = b"<html><body>" + b"<p>" + b"padding " * 40_000 + b"</p></body></html>"
    server.add(host, "/2024/05/22/huge/", Reply(200, huge, html))
    server.add(host, "/2024/05/22/report.pdf", Reply(200, PDF, {"Content-Type": "application/pdf"}))


OUTLETS = [
    {"id": "tass", "name": "TASS (fixture)", "url": "http://tass.test/", "domains": ["tass.test"],
     "country": "RU", "language": "ru", "kind": "state", "owner": "Russian government",
     "state_affiliated": True, "feeds": ["http://tass.test/rss/v2.xml"]},
    {"id": "dawn", "name": "Dawn (fixture)", "url": "http://dawn.test/", "domains": ["dawn.test"],
     "country": "PK", "language": "en", "kind": "commercial", "owner": "Dawn Media Group",
     "feeds": ["http://dawn.test/feeds/home"], "sitemaps": ["http://dawn.test/sitemap-index.xml"]},
    {"id": "aljazeera", "name": "Al Jazeera (fixture)", "url": "http://aljazeera.test/",
     "domains": ["aljazeera.test"], "country": "QA", "language": "ar", "kind": "state",
     "state_affiliated": True, "feeds": ["http://aljazeera.test/xml/rss/all.xml"]},
    {"id": "antiwar", "name": "Antiwar (fixture)", "url": "http://antiwar.test/",
     "domains": ["antiwar.test"], "country": "US", "language": "en", "kind": "blog",
     "feeds": ["http://antiwar.test/feed/"]},
    {"id": "khaama", "name": "Khaama Press (fixture)", "url": "http://khaama.test/",
     "domains": ["khaama.test"], "country": "AF", "language": "en", "kind": "independent"},
    {"id": "tolonews", "name": "TOLOnews (fixture)", "url": "http://tolonews.test/",
     "domains": ["tolonews.test"], "country": "AF", "language": "en", "kind": "commercial"},
]


def write_config(directory: Path, outlets: Iterable[dict] = OUTLETS) -> Path:
    """A config dir: these outlets, the test narratives, an empty schedule."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "outlets.yml").write_text(
        yaml.safe_dump(list(outlets), allow_unicode=True, sort_keys=False), encoding="utf-8")
    (directory / "narratives.yml").write_text(
        (CRAWL_FILES / "narratives.yml").read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "schedule.yml").write_text("jobs: []\n", encoding="utf-8")
    return directory


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def crawl_command(spiders: Iterable[str], db: Path, config: Path, *args: str,
                  settings: dict[str, str] | None = None) -> list[str]:
    command = [sys.executable, "-m", "narrative_archive", "crawl", *spiders,
               "--db", str(db), "--config", str(config), *args]
    for name, value in {**FAST, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    return command


def crawl_env(server: FixtureServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
           and not k.startswith("NARRATIVE_ARCHIVE_")}
    if server is not None:
        env["http_proxy"] = server.url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_crawl(server: FixtureServer | None, spiders: Iterable[str], db: Path, config: Path,
              *args: str, settings: dict[str, str] | None = None, timeout: float = 60,
              cwd: Path | None = None) -> CrawlResult:
    """`narrative-archive crawl` in a subprocess, through the fixture server's proxy."""
    started = time.monotonic()
    process = subprocess.run(
        crawl_command(spiders, db, config, *args, settings=settings), capture_output=True,
        text=True, timeout=timeout, env=crawl_env(server), cwd=cwd or REPO,
    )
    return CrawlResult(process.returncode, process.stdout, process.stderr,
                       time.monotonic() - started)


def query(db_path: Path, sql: str, params: Iterable = ()) -> list[dict]:
    """Rows of a read-only query on an archive, as dicts."""
    import sqlite3

    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, list(params))]
    finally:
        connection.close()


def copy_archive(source: Path, target: Path) -> Path:
    """A copy of an archive (through SQLite's backup API, so WAL content comes along)."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target
