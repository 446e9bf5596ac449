"""html -> Article, pure: decoding, metadata, dates, language, bylines."""

from narrative_archive.extract.article import Article, ExtractError, extract_article

__all__ = ["Article", "ExtractError", "extract_article"]
