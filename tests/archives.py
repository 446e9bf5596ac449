"""Fixture web archives over HTTP, reached as a proxy: a Wayback CDX server with raw replay,
a Common Crawl index (pywb) with WARC records served by byte range, Media Cloud's search
API, and a few live outlet pages; plus `backfill(...)`, the command run against them.

The paced services refuse as the real ones do (tests/services.py), on CLOCK.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from narrative_archive.sources import wayback
from tests.fixture_server import FAST, REPO, crawl_env
from tests.services import BLOCKED, Clock, Gdelt, MediaCloud, WaybackCdx, pywb_select

WAYBACK = "http://wayback.test"
CC_INDEX = "http://cc-index.test"
CC_DATA = "http://cc-data.test"
MEDIACLOUD = "http://mediacloud.test/api"
NO_DELAYS = json.dumps({name: {"concurrency": 4, "delay": 0} for name in (
    "wayback", "commoncrawl-data")})
# The paced APIs (CDX, Common Crawl's index, Media Cloud) keep their real pace on a clock
# 60 times faster (a minute lasts a second), and the fixture services run the same clock.
CLOCK = Clock(speed=60)
RU_SLUG = quote("талибы-получают-оружие")


def article(title: str, text: str, published: str | None = None, lang: str = "en") -> bytes:
    date = f'<meta property="article:published_time" content="{published}">' if published else ""
    paragraphs = "".join(f"<p>{text} {i}.</p>" for i in range(6))
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            f"{date}</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
            ).encode()


ARMING = ("A senior US general said on Thursday that Russia is supplying weapons to the Taliban"
          " in Afghanistan, an accusation Moscow denied, officials in Kabul said")
DENIAL = ("Taliban spokesmen denied that Russia had given weapons to the Taliban, saying the"
          " group buys what it needs, according to a statement sent to reporters")
OTHER = "The Taliban held talks with tribal elders about a local ceasefire in the province"
RU_TEXT = ("Россия не поставляет оружие талибам, заявил официальный представитель МИД"
           " России в ответ на обвинения американских военных")


# --- the fixture archives ------------------------------------------------------------------


def cdx_rows():
    """(timestamp, original, mimetype, status) the fixture Wayback holds, in urlkey order."""
    return [
        ("20170315120000", "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
         "text/html", "200"),
        ("20170316120000", "http://dawn.test/news/1320001/russia-arming-taliban-says-us-general",
         "text/html", "200"),  # a duplicate: collapse=urlkey keeps the first
        ("20170401000000", "http://dawn.test/news/1320002/taliban-moved", "text/html", "301"),
        ("20171102000000", "http://dawn.test/news/1330002/taliban-deny-russian-support",
         "text/html", "200"),
        ("20180101000000", "http://dawn.test/news/1340003/taliban-photo", "text/html", "200"),
        ("20180202000000", "http://dawn.test/news/1350004/taliban-removed", "text/html", "200"),
        ("20180303000000", "http://dawn.test/news/1360005/taliban-soft", "text/html", "200"),
        ("20180404000000", "http://dawn.test/news/1370006/taliban-loop", "text/html", "200"),
        ("20180505000000", "http://dawn.test/news/1380007/taliban-talks", "text/html", "200"),
        ("20180606000000", "http://dawn.test/news/1390008/taliban-gone", "text/html", "404"),
        ("20180707000000", "http://dawn.test/news/1400009/cricket-scores", "text/html", "200"),
        ("20190505000000", "http://dawn.test/news/1410010/taliban-later", "text/html", "200"),
        ("20170505000000", f"http://tass.test/world/{RU_SLUG}-4123456", "text/html", "200"),
        ("20170506000000", "http://tass.test/politika/4123457", "text/html", "200"),
    ]


def replays():
    """Raw (id_) replays: path → (status, content type, body, extra headers)."""
    html = "text/html; charset=utf-8"
    base = "/web/{}id_/{}"
    return {
        base.format("20170315120000", cdx_rows()[0][1]): (
            200, html, article("US general says Russia is arming the Taliban", ARMING,
                               "2017-03-15T09:00:00Z"), {}),
        base.format("20171102000000", cdx_rows()[3][1]): (
            302, html, b"", {"Location": "/web/20171103000000id_/" + cdx_rows()[3][1]}),
        base.format("20171103000000", cdx_rows()[3][1]): (
            200, html, article("Taliban deny Russian support", DENIAL), {}),
        base.format("20180101000000", cdx_rows()[4][1]): (200, "image/jpeg", b"\xff\xd8\xff", {}),
        base.format("20180202000000", cdx_rows()[5][1]): (404, html, b"<h1>not archived</h1>", {}),
        base.format("20180303000000", cdx_rows()[6][1]): (
            200, html, b"<html><head><title>Page not found | Dawn</title></head><body>"
                       b"<p>Sorry.</p></body></html>", {}),
        base.format("20180404000000", cdx_rows()[7][1]): (
            302, html, b"", {"Location": "/web/20180405000000id_/" + cdx_rows()[7][1]}),
        base.format("20180405000000", cdx_rows()[7][1]): (
            302, html, b"", {"Location": "/web/20180406000000id_/" + cdx_rows()[7][1]}),
        base.format("20180505000000", cdx_rows()[8][1]): (
            200, html, article("Taliban talks with elders", OTHER, "2018-05-05T08:00:00Z"), {}),
        base.format("20190505000000", cdx_rows()[11][1]): (
            200, html, article("Later", ARMING), {}),
        base.format("20170505000000", cdx_rows()[12][1]): (
            200, html, article("Талибы и оружие", RU_TEXT, "2017-05-05T10:00:00Z", "ru"), {}),
        base.format("20170506000000", cdx_rows()[13][1]): (
            200, html, article("Талибы и Россия", RU_TEXT, None, "ru"), {}),
        # Media Cloud's story that is gone live: the nearest capture, through a redirect
        "/web/20170601000000id_/http://tolonews.test/afghanistan/taliban-russian-arms": (
            302, html, b"", {"Location": "/web/20170602101010id_/http://tolonews.test/"
                                         "afghanistan/taliban-russian-arms"}),
        "/web/20170602101010id_/http://tolonews.test/afghanistan/taliban-russian-arms": (
            200, html, article("Russian arms for the Taliban, officials say", ARMING), {}),
    }


def warc_file() -> tuple[bytes, dict[str, tuple[int, int]]]:
    """A WARC file of Common Crawl responses (gzip per record) and each URL's (offset, length)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    where = {}
    pages = [
        ("http://aljazeera.test/news/2017/7/20/" + quote("طالبان-روسيا-أسلحة"), "text/html",
         article("روسيا وطالبان", "قال مسؤولون إن روسيا تزود طالبان بالأسلحة في أفغانستان",
                 "2017-07-20T12:00:00Z", "ar")),
        ("http://aljazeera.test/news/2017/7/21/taliban-report.pdf", "application/pdf",
         b"%PDF-1.4\n%%EOF\n"),
    ]
    for url, content_type, body in pages:
        start = buffer.tell()
        headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                           http_headers=headers,
                                           warc_headers_dict={"WARC-Date": "2017-07-22T03:04:05Z"})
        writer.write_record(record)
        where[url] = (start, buffer.tell() - start)
    return buffer.getvalue(), where


