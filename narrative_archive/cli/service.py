"""The service: schedule, up (init + schedule + serve), serve (Datasette)."""

from __future__ import annotations

import sys

import click

from narrative_archive.cli.options import (
    archive_options,
    capture_options,
    captures_option,
    pass_capture_to_crawls,
    run_service,
    service_options,
)


@click.command()
@archive_options
@service_options
@capture_options
def schedule(db_path, config_dir, grace, max_crawls, captures, capture):
    """The scheduler service, in the foreground: runs the jobs of schedule.yml.

    Each run is a `narrative-archive crawl` subprocess recorded in crawl_runs
    (running, ok, interrupted, failed, timeout or abandoned). A job never overlaps itself;
    an interval job runs soon after start-up unless it ran within its interval,
    then carries on from its last run. SIGTERM or Ctrl-C stops it cleanly:
    running crawls get --grace seconds to close, then the scheduler exits 0.
    One line per event on stderr. systemd and Docker run this command.
    --captures and --no-capture apply to every crawl it starts.
    """
    pass_capture_to_crawls(captures, capture)
    sys.exit(run_service(db_path, config_dir, grace, max_crawls))


@click.command()
@archive_options
@service_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Datasette's address (0.0.0.0 to be reachable from other machines).")
@click.option("--port", type=int, default=8001, show_default=True, help="Datasette's port.")
@capture_options
def up(db_path, config_dir, grace, max_crawls, host, port, captures, capture):
    """The whole service in one command: init + schedule + serve.

    Creates or migrates the archive, runs the scheduler and serves the archive
    with Datasette at http://HOST:PORT/. Ctrl-C (or SIGTERM) stops all of it;
    if Datasette exits, the scheduler stops too and the exit status is 1.
    --captures and --no-capture apply to every crawl it starts.
    """
    from narrative_archive.publish import serve

    pass_capture_to_crawls(captures, capture)
    from narrative_archive.scheduler.log import EventLog

    log = EventLog()

    def datasette():
        process = serve.start_datasette(db_path, host, port)
        log("serving", process="datasette", pid=process.pid, url=f"http://{host}:{port}/")
        return process

    sys.exit(run_service(db_path, config_dir, grace, max_crawls,
                         companions={"datasette": datasette}, log=log))


@click.command()
@archive_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 to be reachable from other machines).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--metadata", "metadata_path", type=click.Path(exists=True, dir_okay=False),
              help="Use this metadata.yml instead of datasette/metadata.yml (keep its "
              "`databases: archive:` key).")
@click.option("--setting", "settings", type=(str, str), multiple=True, metavar="NAME VALUE",
              help="Override a Datasette setting of datasette/settings.json, e.g. "
              "--setting base_url /archive/ (repeatable).")
@click.option("--cors", is_flag=True, help="Send Access-Control-Allow-Origin: * so other "
              "sites' JavaScript can read the JSON API.")
@click.option("--print-command", is_flag=True, help="Print the datasette command instead of "
              "running it (for systemd, Docker or `datasette publish`).")
@click.option("--replica", "replica_url", metavar="URL", help="Serve a read replica: restore "
              "the archive Litestream replicates to URL (a directory or s3://bucket/path) into "
              "--db and keep following it (docs/fleet.md).")
@captures_option
def serve(db_path, config_dir, host, port, metadata_path, settings, cors, print_command,
          captures, replica_url):
    """Publish the archive with Datasette at http://HOST:PORT/: search, facets,
    timelines, the dashboard, article pages, Atom feeds, CSV and JSON.

    Uses datasette/ (metadata.yml, settings.json, templates, plugins, static).
    Read-only and safe alongside a writing crawl: the archive is opened
    read-only, never --immutable, queries stop after sql_time_limit_ms, and
    any request other than GET/HEAD/OPTIONS is refused.
    """
    import shlex

    from narrative_archive.publish import serve as serve_module

    options = {"settings": dict(settings), "metadata": metadata_path, "cors": cors}
    if captures:  # the article page's WARC record downloads read from here
        pass_capture_to_crawls(captures, True)
    if print_command:
        click.echo(shlex.join(serve_module.datasette_args(db_path, host, port, **options)))
        return
    if replica_url and not print_command:
        from narrative_archive.cli.fleet import serve_replica

        sys.exit(serve_replica(replica_url, db_path, host, port, options))
    try:
        serve_module.check_archive(db_path)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Serving {db_path} at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    sys.exit(serve_module.serve(db_path, host, port, **options))
