"""The published archive with stock tools and the file alone: stock Datasette (no plugins,
no metadata) and sqlite-utils find its full-text index, declared content="articles"."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
import sqlite_utils
from click.testing import CliRunner
from sqlite_utils.cli import cli as sqlite_utils_cli

from narrative_archive import store
from tests.datasette_fixtures import ARTICLES, build_archive

TALIBAN_HITS = {key for key, row in ARTICLES.items() if "taliban" in (row[3] + row[4]).lower()}
DECLARATION_MIGRATION = next(i for i, sql in enumerate(store.MIGRATIONS, 1)
                             if "content=\"articles\"" in sql and "writable_schema" in sql)


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "archive.db"
    build_archive(path)
    return path


def declaration(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_fts'").fetchone()[0]
    finally:
        conn.close()


def stock_search(path, search: str) -> list[dict]:
    from datasette.app import Datasette

    datasette = Datasette([str(path)])  # stock: no metadata, no plugins, no templates

    async def get():
        response = await datasette.client.get(
            f"/archive/articles.json?_search={search}&_shape=objects&_size=max")
        assert response.status_code == 200, response.text[:300]
        return response.json()["rows"]

    return asyncio.run(get())


def test_stock_tools_find_the_index(archive):
    assert 'content="articles"' in declaration(archive)
    assert sqlite_utils.Database(archive)["articles"].detect_fts() == "articles_fts"
    rows = stock_search(archive, "taliban")
    assert 0 < len(rows) < len(ARTICLES)
    assert all("taliban" in (row["title"] + row["text"]).lower() for row in rows)
    assert len(rows) == len(TALIBAN_HITS)


def test_sqlite_utils_search_and_rebuild(archive):
    result = CliRunner().invoke(sqlite_utils_cli, ["search", str(archive), "articles", "taliban",
                                                   "-c", "title", "--json-cols"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == len(TALIBAN_HITS)
    rebuilt = CliRunner().invoke(sqlite_utils_cli, ["rebuild-fts", str(archive), "articles"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert len(stock_search(archive, "taliban")) == len(TALIBAN_HITS)


def test_stock_datasette_serves_the_views_with_the_file_alone(archive):
    from datasette.app import Datasette

    datasette = Datasette([str(archive)])

    async def statuses():
        return {path: (await datasette.client.get(path)).status_code for path in (
            "/", "/archive", "/archive/mention_articles.json", "/archive/narrative_monthly.json",
            "/archive/narrative_first_seen.json", "/archive/articles?_search=taliban")}

    assert set(asyncio.run(statuses()).values()) == {200}


def test_an_older_archive_is_migrated_in_place(archive):
    """An archive declared content='articles' (before the migration) gets the findable
    declaration; its index is kept, not rebuilt, and still follows the articles."""
    conn = sqlite3.connect(archive)
    with conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = replace(replace(sql, 'content=\"articles\"',"
                     " 'content=''articles'''), 'content_rowid=\"id\"', 'content_rowid=''id''')"
                     " WHERE name = 'articles_fts'")
        conn.execute("PRAGMA writable_schema = OFF")
    conn.close()
    assert "content='articles'" in declaration(archive)
    assert sqlite_utils.Database(archive)["articles"].detect_fts() is None

    db = store.open_db(archive)
    # the declaration migration, as open_db runs it on an archive from before it (later
    # migrations, which this archive already has, cannot run twice)
    with db.conn:
        for statement in store._statements(store.MIGRATIONS[DECLARATION_MIGRATION - 1]):
            db.conn.execute(statement)
    assert store.schema_version(db) == store.SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    store.save_article(db, {"url": "https://tolonews.com/new", "title": "Taliban parade",
                            "text": "The Taliban held a parade."}, "tolo", via="feed")
    db.close()
    assert 'content="articles"' in declaration(archive)
    assert len(stock_search(archive, "taliban")) == len(TALIBAN_HITS) + 1
