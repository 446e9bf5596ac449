"""What the Datasette plugins share (narrative_archive.publish.instance), on real Datasette
instances built with Datasette's documented constructor."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from datasette.app import Datasette

from narrative_archive import paths
from narrative_archive.publish.instance import (
    PLUGIN,
    PUBLIC_FIELDS,
    archive_name,
    captures_dir,
    public_databases,
)
from tests.datasette_fixtures import Client, build_archive, make_datasette


def datasette_with(tmp_path, config=None, name="news.db"):
    path = tmp_path / name
    sqlite3.connect(path).close()
    metadata = {"plugins": {PLUGIN: config}} if config is not None else {}
    return Datasette([str(path)], metadata=metadata), path


def test_archive_name_is_the_configured_one_else_archive(tmp_path):
    assert archive_name(datasette_with(tmp_path)[0]) == "archive"
    assert archive_name(datasette_with(tmp_path, {"database": "news"})[0]) == "news"
    assert archive_name(datasette_with(tmp_path, {})[0]) == "archive"


def test_captures_are_beside_the_archive_unless_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("NARRATIVE_ARCHIVE_CAPTURES", raising=False)
    datasette, path = datasette_with(tmp_path, {"database": "news"})
    assert captures_dir(datasette) == paths.captures_dir(path) == tmp_path / "captures"
    monkeypatch.setenv("NARRATIVE_ARCHIVE_CAPTURES", str(tmp_path / "env"))  # serve --captures
    assert captures_dir(datasette) == tmp_path / "env"
    configured, _ = datasette_with(tmp_path, {"database": "news", "captures_dir": "/srv/warc"})
    assert captures_dir(configured) == paths.Path("/srv/warc")
    monkeypatch.delenv("NARRATIVE_ARCHIVE_CAPTURES")
    unnamed, _ = datasette_with(tmp_path, {"database": "elsewhere"})  # no such database
    assert captures_dir(unnamed) is None


def test_public_databases_never_name_the_file(tmp_path):
    datasette, path = datasette_with(tmp_path)
    listed = public_databases(datasette)
    assert [db["name"] for db in listed] == ["news"]  # not _internal
    assert set(listed[0]) == set(PUBLIC_FIELDS)
    assert str(path) not in repr(listed) and "news.db" not in repr(listed)


STOCK_DATABASES_JSON = """
import asyncio, sys
from datasette.app import Datasette
print(asyncio.run(Datasette([sys.argv[1]]).client.get("/-/databases.json")).text)
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance") / "news-2021.db"
    build_archive(path)
    return path


def test_databases_json_is_datasettes_own_less_the_path(archive):
    """/-/databases.json (the guard plugin's route) says what stock Datasette 0.65 says of
    each database, less its "path"."""
    # In a process of its own: plugins from a --plugins-dir stay registered in the process.
    stock = json.loads(subprocess.run([sys.executable, "-c", STOCK_DATABASES_JSON, str(archive)],
                                      capture_output=True, text=True, check=True,
                                      cwd=archive.parent).stdout)
    ours = Client(make_datasette(archive)).json("/-/databases.json")
    assert [{k: v for k, v in db.items() if k != "path"} for db in stock] == [
        {**db, "name": "news-2021", "route": "news-2021"} for db in ours]
    assert [db["name"] for db in ours] == ["archive"]


def test_the_database_attributes_the_plugins_read(tmp_path):
    """The plugins read these attributes of Datasette's Database objects. All but `path` and
    `route` are in Datasette 0.65's documented introspection list; `path` is the documented
    constructor argument and `route` add_database's. Pinned, so a Datasette without them
    fails here rather than on a published page."""
    import datasette
    from datasette.database import Database

    assert datasette.__version__.startswith("0.65."), datasette.__version__
    ds = Datasette([])
    path = str(tmp_path / "x.db")
    sqlite3.connect(path).close()
    db = ds.add_database(Database(ds, path=path, is_mutable=True), name="x", route="y")
    assert (db.path, db.name, db.route, db.is_mutable, db.is_memory) == (path, "x", "y", True,
                                                                        False)
    assert db.size == 0 and db.hash is None
    assert set(PUBLIC_FIELDS) <= set(dir(db))