def media_cloud_pages() -> dict:
    """Media Cloud's story-list pages for the test's narrative, by pagination token."""
    first = [{"url": "http://khaama.test/russia-taliban-weapons-claim", "title": "Claim",
              "publish_date": "2017-04-04 10:00:00", "media_url": "khaama.test"},
             {"url": "http://khaama.test/old-story", "title": "Old",
              "publish_date": "2015-01-01", "media_url": "khaama.test"}]
    second = [{"url": "http://tolonews.test/afghanistan/taliban-russian-arms",
               "title": "Russian arms", "publish_date": "2017-06-01",
               "media_url": "tolonews.test"}]
    return {None: (first, "page-2"), "page-2": (second, None)}


def same_url(a: str, b: str) -> bool:
    """The CDX server's exact match compares URL keys: no scheme, no www., case-blind host."""
    def key(url: str) -> str:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = (parts.hostname or "").removeprefix("www.")
        return f"{host}{parts.path}{'?' + parts.query if parts.query else ''}"
    return key(a) == key(b)


class Archives:
    """The fixture archives and outlets over HTTP, reached as a proxy (http_proxy)."""

    def __init__(self, clock: Clock = CLOCK):
        self.hits: Counter[str] = Counter()  # "host path" of every request
        self.cdx_queries: list[dict] = []
        self.failures: dict[str, list[int | str]] = {}  # resume key → failures to serve first
        self.busy: dict[str, int] = {}  # replay path → 429s (Retry-After: an hour) served first
        self.clock = clock
        self.cdx_limit = WaybackCdx(clock)
        self.extra_rows: list[tuple[str, str, str, str]] = []  # more CDX rows, after cdx_rows()
        self.replays = replays()  # raw captures by /web/{timestamp}id_/{url} path
        self.live: dict[str, tuple] = {}  # "host path" → a live page's answer
        self.media_cloud = MediaCloud(clock, pages=media_cloud_pages())
        self.gdelt = Gdelt(clock)
        self.gdelt_articles: list[dict] = []  # what GDELT's ArtList answers
        self.warc, self.warc_where = warc_file()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fetches(self, prefix: str = "/web/") -> Counter[str]:
        return Counter({k: v for k, v in self.hits.items() if k.split(" ", 1)[1].startswith(prefix)})

    # -- answers --

    def answer(self, host: str, path: str, params: list[tuple[str, str]], headers,
               at: float) -> tuple:
        if host == "wayback.test" and path == "/cdx/search/cdx":
            return self.cdx_limit.answer(at) or self.cdx(params)
        if host == "wayback.test" and self.busy.get(path):
            with self.lock:
                self.busy[path] -= 1
            return 429, "text/plain", b"Too Many Requests", {"Retry-After": "3600"}
        if host == "wayback.test":
            return self.replays.get(path) or self.nearest(path)
        if host == "cc-index.test":
            return self.cc_index(path, params)
        if host == "cc-data.test" and path == "/crawl-data/CC-MAIN-2017-30/part-00001.warc.gz":
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", headers.get("Range", ""))
            if not match:
                return 200, "application/octet-stream", self.warc, {}
            start, end = int(match[1]), int(match[2])
            return 206, "application/octet-stream", self.warc[start:end + 1], {
                "Content-Range": f"bytes {start}-{end}/{len(self.warc)}"}
        if host == "mediacloud.test" and path == "/api/search/story-list":
            return self.media_cloud.answer(params, headers, at)
        if host == "api.gdelt.test" and path == "/api/v2/doc/doc":
            return self.gdelt.answer(params, at) or (
                200, "application/json", json.dumps({"articles": self.gdelt_articles}).encode(), {})
        if f"{host} {path}" in self.live:
            return self.live[f"{host} {path}"]
        if host == "khaama.test" and path == "/russia-taliban-weapons-claim":
            return 200, "text/html; charset=utf-8", article(
                "Claim: Russia arms the Taliban", ARMING, "2017-04-04T10:00:00Z"), {}
        return 404, "text/html", b"<h1>404 Not Found</h1>", {}

    def nearest(self, path: str) -> tuple:
        """As the Wayback Machine answers a replay of a time it has no capture of: a redirect
        to its capture of the URL nearest that time, or 404 when it has none."""
        missing = (404, "text/html", b"<h1>Not in the archive</h1>", {})
        match = re.fullmatch(r"/web/(\d{14})id_/(.+)", path, re.S)
        if not match:
            return missing
        stamps = [r[0] for r in cdx_rows() + self.extra_rows if r[1] == match[2] and r[3] == "200"]
        if not stamps:
            return missing
        best = min(stamps, key=lambda s: abs(int(s) - int(match[1])))
        return 302, "text/html", b"", {"Location": f"/web/{best}id_/{match[2]}"}

    def cdx(self, params):
        query = dict(params)
        with self.lock:
            self.cdx_queries.append(query)
        domain = query["url"]
        if query.get("showNumPages"):
            return 200, "text/plain", b"2\n", {}
        if query.get("matchType", "exact") == "exact":  # the CDX server's default
            rows = [r for r in cdx_rows() + self.extra_rows if same_url(r[1], domain)]
        else:
            rows = [r for r in cdx_rows() + self.extra_rows
                    if urlsplit(r[1]).hostname.endswith(domain)]
        rows = [r for r in rows if query.get("from", "0") <= r[0][:len(query.get("from", "0"))]
                and r[0][:len(query.get("to", "9"))] <= query.get("to", "9")]
        for name, value in params:  # filter=[!]field:regex
            if name != "filter":
                continue
            negate, (field, _, regex) = value.startswith("!"), value.lstrip("!").partition(":")
            column = {"statuscode": 3, "mimetype": 2, "original": 1}[field]
            rows = [r for r in rows if bool(re.fullmatch(regex, r[column])) != negate]
        if query.get("collapse") == "urlkey":
            rows = [r for i, r in enumerate(rows) if i == 0 or rows[i - 1][1] != r[1]]
        if query.get("collapse") == "timestamp:8":  # adjacent captures of one day are one
            rows = [r for i, r in enumerate(rows) if i == 0 or rows[i - 1][0][:8] != r[0][:8]]
        start = int(query.get("resumeKey") or 0)
        failures = self.failures.get(str(start))
        if failures:
            failure = failures.pop(0)
            if failure == 429:  # as the CDX server says it: no Retry-After
                return 429, "text/html", b"<h1>429 Too Many Requests</h1>", {}
            return 200, "application/json", b'[["urlkey","timestamp"],["com,dawn)/n', {}
        limit = int(query.get("limit") or 1000)
        page = rows[start:start + limit]
        body = [list(wayback.FIELDS)]
        body += [[r[1], r[0], r[1], r[2], r[3], "DIGEST", "1000"] for r in page]
        if start + limit < len(rows):
            body += [[], [str(start + limit)]]
        return 200, "application/json", json.dumps(body).encode(), {}

    def cc_index(self, path, params):
        query = dict(params)
        if path == "/collinfo.json":
            crawls = [
                {"id": "CC-MAIN-2016-50", "from": "2016-12-02T00:00:00", "to": "2016-12-12T00:00:00"},
                {"id": "CC-MAIN-2017-30", "from": "2017-07-20T00:00:00", "to": "2017-07-28T00:00:00"},
                {"id": "CC-MAIN-2019-10", "from": "2019-03-18T00:00:00", "to": "2019-03-27T00:00:00"},
            ]
            return 200, "application/json", json.dumps(crawls).encode(), {}
        if path != "/CC-MAIN-2017-30-index" or query.get("url") != "*.aljazeera.test":
            return 404, "text/plain", b"No Captures found for: " + query.get("url", "").encode(), {}
        if query.get("showNumPages"):
            return 200, "application/json", b'{"pages": 1, "pageSize": 5, "blocks": 1}', {}
        records = []
        for url, (offset, length) in self.warc_where.items():
            mime = "text/html"  # the index can be wrong: the PDF says text/html here
            records.append({"urlkey": url, "timestamp": "20170722030405", "url": url,
                            "mime": mime, "status": "200",
                            "filename": "crawl-data/CC-MAIN-2017-30/part-00001.warc.gz",
                            "offset": str(offset), "length": str(length)})
        lines = [json.dumps(record) for record in pywb_select(records, params)]
        return 200, "text/x-ndjson", "\n".join(lines).encode(), {}

    def handler(self):
        archives = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                host = parts.hostname or (self.headers.get("Host") or "").split(":")[0]
                path = unquote(parts.path) if host != "wayback.test" else parts.path
                at = time.monotonic()
                with archives.lock:
                    archives.hits[f"{host} {path}"] += 1
                reply = archives.answer(host, path, parse_qsl(parts.query), self.headers, at)
                if reply == BLOCKED:  # the firewall: no answer at all
                    self.close_connection = True
                    return
                status, content_type, body, extra = reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


