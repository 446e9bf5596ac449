"""Narratives as versioned FTS5 queries: matching, rematch, coverage."""
