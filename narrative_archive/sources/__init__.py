"""Web archives as sources of old articles: plain clients, no Scrapy.

Each module builds request URLs and parses answers; the backfill spider
(narrative_archive.spiders.backfill) does the fetching, politely.

- terms: what a narrative's URLs likely carry (the URL-slug strategy)
- wayback: the Internet Archive's CDX server and raw (id_) replay
- commoncrawl: Common Crawl's per-crawl CDX indexes and WARC records by byte range
- mediacloud: Media Cloud's story search (needs an API key)
"""
