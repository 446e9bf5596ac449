"""Scrapy's spider loader, importing a spider's module only when the spider is asked for.

Scrapy's own imports every module of SPIDER_MODULES when the crawler process starts: a
`crawl sitemaps` paid for feedparser, the backfill's archives and every other spider
(~0.1 s of start-up). Here `load("sitemaps")` imports `<SPIDER_MODULES>.sitemaps` (the
spiders live in modules named after them) and falls back on Scrapy's walk of every module
for a spider found elsewhere; `list()` and `find_by_request()` walk them all, as before.
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any

from scrapy import spiderloader


class SpiderLoader(spiderloader.SpiderLoader):
    def _load_all_spiders(self) -> None:
        """Not now: when a spider is asked for (load) or all of them are (_load_every)."""
        self._walked = False

    def _load_every(self) -> None:
        if not self._walked:
            self._walked = True
            self._spiders.clear()
            self._found.clear()
            super()._load_all_spiders()

    def load(self, spider_name: str) -> Any:
        if spider_name not in self._spiders and not self._walked:
            for package in self.spider_modules:
                try:
                    module = importlib.import_module(f"{package}.{spider_name}")
                except ModuleNotFoundError as error:  # not a module of its own: walk them all
                    if error.name != f"{package}.{spider_name}":
                        raise
                    continue
                self._load_spiders(module)
            if spider_name not in self._spiders:
                self._load_every()
        return super().load(spider_name)

    def list(self) -> list[str]:
        self._load_every()
        return super().list()

    def find_by_request(self, request) -> builtins.list[str]:
        self._load_every()
        return super().find_by_request(request)
