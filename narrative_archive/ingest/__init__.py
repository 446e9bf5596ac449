"""The flow entered without a crawl: import collections, re-extract stored captures."""
