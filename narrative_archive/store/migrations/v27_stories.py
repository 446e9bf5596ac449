"""Migrations 27-: the story index read from its bucket index alone."""

from __future__ import annotations

FIRST = 27  # the version this module's first entry migrates to

MIGRATIONS: list[str] = [
    # 27 (issue 21): a new article's candidates are the articles sharing one of its 32
    # buckets; on (bucket) alone SQLite read each bucket row from the table for its
    # article_id. With article_id in the index the lookup reads the index only.
    """
    CREATE INDEX story_buckets_bucket_article ON story_buckets(bucket, article_id);
    DROP INDEX story_buckets_bucket;
    """,
]
