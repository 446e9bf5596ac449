"""What the crawl process needs of extraction without importing it (trafilatura and its
dependencies load only where pages are extracted: the workers)."""

from __future__ import annotations

from functools import cache


class ExtractError(ValueError):
    """The page has no article to extract; ``str(e)`` is a short reason for a user."""


@cache
def extractor_version() -> str:
    """Who extracted a version: "narrative-archive 0.1.0 / trafilatura 2.3.1"."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for name in ("narrative-archive", "trafilatura"):
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} unknown")
    return " / ".join(versions)