def backfill(archives: Archives, db: Path, config: Path, *args: str,
             environ: dict[str, str] | None = None, **settings: str):
    command = [sys.executable, "-m", "narrative_archive", "backfill", "--db", str(db),
               "--config", str(config), *args]
    for name, value in {**FAST, "NARRATIVE_ARCHIVE_BACKFILL_SLOTS": NO_DELAYS,
                        "NARRATIVE_ARCHIVE_WAYBACK_URL": WAYBACK,
                        "NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL": CC_INDEX,
                        "NARRATIVE_ARCHIVE_COMMONCRAWL_DATA_URL": CC_DATA,
                        "NARRATIVE_ARCHIVE_MEDIACLOUD_URL": MEDIACLOUD,
                        "NARRATIVE_ARCHIVE_GDELT_URL": "http://api.gdelt.test/api/v2/doc/doc",
                        "NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE": "3",
                        "NARRATIVE_ARCHIVE_CLOCK_SPEED": str(archives.clock.speed), **settings}.items():
        command += ["-s", f"{name}={value}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**crawl_env(archives), **(environ or {})}, cwd=REPO)


RANGE = ("--since", "2017-01-01", "--until", "2018-12-31")



def rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed of (link, title, RFC 822 date) items."""
    body = "".join(f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
                   "</item>" for link, title, date in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed'
            f"</title><link>http://x.test/</link>{body}</channel></rss>").encode()


def news_sitemap(entries: list[tuple[str, str, str]]) -> bytes:
    """A Google News sitemap of (loc, title, publication date) entries."""
    body = "".join(
        f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Dawn</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>{date}"
        f"</news:publication_date><news:title>{title}</news:title></news:news></url>"
        for loc, title, date in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
            'schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"{body}</urlset>").encode()


TASS_FEED = "http://tass.test/rss/v2.xml"
DAWN_INDEX = "http://dawn.test/sitemap-index.xml"
DAWN_NEWS = "http://dawn.test/sitemaps/news.xml"
ID_ONLY_ARCHIVED = "http://tass.test/politika/4123457"  # in the archive (cdx_rows)
ID_ONLY_LIVE = "http://dawn.test/news/1360099"  # not archived; live still


def add_archived_listings(archives: Archives) -> None:
    """Archived copies of tass's feed and dawn's sitemap index, whose entries name pages
    with id-only URLs: one the Wayback Machine holds, one only the live site has."""
    feed = rss([(ID_ONLY_ARCHIVED, "Талибы получают оружие из России",
                 "Sat, 06 May 2017 07:00:00 +0000"),
                ("http://tass.test/sport/4123999", "Футбол", "Sat, 06 May 2017 08:00:00 +0000")])
    index = (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
             f'sitemap/0.9"><sitemap><loc>{DAWN_NEWS}</loc><lastmod>2017-12-01T00:00:00Z'
             f"</lastmod></sitemap></sitemapindex>").encode()
    news = news_sitemap([(ID_ONLY_LIVE, "Moscow denies arming the Taliban", "2017-11-30T09:00:00Z"),
                         ("http://dawn.test/news/1360100", "Pakistan win the final",
                          "2017-11-30T10:00:00Z")])
    archives.extra_rows += [
        ("20170506080000", TASS_FEED, "application/rss+xml", "200"),
        ("20170507080000", TASS_FEED, "application/rss+xml", "200"),
        ("20171201000000", DAWN_INDEX, "text/xml", "200"),
    ]
    xml = "text/xml; charset=utf-8"
    for stamp in ("20170506080000", "20170507080000"):
        archives.replays[f"/web/{stamp}id_/{TASS_FEED}"] = (200, xml, feed, {})
    archives.replays[f"/web/20171201000000id_/{DAWN_INDEX}"] = (200, xml, index, {})
    archives.replays[f"/web/20171201000000id_/{DAWN_NEWS}"] = (200, xml, news, {})
    archives.live["dawn.test /news/1360099"] = (200, "text/html; charset=utf-8", article(
        "Moscow denies arming the Taliban", DENIAL, "2017-11-30T09:00:00Z"), {})
