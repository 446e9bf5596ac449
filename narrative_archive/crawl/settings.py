"""Scrapy settings for narrative-archive: polite by default.

Used by `narrative-archive crawl` and, through scrapy.cfg, by `scrapy crawl`
from the repository root. Override any of them with `-s NAME=VALUE`, e.g.
`-s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0` against your own test server.
"""

import os

from scrapy.settings import default_settings

from narrative_archive.paths import DEFAULT_DB

BOT_NAME = "narrative-archive"
SPIDER_MODULES = ["narrative_archive.spiders"]
NEWSPIDER_MODULE = "narrative_archive.spiders"
# Imports only the spider a crawl runs, not every spider module (start-up).
SPIDER_LOADER_CLASS = "narrative_archive.crawl.spiderloader.SpiderLoader"
# Scrapy's MemoryStatsCollector without the deprecation shim every stats call went through.
STATS_CLASS = "narrative_archive.crawl.stats.StatsCollector"

# --- who we are and how politely we ask --------------------------------------
USER_AGENT = "narrative-archive/0.1 (+https://github.com/narrative-archive/narrative-archive)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0  # seconds between requests to one domain (randomised 0.5-1.5x)
AUTOTHROTTLE_ENABLED = True  # slows down further when an outlet answers slowly
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# robots.txt Crawl-delay is honoured (Scrapy ignores it), up to this many seconds.
EXTENSIONS = {"narrative_archive.crawl.middlewares.RobotsCrawlDelay": 500,
              # a full disk stops the crawl at its first refused write (crawl/faults.py)
              "narrative_archive.crawl.faults.StopWhenDiskFull": 500}
# Scrapy's own, without the two that are off (TELNETCONSOLE_ENABLED, REMOTE_CONTROL_ENABLED
# below), so that they are not even imported: remote_control imports aiohttp, ~0.1 s of
# every crawl's start-up. (Naming them None in EXTENSIONS would import them all the same.)
EXTENSIONS_BASE = {name: order for name, order in default_settings.EXTENSIONS_BASE.items()
                   if name.rsplit(".", 1)[-1] not in ("TelnetConsole", "RemoteControl")}
ROBOTSTXT_CRAWL_DELAY_MAX = 30.0

