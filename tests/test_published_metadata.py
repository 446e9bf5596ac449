"""What Datasette copies on every permission check stays small (issue 21): the dashboard's
configuration lives in datasette/dashboards.yml, the tables' and canned queries' metadata is
served through get_metadata, and every lookup answers as before."""

from __future__ import annotations

import asyncio
import json

import pytest

from narrative_archive.publish import dashboards, serve
from narrative_archive.publish.metadata import relocate
from tests.datasette_fixtures import Client, build_archive, make_datasette


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("metadata") / "archive.db"
    build_archive(path)
    return path


def started(datasette):
    asyncio.run(datasette.invoke_startup())
    return datasette


def test_metadata_json_is_the_two_files(archive):
    datasette = started(make_datasette(archive))
    client = Client(datasette)
    titles = [n["title"] for n in client.json("/narratives.json")["narratives"]]
    expected = serve.load_metadata()
    expected["plugins"]["datasette-dashboards"] = dashboards.with_colours(
        serve.load_dashboards(), titles)
    got = client.json("/-/metadata.json")
    expected = json.loads(json.dumps(expected))
    # Datasette names the canned queries and the admission plugin guards their MATCH in
    # the metadata it serves (as it did with the queries in its own metadata)
    got_queries = got["databases"]["archive"].pop("queries")
    expected_queries = expected["databases"]["archive"].pop("queries")
    assert got == expected
    assert set(got_queries) == set(expected_queries)
    for name, query in expected_queries.items():
        assert {k: v for k, v in got_queries[name].items() if k not in ("name", "sql")} == {
            k: v for k, v in query.items() if k != "sql"}, name


def test_what_permission_checks_copy_is_small(archive):
    datasette = started(make_datasette(archive))
    local = datasette._metadata_local
    assert "datasette-dashboards" not in local["plugins"]
    assert not {"tables", "queries"} & set(local["databases"]["archive"])
    assert len(json.dumps(local)) < 6000
    shipped = serve.load_metadata()["databases"]["archive"]
    # every lookup that reads them still gets them
    assert datasette.table_metadata("archive", "articles") == shipped["tables"]["articles"]
    queries = asyncio.run(datasette.get_canned_queries("archive", None))
    assert set(queries) == set(shipped["queries"])
    assert datasette.metadata("tables", database="archive") is None  # no allow, no facet_size
    client = Client(datasette)
    assert client.get("/archive/articles").status_code == 200
    assert "published_at" in client.get("/archive/articles").text


def test_tables_key_gets_only_what_checks_read():
    local = {"databases": {"db": {"tables": {
        "open": {"description": "x" * 100},
        "closed": {"description": "y", "allow": {"id": "root"}, "facet_size": 5}},
        "queries": {"q": "select 1"}}}}
    moved = relocate(local)
    assert local == {"databases": {"db": {}}}
    assert moved.served("tables", "db") == {"databases": {"db": {"tables": {
        "closed": {"allow": {"id": "root"}, "facet_size": 5}}}}}
    assert moved.served("queries", "db") == {"databases": {"db": {"queries": {"q": "select 1"}}}}
    assert moved.served("queries", "other") == {"databases": {}}
    assert moved.served("allow", None) == {}
    assert moved.served(None, None)["databases"]["db"]["tables"]["open"]["description"]


def test_dashboards_file_read_again_only_when_changed(archive, tmp_path):
    config = tmp_path / "dashboards.yml"
    config.write_text("mine:\n  title: One\n  charts: {}\n", encoding="utf-8")
    metadata = serve.load_metadata()
    metadata["plugins"]["narrative-archive"]["dashboards"] = str(config)
    from datasette.app import Datasette

    directory = serve.datasette_dir()
    datasette = started(Datasette(
        [str(archive)], metadata=metadata, settings=serve.load_settings(),
        template_dir=str(directory / "templates"), plugins_dir=str(directory / "plugins")))
    assert datasette.plugin_config("datasette-dashboards")["mine"]["title"] == "One"
    for _ in range(3):
        datasette.plugin_config("datasette-dashboards")
    state = datasette._narrative_dashboards["file"]
    assert state.reads == 1
    state.check_every = 0  # the file is looked at once a second; now at every lookup
    config.write_text("mine:\n  title: Two, renamed\n  charts: {}\n", encoding="utf-8")
    assert datasette.plugin_config("datasette-dashboards")["mine"]["title"] == "Two, renamed"
    assert state.reads == 2


def test_dashboards_in_the_metadata_file_win(archive):
    metadata = serve.load_metadata()
    metadata["plugins"]["datasette-dashboards"] = {"own": {"title": "Own", "charts": {}}}
    from datasette.app import Datasette

    directory = serve.datasette_dir()
    datasette = started(Datasette(
        [str(archive)], metadata=metadata, settings=serve.load_settings(),
        template_dir=str(directory / "templates"), plugins_dir=str(directory / "plugins")))
    assert set(datasette.plugin_config("datasette-dashboards")) == {"own"}


def test_render_markdown_skipped_only_where_it_renders_nothing(archive):
    """datasette-render-markdown's render_cell (a metadata lookup per text cell) is skipped
    where it has no configuration and no *_markdown column; configured, it renders."""
    def language_cell(datasette) -> str:
        text = Client(datasette).get("/archive/articles", params={"_size": 1}).text
        return text.split('<td class="col-language', 1)[1].split("</td>", 1)[0]

    plain = started(make_datasette(archive))
    assert "<p>" not in language_cell(plain)
    metadata = serve.load_metadata()
    metadata["plugins"]["datasette-render-markdown"] = {"columns": ["language"]}
    from datasette.app import Datasette

    directory = serve.datasette_dir()
    configured = started(Datasette(
        [str(archive)], metadata=metadata, settings=serve.load_settings(),
        template_dir=str(directory / "templates"), plugins_dir=str(directory / "plugins")))
    assert "<p>" in language_cell(configured)
    assert "<p>" not in language_cell(plain)  # each instance as it is configured
