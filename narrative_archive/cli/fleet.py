"""The fleet (docs/fleet.md): deploy to Scrapyd nodes, their health, batch ingest, replicas."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from narrative_archive.cli.options import archive_options, captures_option, captures_path
from narrative_archive.config import ConfigError, config_paths


def load_fleet(config_dir):
    """schedule.yml's nodes and batches (an empty Fleet without `nodes:`)."""
    from narrative_archive.config.schedule import load_fleet as load

    try:
        return load(config_paths(config_dir)["schedule.yml"])
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def fleet_service(db_path: str, config_dir: str | None, log) -> tuple[object | None, dict]:
    """With `nodes:` in schedule.yml: the dispatcher as the scheduler's runner, and the
    batch ingest as a companion process. Without: (None, {}) and nothing changes."""
    fleet = load_fleet(config_dir)
    if not fleet.nodes:
        return None, {}
    import subprocess

    from narrative_archive.fleet.dispatch import Dispatcher

    dispatcher = Dispatcher(fleet)
    command = [sys.executable, "-m", "narrative_archive", "fleet", "ingest", "--follow",
               "--db", str(db_path)]
    if config_dir:
        command += ["--config", str(config_dir)]

    def ingest():
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        log("ingesting", process="ingest", pid=process.pid, batches=str(fleet.batches))
        return process

    for node in fleet.nodes:
        log("node", node=node.name, url=node.url)
    return dispatcher.run, {"ingest": ingest}


def fleet_status(db_path, config_dir) -> dict:
    """For `status`: each node's health and last run, and the batches ingested; {} without
    `nodes:` (or when schedule.yml does not load: status reports that already)."""
    from narrative_archive.config.schedule import load_fleet as load

    try:
        fleet_config = load(config_paths(config_dir)["schedule.yml"])
    except ConfigError:
        return {}
    if not fleet_config.nodes:
        return {}
    from narrative_archive import store

    db = store.open_db(db_path)
    try:
        totals = store.batch_totals(db)
    finally:
        db.close()
    return {"nodes": node_report(db_path, fleet_config), "batches": totals}


@click.group()
def fleet():
    """Past one machine: Scrapyd crawl nodes that leave batches in shared storage, the
    archive host that ingests them, and read replicas (see docs/fleet.md).

    schedule.yml's `nodes:` (Scrapyd URLs) and `batches:` (a directory or an
    s3://bucket/prefix) switch `schedule` and `up` to the fleet: jobs run on the
    nodes and `fleet ingest --follow` runs beside the scheduler.
    """


@fleet.command()
@archive_options
@click.option("--egg", "egg_out", type=click.Path(file_okay=False),
              help="Only build the egg into this directory; deploy nothing.")
def deploy(db_path, config_dir, egg_out):
    """Build the project's egg and add it to every node (addversion.json)."""
    from narrative_archive.fleet.dispatch import Dispatcher
    from narrative_archive.fleet.egg import build_egg
    from narrative_archive.fleet.scrapyd import NodeError

    if egg_out:
        click.echo(build_egg(egg_out))
        return
    fleet_config = load_fleet(config_dir)
    if not fleet_config.nodes:
        raise click.ClickException("schedule.yml has no `nodes:`")
    dispatcher = Dispatcher(fleet_config)
    failed = 0
    for node in fleet_config.nodes:
        try:
            version = dispatcher.deploy(node, force=True)
            click.echo(f"{node.name}: deployed version {version}")
        except NodeError as error:
            failed += 1
            click.echo(f"{node.name}: {error.problem}", err=True)
    sys.exit(1 if failed else 0)


@fleet.command()
@archive_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def nodes(db_path, config_dir, fmt):
    """Each node: up or down (daemonstatus.json), its jobs, and its last run."""
    import json

    from narrative_archive.publish.tables import format_rows

    rows = node_report(db_path, load_fleet(config_dir))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(format_rows(rows, "table") if rows else "  (no nodes in schedule.yml)")