# --- robustness -----------------------------------------------------------------
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry, doubling each time (jittered)
RETRY_BACKOFF_MAX = 60.0  # and never longer than this, Retry-After included
DOWNLOADER_MIDDLEWARES = {
    # robots.txt checked for every request, also those queued while it downloads.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "narrative_archive.crawl.middlewares.SharedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "narrative_archive.crawl.middlewares.BackoffRetryMiddleware": 550,
    # Sees an API's answer before the retry middleware: its 429s pause or stop its slot.
    "narrative_archive.crawl.pacing.PacedApiMiddleware": 560,
    # After retries (responses run 900 → 100): it sees what retries could not mend.
    "narrative_archive.crawl.middlewares.OutletCapsMiddleware": 540,
    # Before RedirectMiddleware (600) sees the response: responses run 900 → 100.
    "narrative_archive.crawl.middlewares.RedirectLoopMiddleware": 610,
    # First to see each response, raw (before decompression, redirects, retries): WARC capture.
    "narrative_archive.capture.middleware.CaptureMiddleware": 950,
    # Last to see each response (after capture and decompression): a hostile page's
    # scripts and styles dropped before the crawl holds it (NARRATIVE_ARCHIVE_MAX_PAGE_BYTES).
    "narrative_archive.crawl.middlewares.PageTrimMiddleware": 120,
    # The same, without decoding every page to look for a <meta> refresh (issue 21).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "narrative_archive.crawl.middlewares.QuickMetaRefreshMiddleware": 580,
    # Per-response byte and status counters nobody reads (issue 21: the crawl process's CPU)
    "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
}
# Request depth (no DEPTH_LIMIT: only stats) and the check for meta copied between
# requests (a spider-writing aid): per-request work the crawl does not need.
SPIDER_MIDDLEWARES = {"scrapy.spidermiddlewares.depth.DepthMiddleware": None,
                      "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None}
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # an article page; sitemaps get NARRATIVE_ARCHIVE_SITEMAP_MAXSIZE
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
# http(s) only: no file://, ftp://, s3:// or data: requests, whatever a feed links to.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}
# HttpProxyMiddleware stays on (the default): http_proxy / https_proxy / no_proxy are honoured.

# --- the rest of Scrapy ---------------------------------------------------------------
ITEM_PIPELINES = {"narrative_archive.crawl.pipelines.ArchivePipeline": 300}
# Scrapy starts this many asyncio tasks for every response's output; an article page
# yields one item, so the default 100 only costs CPU (about 2 ms a page).
CONCURRENT_ITEMS = 8
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy's code-execution HTTP endpoint: never on a service
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# --- narrative-archive ------------------------------------------------------------------
NARRATIVE_ARCHIVE_DB = os.environ.get("NARRATIVE_ARCHIVE_DB") or DEFAULT_DB
NARRATIVE_ARCHIVE_CONFIG = os.environ.get("NARRATIVE_ARCHIVE_CONFIG") or None
NARRATIVE_ARCHIVE_RUN_ID = None  # the crawl_runs row to report into (else the pipeline starts one)
NARRATIVE_ARCHIVE_REFETCH_AFTER = "1d"  # a URL fetched more recently than this is not requested
NARRATIVE_ARCHIVE_EXTRACT_WORKERS = 0  # extraction processes; 0 = one per CPU core
NARRATIVE_ARCHIVE_EXTRACT_TIMEOUT = 120  # seconds for one page
NARRATIVE_ARCHIVE_PROGRESS_EVERY = 2  # seconds between crawl_runs counter updates
NARRATIVE_ARCHIVE_SITEMAP_SINCE = "2d"  # sitemaps: the --since used when none is given
NARRATIVE_ARCHIVE_SITEMAP_MAXSIZE = 50 * 1024 * 1024  # the sitemap protocol's own limit
NARRATIVE_ARCHIVE_SEARCH_SINCE = "3d"  # search: the --since used when none is given
# revisit: when a mentioned article is checked again, after it was first seen.
NARRATIVE_ARCHIVE_REVISIT_AFTER = ["1d", "7d", "30d", "180d"]
NARRATIVE_ARCHIVE_GDELT_URL = "https://api.gdeltproject.org/api/v2/doc/doc"  # "" to skip GDELT
NARRATIVE_ARCHIVE_GDELT_INTERVAL = 5.0  # seconds from one GDELT answer to the next request
NARRATIVE_ARCHIVE_GDELT_MAXRECORDS = 250
# News-search RSS endpoints: bing, google-news, or URL templates with {query} (and optional
# {since}/{until}, {lang}, {hl}/{gl}/{ceid}); sources/newsrss.py says what each does.
NARRATIVE_ARCHIVE_SEARCH_FEEDS = ["bing"]
# WARC capture of every response into this directory; None: off (as is NARRATIVE_ARCHIVE_CAPTURE=0).
NARRATIVE_ARCHIVE_CAPTURES = os.environ.get("NARRATIVE_ARCHIVE_CAPTURES") or None
NARRATIVE_ARCHIVE_CAPTURE = True
NARRATIVE_ARCHIVE_CAPTURE_MAX_BYTES = 1_000_000_000  # a WARC file rotates past this size

# --- caps: no single outlet or page takes a whole run (0 turns one off) --------------------
NARRATIVE_ARCHIVE_MAX_REQUESTS_PER_OUTLET = 5000  # requests to one outlet in one run
NARRATIVE_ARCHIVE_MAX_ERRORS_PER_OUTLET = 50  # failed URLs before the outlet is left for this run
NARRATIVE_ARCHIVE_RETRY_AFTER_MAX = 60.0  # seconds; a longer Retry-After leaves the URL for later
NARRATIVE_ARCHIVE_MAX_TEXT_CHARS = 500_000  # article text kept (the cut is logged)
NARRATIVE_ARCHIVE_MAX_LINKS = 1000  # outbound links kept per article (the cut is logged)
# An HTML page over this many bytes loses its scripts, styles and comments on arrival, and
# is cut here (0: off); extraction keeps at most 1,000,000 characters of markup anyway.
NARRATIVE_ARCHIVE_MAX_PAGE_BYTES = 2 * 1024 * 1024

# --- backfill from web archives (the backfill spider) -------------------------------------
NARRATIVE_ARCHIVE_WAYBACK_URL = "https://web.archive.org"  # CDX at /cdx/search/cdx, raw captures at /web/
NARRATIVE_ARCHIVE_WAYBACK_PAGE_SIZE = 1000  # CDX rows per request
# Read the archived copies of the outlets' feeds and sitemaps in the range for pages whose
# URL names no narrative term (one CDX query per feed or sitemap, a copy a day fetched).
NARRATIVE_ARCHIVE_BACKFILL_ARCHIVED_LISTINGS = True
NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_URL = "https://index.commoncrawl.org"
NARRATIVE_ARCHIVE_COMMONCRAWL_DATA_URL = "https://data.commoncrawl.org"
NARRATIVE_ARCHIVE_MEDIACLOUD_URL = "https://search.mediacloud.org/api"
NARRATIVE_ARCHIVE_MEDIACLOUD_KEY = os.environ.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY") or ""
# Media Cloud searches only within collections and/or sources (ids); a narrative's own
# `mediacloud:` in narratives.yml wins over these (backfill --mediacloud-collections ...).
NARRATIVE_ARCHIVE_MEDIACLOUD_COLLECTIONS: list[str] = []
NARRATIVE_ARCHIVE_MEDIACLOUD_SOURCES: list[str] = []
# Download slots of archive fetches (requests at once, seconds between them): the Wayback
# Machine's replay allows about 600 a minute (edgi-govdata-archiving/wayback keeps to 480).
NARRATIVE_ARCHIVE_BACKFILL_SLOTS = {
    "wayback": {"concurrency": 2, "delay": 0.5},
    "commoncrawl-data": {"concurrency": 2, "delay": 0.5},
}

# --- paced APIs (narrative_archive.crawl.pacing): one request at a time, no jitter, the
# interval counted from the previous answer; a 429 pauses, a second one stops the API ------
NARRATIVE_ARCHIVE_WAYBACK_CDX_PER_MINUTE = 24.0  # 80% of the CDX server's ~30 a minute
NARRATIVE_ARCHIVE_COMMONCRAWL_INDEX_PER_MINUTE = 60.0
NARRATIVE_ARCHIVE_MEDIACLOUD_PER_MINUTE = 2.0  # raise it only for a key allowed more (staff: 100)
NARRATIVE_ARCHIVE_RATE_LIMIT_PAUSE = 60.0  # seconds an API is left alone after a 429
NARRATIVE_ARCHIVE_CLOCK_SPEED = 1.0  # divides every pace and pause; > 1 only in tests
