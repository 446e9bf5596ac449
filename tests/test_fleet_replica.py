"""Read replicas: the archive host streams archive.db with Litestream to an S3 endpoint
(moto_server) while batches are ingested; `serve --replica` restores, follows and
serves it with Datasette; the replica serves every article the primary committed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from narrative_archive import store
from narrative_archive.fleet.storage import DirStorage
from tests.conftest import dies_with_tests, wait_for
from tests.fixture_server import REPO, query, write_config
from tests.fleet_nodes import MotoServer, free_port
from tests.test_fleet_ingest import ingest, write_batches

pytestmark = pytest.mark.timeout(240)


def served_urls(port: int) -> list[str] | None:
    sql = urllib.parse.quote("SELECT canonical_url FROM articles ORDER BY canonical_url")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/archive.json?sql={sql}"
                                    "&_shape=array&_size=max", timeout=5) as response:
            return [row["canonical_url"] for row in json.load(response)]
    except OSError:
        return None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_replica_serves_every_article_the_primary_committed(tmp_path):
    moto = MotoServer(free_port()).start(tmp_path / "moto.log")
    try:
        moto.bucket("replicas")
        replicate_and_serve(tmp_path, moto)
    finally:
        moto.stop()


def replicate_and_serve(tmp_path, moto: MotoServer) -> None:
    env = {**os.environ, **moto.env(), "PYTHONUNBUFFERED": "1"}
    config = write_config(tmp_path / "config")
    primary = tmp_path / "archive.db"
    db = store.open_db(primary)
    run_id = store.start_run(db, "feeds", {}, job="feeds")
    db.close()
    host = {"config": config, "db": primary, "run": run_id, "captures": tmp_path / "captures",
            "storage": DirStorage(tmp_path / "batches")}
    write_batches(host["storage"], run_id, "feeds-r1-aa", 2, 20)
    ingest(host)
    url = "s3://replicas/archive"
    cli = [sys.executable, "-m", "narrative_archive"]
    replicate = subprocess.Popen(dies_with_tests([*cli, "fleet", "replicate", "--db", str(primary),
                                                  "--to", url]),
                                 env=env, cwd=REPO, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=open(tmp_path / "ls.log", "wb"))
    port = free_port()
    serve = None
    try:
        # the first snapshot is up once the replica has an LTX file
        import boto3

        s3 = boto3.client("s3", endpoint_url=moto.url, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
        wait_for(lambda: s3.list_objects_v2(Bucket="replicas").get("KeyCount"),
                 what="the first snapshot in the bucket")
        serve = subprocess.Popen(
            dies_with_tests([*cli, "serve", "--replica", url, "--db", str(tmp_path / "replica.db"),
                             "--port", str(port)]), env=env, cwd=REPO, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.log", "wb"))
        wait_for(lambda: served_urls(port) is not None, what="Datasette on the replica")
        # write load on the primary while the replica follows: four more batches
        for key in ("feeds-r1-bb", "feeds-r1-cc"):
            write_batches(host["storage"], run_id, key, 2, 20)
            ingest(host)
        committed = [r["canonical_url"] for r in
                     query(primary, "SELECT canonical_url FROM articles ORDER BY canonical_url")]
        assert len(committed) == 120
        assert wait_for(lambda: served_urls(port) == committed,
                        what="the replica to serve every committed article")
    finally:
        if serve is not None:
            stop(serve)
        stop(replicate)
    assert "replica" in (tmp_path / "serve.log").read_text()
