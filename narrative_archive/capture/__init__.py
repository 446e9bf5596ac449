"""Every response as a WARC record: writing, reading, WACZ, the Scrapy middleware."""
