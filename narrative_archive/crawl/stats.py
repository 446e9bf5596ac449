"""Scrapy's stats collector without its per-call deprecation shim.

Scrapy 2.13+ gives StatsCollector a Python `__getattribute__` that, on every attribute
read (each `stats.inc_value(...)`, and `self._stats` inside it), formats a name, looks up
a cached wrapper, and wraps the public methods to warn about their deprecated `spider`
argument. Scrapy's engine, scheduler and downloader count several stats a page, and so do
the spiders and the pipeline: that shim was ~3 % of the crawl process's CPU (issue 21).
Here attribute reads are plain again; the stats, and every method, are Scrapy's own.
Nothing in the crawl passes `spider` to them.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class StatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
