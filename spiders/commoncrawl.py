"""The backfill spider's Common Crawl: the crawls of collinfo.json that overlap the range,
each crawl's pywb index per domain, and each record fetched by byte range."""

from __future__ import annotations

from scrapy.http import Response

from narrative_archive.crawl import discovery
from narrative_archive.sources import commoncrawl
from narrative_archive.spiders.archive import ArchiveBackfill


class CommonCrawlBackfill(ArchiveBackfill):
    cc_index_url: str
    cc_data_url: str

    def commoncrawl_listings(self):
        yield from self.resume("commoncrawl")
        yield self.archive_request(f"{self.cc_index_url.rstrip('/')}/collinfo.json",
                                   self.parse_collinfo, "commoncrawl-index")

    def commoncrawl_capture(self, capture: dict):
        fetch = capture["fetch"]
        record = commoncrawl.Record(capture["url"], fetch["timestamp"], fetch["filename"],
                                    int(fetch["offset"]), int(fetch["length"]))
        yield self.archive_request(
            commoncrawl.data_url(self.cc_data_url, record), self.parse_cc_record,
            "commoncrawl-data", listed=capture, record=record,
            handle_httpstatus_list=[200, 206],
        ).replace(headers={"Range": commoncrawl.byte_range(record)})

    def parse_collinfo(self, response: Response):
        self.count("fetched")
        self.count("listings")
        try:
            crawls = commoncrawl.crawls_between(commoncrawl.parse_collinfo(response.body),
                                                self.since, self.until)
        except ValueError as error:
            yield self.listing_problem(response, str(error))
            return
        self.logger.info("commoncrawl: %d crawls in the range", len(crawls))
        for crawl in crawls:
            for outlet in self.outlets:
                for domain in self.domains(outlet):
                    key = f"{crawl.id} {self.range_key}"
                    resume_key, done = discovery.backfill_cursor(self.db, "commoncrawl", domain, key)
                    if done:
                        self.count("listings_done_before")
                        continue
                    url = commoncrawl.index_url(self.cc_index_url, crawl.id, domain,
                                                since=self.since, until=self.until,
                                                url_regex=self.url_regex, num_pages=True)
                    yield self.archive_request(
                        url, self.parse_cc_size, "commoncrawl-index", outlet_id=outlet.id,
                        domain=domain, crawl=crawl.id, key=key, page=int(resume_key or 0),
                        handle_httpstatus_list=[404])

    def cc_page_request(self, meta: dict, page: int, pages: int):
        url = commoncrawl.index_url(self.cc_index_url, meta["crawl"], meta["domain"],
                                    since=self.since, until=self.until, url_regex=self.url_regex,
                                    page=page)
        return self.archive_request(url, self.parse_cc_index, "commoncrawl-index",
                                    **{k: meta[k] for k in ("outlet_id", "domain", "crawl", "key")},
                                    page=page, pages=pages, attempt=1,
                                    handle_httpstatus_list=[404])

    def parse_cc_size(self, response: Response):
        self.count("fetched")
        meta = response.meta
        if response.status == 404:  # pywb: no captures at all
            discovery.save_backfill_listing(self.db, "commoncrawl", meta["domain"], meta["key"], [],
                                        None, done=True)
            return
        try:
            pages = commoncrawl.parse_num_pages(response.body)
        except ValueError as error:
            yield self.listing_problem(response, str(error))
            return
        if self.all_urls:
            self.logger.warning("--all-urls: %s has %d index page(s) of captures for %s",
                                meta["crawl"], pages, meta["domain"])
        if meta["page"] < pages:
            yield self.cc_page_request(meta, meta["page"], pages)
        else:
            discovery.save_backfill_listing(self.db, "commoncrawl", meta["domain"], meta["key"], [],
                                        None, done=True)

    def parse_cc_index(self, response: Response):
        self.count("fetched")
        self.count("listings")
        meta = response.meta
        records: list[commoncrawl.Record] = []
        if response.status != 404:
            try:
                records = commoncrawl.parse_index(response.body)
            except ValueError as error:
                yield from self.broken_listing(response, str(error))
                return
        rows = []
        for record in records:
            if not self.in_range(record.captured_at):
                self.count("skipped_out_of_range")
                continue
            rows.append({"capture": record.capture, "url": record.url,
                         "captured_at": record.captured_at, "outlet_id": meta["outlet_id"],
                         "fetch": {"timestamp": record.timestamp, "filename": record.filename,
                                   "offset": record.offset, "length": record.length}})
        following = meta["page"] + 1
        more = following < meta["pages"]
        yield from self.listed("commoncrawl", meta["domain"], meta["key"], rows,
                               str(following) if more else None)
        if more:
            yield self.cc_page_request(meta, following, meta["pages"])

    def parse_cc_record(self, response: Response):
        self.count("fetched")
        capture, record = response.meta["listed"], response.meta["record"]
        try:
            http = commoncrawl.read_record(response.body)
        except ValueError as error:
            yield self.fail(capture, str(error))
            return
        if http.status != 200:
            self.skip(capture, "not_ok", f"the archived response was HTTP {http.status}")
            return
        page = self.page(
            capture, http.body, http.content_type, source="commoncrawl", response=response,
            archived_at=record.captured_at,
            archive_url=(f"{commoncrawl.data_url(self.cc_data_url, record)}"
                         f"#offset={record.offset}&length={record.length}"),
        )
        if page is not None:
            yield page
