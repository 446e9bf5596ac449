"""html -> Article, pure: decoding, metadata, dates, language, bylines.

Article and extract_article load trafilatura: they are imported on first use, so a
module that needs only ExtractError or dates (the crawl process) does not load it."""

from typing import Any

from narrative_archive.extract.errors import ExtractError

__all__ = ["Article", "ExtractError", "extract_article"]


def __getattr__(name: str) -> Any:
    if name in ("Article", "extract_article"):
        from narrative_archive.extract import article

        return getattr(article, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