def node_report(db_path, fleet_config) -> list[dict]:
    """node_health joined with each node's last run in the archive (for `status` too)."""
    from narrative_archive import store
    from narrative_archive.fleet.dispatch import node_health

    runs = {}
    if Path(db_path).exists():
        db = store.open_db(db_path)
        runs = store.node_runs(db)
        db.close()
    return [{**row, **runs.get(row["node"], {})} for row in node_health(fleet_config)]


@fleet.command()
@archive_options
@captures_option
@click.option("--follow", is_flag=True, help="Keep ingesting what arrives (until SIGTERM).")
@click.option("--every", type=click.FloatRange(0.1), default=5.0, show_default=True,
              help="With --follow: seconds between looks at the storage.")
@click.option("--keep", is_flag=True, help="Leave ingested batches in the storage.")
@click.option("--batches", "batches_url", default=None,
              help="The batch storage (default: schedule.yml's `batches:`).")
def ingest(db_path, config_dir, captures, follow, every, keep, batches_url):
    """Ingest the finished batches the nodes left, each exactly once."""
    import signal
    import threading

    from narrative_archive.cli.options import init_archive, read_config
    from narrative_archive.fleet.ingest import follow as follow_batches
    from narrative_archive.fleet.ingest import ingest_pending
    from narrative_archive.fleet.storage import open_storage
    from narrative_archive.scheduler.log import EventLog

    url = batches_url or load_fleet(config_dir).batches
    if not url:
        raise click.ClickException("no batch storage: give --batches or `batches:` in "
                                   "schedule.yml")
    config = read_config(config_dir)
    storage = open_storage(url)
    captures_dir = captures_path(db_path, captures)
    init_archive(db_path, config, echo=lambda text: None).close()
    if follow:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        follow_batches(db_path, storage, config, captures_dir, every=every, keep=keep,
                       stop=stop, log=EventLog())
        return
    from narrative_archive import store

    db = store.open_db(db_path, synchronous="NORMAL")
    try:
        summary = ingest_pending(db, storage, config, captures_dir, keep=keep)
    finally:
        db.close()
    click.echo(f"{summary.batches} batches: {summary.articles} articles ({summary.new} new, "
               f"{summary.updated} updated, {summary.unchanged} unchanged), "
               f"{summary.errors} errors, in {summary.seconds:.1f}s")
    for ident in summary.refused:
        click.echo(f"refused {ident}: its files do not match its manifest", err=True)


def serve_replica(url: str, db_path: str, host: str, port: int, options: dict) -> int:
    """`serve --replica URL`: follow the replica into db_path, Datasette over it, until a
    stop signal or Datasette's exit; returns Datasette's exit status."""
    import signal
    import threading

    from narrative_archive.fleet.replica import ReplicaFollower
    from narrative_archive.publish import serve as serve_module
    from narrative_archive.scheduler.log import EventLog

    log = EventLog()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    follower = ReplicaFollower(url, db_path, log=log)
    try:
        follower.start()
    except RuntimeError as error:
        follower.close()
        raise click.ClickException(str(error)) from error
    process = serve_module.start_datasette(db_path, host, port, **options)
    log("serving", process="datasette", pid=process.pid, url=f"http://{host}:{port}/",
        replica=url)
    try:
        while not stop.wait(0.5) and process.poll() is None:
            pass
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(20)
        follower.close()
    return 0 if stop.is_set() else (process.returncode or 1)


@fleet.command()
@archive_options
@click.option("--to", "url", required=True, metavar="URL",
              help="Where the replica goes: a directory or s3://bucket/path.")
def replicate(db_path, config_dir, url):
    """Stream the archive to a replica with Litestream (foreground; SIGTERM stops it).

    Read nodes follow it with `narrative-archive serve --replica URL`.
    """
    import os

    from narrative_archive import store
    from narrative_archive.fleet.replica import litestream, litestream_env, write_config

    store.open_db(db_path).close()  # exists, migrated, in WAL mode
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="narrative-archive-litestream-"))
    config = write_config(Path(db_path).absolute(), url, folder)
    os.execve(litestream(), [litestream(), "replicate", "-config", str(config)],
              litestream_env(url))
