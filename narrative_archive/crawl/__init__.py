"""Scrapy glue: the crawl command, its settings, items, pipelines, middlewares, workers."""
