"""The fleet's crawl nodes: two real Scrapyd daemons on 127.0.0.1 crawl the fixture
outlets; batches go to a moto S3 server (or a directory); the archive host ingests them.
A node killed with -9 mid-job: its share finishes on the other node, nothing lost or
stored twice."""

from __future__ import annotations

import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.config import Job, load_config
from narrative_archive.config.schedule import Fleet, Node, load_fleet
from narrative_archive.fleet import batches
from narrative_archive.fleet.dispatch import Dispatcher, node_health, partition, rank
from narrative_archive.fleet.ingest import ingest_pending
from narrative_archive.fleet.storage import open_storage
from tests.conftest import wait_for
from tests.fixture_server import FixtureServer, query, run_crawl, write_config
from tests.fleet_nodes import MotoServer, ScrapydProcess, fast_settings, free_port

pytestmark = pytest.mark.timeout(240)
# with these names the six fixture outlets fall on both nodes (rendezvous hashing)
NODE_NAMES = ("crawl-1", "crawl-2")
AUTH_ENV = {"SCRAPYD_USERNAME": "scrapyd", "SCRAPYD_PASSWORD": "s3cret"}


def test_partition_keeps_an_outlet_on_one_node_and_moves_only_a_lost_nodes_outlets():
    nodes = [Node(f"n{i}", f"http://n{i}:6800") for i in range(1, 5)]
    outlets = [f"outlet-{i}" for i in range(200)]
    job = Job(id="feeds", spider="feeds")
    before = {o: node.name for node, part in partition(job, outlets, nodes) for o in part}
    assert sorted(before) == sorted(outlets) and len(set(before.values())) == 4
    after = {o: node.name for node, part in partition(job, outlets, nodes[1:]) for o in part}
    assert {o for o in outlets if before[o] != after[o]} == {
        o for o in outlets if before[o] == "n1"}
    search = Job(id="search-x", spider="search")
    assert [node for node, _ in partition(search, outlets, nodes)] == [rank("search-x", nodes)[0]]


def test_nodes_and_batches_in_schedule_yml(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRAPYD_PASSWORD", "s3cret")
    path = tmp_path / "schedule.yml"
    path.write_text("nodes:\n  - http://alice:pw@crawl-1:6800/\n"
                    "  - {url: 'http://crawl-2:6800', name: two, username: bob,"
                    " password: '${SCRAPYD_PASSWORD}'}\nbatches: s3://bucket/batches\njobs: []\n")
    fleet = load_fleet(path)
    assert fleet.nodes == (Node("crawl-1:6800", "http://crawl-1:6800", "alice", "pw"),
                           Node("two", "http://crawl-2:6800", "bob", "s3cret"))
    assert fleet.batches == "s3://bucket/batches"
    path.write_text("nodes: [http://crawl-1:6800]\njobs: []\n")
    with pytest.raises(ValueError, match="nodes need `batches:`"):
        load_fleet(path)
    path.write_text("jobs: []\n")
    assert load_fleet(path) == Fleet()


def test_the_egg_holds_the_package_its_spiders_and_the_settings_entry_point(tmp_path):
    import zipfile

    result = CliRunner().invoke(cli, ["fleet", "deploy", "--egg", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(result.output.strip()) as egg:
        names = set(egg.namelist())
        entry_points = egg.read("EGG-INFO/entry_points.txt").decode()
    assert {"narrative_archive/spiders/feeds.py", "narrative_archive/scheduler/jobs.py",
            "narrative_archive/fleet/node.py", "narrative_archive/crawl/settings.py"} <= names
    assert "settings = narrative_archive.crawl.settings" in entry_points


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A fixture server, the test config, a moto S3 server and two Scrapyd nodes."""
    tmp = tmp_path_factory.mktemp("fleet")
    with FixtureServer() as server:
        config = write_config(tmp / "config")
        # one machine's crawl of the same outlets, beside the nodes' start-up (`expected`)
        single = ThreadPoolExecutor(1).submit(run_crawl, server, ["feeds"], tmp / "single.db",
                                              config)
        moto = MotoServer(free_port())
        nodes = [ScrapydProcess(name, tmp / name, free_port()) for name in NODE_NAMES]
        try:
            moto.start(tmp / "moto.log")
            moto.bucket("batches")
            nodes[0].start(server, config, moto.env())
            # crawl-2 asks for basic auth, as a node on a network would
            nodes[1].start(server, config, {**moto.env(), **AUTH_ENV})
            yield {"tmp": tmp, "server": server, "config": config, "moto": moto,
                   "nodes": nodes, "single": single}
        finally:
            for node in nodes:
                node.stop()
            moto.stop()


@pytest.fixture(scope="module")
def expected(world):
    """What one machine's feeds crawl of the fixture outlets stores: canonical URLs."""
    db_path = world["tmp"] / "single.db"
    result = world["single"].result(timeout=120)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return {row["canonical_url"] for row in query(db_path, "SELECT canonical_url FROM articles")}


def fleet_of(world, batches_url: str) -> Fleet:
    crawl_1, crawl_2 = world["nodes"]
    return Fleet((Node(crawl_1.name, crawl_1.url),
                  Node(crawl_2.name, crawl_2.url, "scrapyd", "s3cret")), batches_url)


def ingest(world, db_path: Path, storage) -> None:
    db = store.open_db(db_path)
    try:
        ingest_pending(db, storage, load_config(world["config"]), world["tmp"] / "captures")
    finally:
        db.close()


def test_a_job_runs_on_both_nodes_and_its_batches_reach_the_archive_through_s3(
        world, expected, monkeypatch):
    for name, value in world["moto"].env().items():
        monkeypatch.setenv(name, value)
    fleet = fleet_of(world, "s3://batches/run1")
    events: list[tuple[str, dict]] = []
    dispatcher = Dispatcher(fleet, settings=fast_settings(), poll=0.3)
    db_path = world["tmp"] / "archive1.db"
    store.open_db(db_path).close()
    outcome = dispatcher.run(Job(id="feeds", spider="feeds"), db_path, world["config"],
                             log=lambda event, **fields: events.append((event, fields)))
    assert outcome is not None and outcome.status == "ok", events
    assert {f["node"] for e, f in events if e == "started"} == set(NODE_NAMES)
    storage = open_storage(fleet.batches)
    assert list(batches.published(storage))  # nothing is in the archive before the ingest
    assert query(db_path, "SELECT count(*) AS n FROM articles") == [{"n": 0}]
    ingest(world, db_path, storage)
    stored = query(db_path, "SELECT canonical_url FROM articles")
    assert {row["canonical_url"] for row in stored} == expected
    runs = query(db_path, "SELECT node, status, job, pages, new_articles, message"
                          " FROM crawl_runs ORDER BY node")
    assert [(r["node"], r["status"], r["job"]) for r in runs] == [
        ("crawl-1", "ok", "feeds"), ("crawl-2", "ok", "feeds")]
    assert sum(r["new_articles"] for r in runs) == len(expected)
    captures = query(db_path, "SELECT count(*) AS n FROM captures WHERE article_id IS NOT NULL")
    assert captures == [{"n": len(expected)}]
    assert query(db_path, "SELECT count(*) AS n FROM mentions")[0]["n"] > 0
    assert list(batches.published(storage)) == []  # ingested batches leave the storage
    health = node_health(fleet)
    assert [(row["node"], row["health"]) for row in health] == [
        ("crawl-1", "up"), ("crawl-2", "up")]
    no_password = Fleet((Node("crawl-2", world["nodes"][1].url),), fleet.batches)
    assert node_health(no_password)[0]["health"] == "down"  # 401 without its password
    # `status` shows the nodes of schedule.yml, their health and last run
    config = world["tmp"] / "status-config"
    shutil.copytree(world["config"], config)
    (config / "schedule.yml").write_text(
        f"nodes:\n  - {{url: '{world['nodes'][0].url}', name: crawl-1}}\n"
        f"  - {{url: '{world['nodes'][1].url}', name: crawl-2, username: scrapyd,"
        f" password: s3cret}}\nbatches: s3://batches/run1\njobs: []\n")
    result = CliRunner().invoke(cli, ["status", "--db", str(db_path), "--config", str(config),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(n["node"], n["health"], n["last_status"]) for n in report["nodes"]] == [
        ("crawl-1", "up", "ok"), ("crawl-2", "up", "ok")]
    assert report["batches"]["batches"] >= 2
    nodes = CliRunner().invoke(cli, ["fleet", "nodes", "--db", str(db_path), "--config",
                                     str(config), "--format", "json"])
    assert [(n["node"], n["health"]) for n in json.loads(nodes.output)] == [
        ("crawl-1", "up"), ("crawl-2", "up")]
    # a node remembers what it fetched (its scratch file): khaama again is fetched not at all
    again = dispatcher.run(Job(id="khaama", spider="feeds", outlets=("khaama",)), db_path,
                           world["config"])
    assert again is not None and again.status == "ok"
    ingest(world, db_path, storage)
    rerun = query(db_path, "SELECT node, pages, message FROM crawl_runs WHERE job = 'khaama'")
    assert [(r["node"], r["pages"]) for r in rerun] == [("crawl-2", 0)], rerun


def test_kill_9_a_node_mid_job_and_its_share_finishes_on_the_other(world, expected):
    server, tmp = world["server"], world["tmp"]
    fleet = fleet_of(world, str(tmp / "batches-kill"))
    victim, survivor = world["nodes"]
    # crawl-1's outlets answer slowly, so its job is still running after its first batch
    for host in ("tass.test", "antiwar.test", "tolonews.test"):
        server.delays[host] = 0.5
    # REFETCH_AFTER=0: the nodes fetched these outlets in the test before, and remember it
    settings = [*fast_settings(), ("NARRATIVE_ARCHIVE_BATCH_ARTICLES", "2"),
                ("NARRATIVE_ARCHIVE_REFETCH_AFTER", "0")]
    dispatcher = Dispatcher(fleet, settings=settings, poll=0.3, down_after=2)
    db_path = tmp / "archive2.db"
    store.open_db(db_path).close()
    events: list[tuple[str, dict]] = []
    result: list = []
    thread = threading.Thread(target=lambda: result.append(dispatcher.run(
        Job(id="feeds", spider="feeds"), db_path, world["config"],
        log=lambda event, **fields: events.append((event, fields)))))
    thread.start()
    storage = open_storage(fleet.batches)
    try:
        started = wait_for(lambda: [f for e, f in events if e == "started"
                                    and f["node"] == "crawl-1"], what="crawl-1's share")
        killed_run = started[0]["run"]
        key = next(r["job_key"] for r in [{"job_key": b.split("/")[0]} for b in
                   wait_for(lambda: [b for b in batches.published(storage)
                                     if b.startswith(f"feeds-r{killed_run}-")],
                            what="a batch from crawl-1")])
        assert not batches.final_batch(storage, key)  # killed mid-job
        victim.kill()
        server.delays.clear()
        thread.join(180)
        assert not thread.is_alive()
    finally:
        server.delays.clear()
        victim.start(server, world["config"], world["moto"].env())  # crawl-1: no auth
    assert result and result[0].status == "ok", events
    assert ("rescheduled", ) == tuple(e for e, f in events if e == "rescheduled")
    ingest(world, db_path, storage)
    urls = [row["canonical_url"] for row in query(db_path, "SELECT canonical_url FROM articles")]
    assert sorted(urls) == sorted(expected)  # nothing lost, nothing twice
    runs = {r["id"]: r for r in query(db_path, "SELECT * FROM crawl_runs")}
    assert runs[killed_run]["status"] == "abandoned" and runs[killed_run]["node"] == "crawl-1"
    assert "rescheduled on crawl-2" in runs[killed_run]["message"]
    retry = max(runs)
    assert runs[retry]["node"] == "crawl-2" and runs[retry]["status"] == "ok"
    assert runs[killed_run]["pages"] > 0  # what the dead node had published was kept
    versions = query(db_path, "SELECT count(*) AS n FROM article_versions")
    assert versions == [{"n": len(expected)}]  # the refetched copies changed nothing
    shutil.rmtree(tmp / "batches-kill", ignore_errors=True)
