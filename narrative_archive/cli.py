"""The narrative-archive command line: thin, it parses options and calls functions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from narrative_archive import store
from narrative_archive.config import SPIDERS, Config, ConfigError, load_config
from narrative_archive.match import narratives as narratives_module
from narrative_archive.paths import DEFAULT_DB
from narrative_archive.publish.status import one_line, status_report, took
from narrative_archive.publish.tables import format_rows


def archive_options(command):
    """--db and --config, shared by every command."""
    for option in reversed((
        click.option(
        "--db", "db_path", default=DEFAULT_DB, show_default=True, envvar="NARRATIVE_ARCHIVE_DB",
        type=click.Path(dir_okay=False), help="The archive (SQLite). Env: NARRATIVE_ARCHIVE_DB.",
        ),
        click.option(
        "--config", "config_dir", default=None, envvar="NARRATIVE_ARCHIVE_CONFIG",
        type=click.Path(file_okay=False), help="Directory whose outlets.yml, narratives.yml and "
        "schedule.yml replace the defaults. Env: NARRATIVE_ARCHIVE_CONFIG.",
        ),
    )):
        command = option(command)
    return command


def captures_option(command):
    """--captures DIR: where the WARC captures are (default: captures/ beside the archive)."""
    return click.option(
        "--captures", "captures", default=None, envvar="NARRATIVE_ARCHIVE_CAPTURES",
        type=click.Path(file_okay=False), help="The WARC captures directory (default: "
        "captures/ beside the archive). Env: NARRATIVE_ARCHIVE_CAPTURES.")(command)


def capture_options(command):
    """--captures DIR and --no-capture, shared by crawl, schedule and up."""
    command = click.option(
        "--capture/--no-capture", "capture", default=True, envvar="NARRATIVE_ARCHIVE_CAPTURE",
        show_default=True, help="Write every response as WARC records (see Evidence). "
        "Env: NARRATIVE_ARCHIVE_CAPTURE=0 switches it off.")(command)
    return captures_option(command)


def captures_path(db_path: str, captures: str | None) -> Path:
    from narrative_archive.paths import captures_dir

    return captures_dir(db_path, captures)


def pass_capture_to_crawls(captures: str | None, capture: bool) -> None:
    """Scheduled crawls (and Datasette under `up`) inherit the environment: say it there."""
    import os

    if captures:
        os.environ["NARRATIVE_ARCHIVE_CAPTURES"] = str(Path(captures).absolute())
    os.environ["NARRATIVE_ARCHIVE_CAPTURE"] = "1" if capture else "0"


def read_config(config_dir: str | None, warn=None) -> Config:
    """Load the config or exit 1 with the error naming file, entry and line; warnings to stderr."""
    try:
        config = load_config(config_dir)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    for warning in config.warnings:
        (warn or (lambda text: click.echo(f"Warning: {text}", err=True)))(warning)
    return config


def init_archive(db_path: str, config: Config, echo=click.echo):
    """Open (and migrate) the archive, then narratives.sync_config, saying what changed."""
    db = store.open_db(db_path)
    for narrative_id, result in narratives_module.sync_config(db, config).items():
        version = narratives_module.narrative_version(db, narrative_id)
        echo(f"narrative {narrative_id} v{version}: {describe_rematch(result)}")
    return db


def describe_rematch(result: dict) -> str:
    if "error" in result:
        return f"rematch failed: {result['error']}"
    return f"{result['matched']} mentions (+{result['added']} -{result['removed']})"


@click.group()
@click.version_option(package_name="narrative-archive")
def cli():
    """Track how political narratives travel through the news.

    Spiders collect articles into one SQLite archive; narratives are full-text
    queries matched against every article; Datasette publishes the archive.
    """


@cli.command()
@archive_options
def init(db_path, config_dir):
    """Create or migrate the archive; load outlets and narratives.

    Safe to run again: it only applies what is missing. A narrative whose query
    changed gets a new version and is re-matched over the whole archive.
    """
    from narrative_archive.match.coverage import check_narrative

    config = read_config(config_dir)
    db = init_archive(db_path, config)
    click.echo(
        f"{db_path}: schema v{store.schema_version(db)}, {len(config.outlets)} outlets, "
        f"{len(config.narratives)} narratives"
    )
    failing = [n.id for n in config.narratives if not check_narrative(n).ok]
    if failing:
        click.echo(f"warning: narrative(s) failing their own examples: {', '.join(failing)} "
                   "(see `narrative-archive check`)", err=True)


@cli.command()
@archive_options
@click.option("--narrative", "narrative_ids", multiple=True, help="Only this narrative (repeatable).")
def rematch(db_path, config_dir, narrative_ids):
    """Re-evaluate narratives over the whole archive, without re-crawling.

    Adds mentions a query now matches, removes those it no longer matches, and
    records the narrative version on each. Run it after editing narratives.yml.
    A narrative that fails is reported and the others still run (exit status 1).
    """
    config = read_config(config_dir)
    db = store.open_db(db_path)
    store.save_outlets(db, config.outlets)
    narratives_module.save_narratives(db, config.narratives)
    selected = config.narratives
    if narrative_ids:
        known = {n.id for n in config.narratives}
        unknown = [n for n in narrative_ids if n not in known]
        if unknown:
            raise click.BadParameter(f"unknown narrative(s): {', '.join(unknown)}",
                                     param_hint="--narrative")
        selected = [n for n in config.narratives if n.id in narrative_ids]
    results = narratives_module.rematch_many(db, selected)
    for narrative_id, result in results.items():
        version = narratives_module.narrative_version(db, narrative_id)
        click.echo(f"{narrative_id} v{version}: {describe_rematch(result)}")
    if any("error" in result for result in results.values()):
        raise SystemExit(1)


@cli.command()
@archive_options
@click.option("--stories", "do_stories", is_flag=True, help="Re-cluster articles into stories.")
@click.option("--citations", "do_citations", is_flag=True, help="Re-extract citations.")
@click.option("--stance", "do_stance", is_flag=True, help="Re-classify every mention's stance.")
def analyse(db_path, config_dir, do_stories, do_citations, do_stance):
    """Recompute the analysis over the whole archive: stories, citations, stance.

    With no option, all three. --stories re-clusters every article from scratch,
    oldest first, so each story_id is the earliest article of its cluster (ingest
    clusters incrementally). --citations re-extracts links and attributions and
    points them at archived articles. --stance re-classifies every mention with
    the current cue lists (config/stance.yml and the narratives' stance: keys).
    """
    from narrative_archive.analysis import archive as analysis
    from narrative_archive.analysis import citations

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    config = read_config(config_dir)
    db = store.open_db(db_path)
    store.save_outlets(db, config.outlets)
    narratives_module.save_narratives(db, config.narratives)
    everything = not (do_stories or do_citations or do_stance)
    if do_stories or everything:
        result = analysis.restory(db)
        click.echo(f"stories: {result['articles']} articles in {result['stories']} stories "
                   f"({result['copies']} copies)")
    if do_citations or everything:
        result = analysis.recite(db, citations.outlet_index(config.outlets))
        click.echo(f"citations: {result['citations']} in {result['articles']} articles "
                   f"({result['links']} point at archived articles)")
    if do_stance or everything:
        store.reset_stance(db)
        done = analysis.compute_stances(db, config.narratives)
        counts = store.stance_counts(db)
        click.echo(f"stance: {done} mentions (" + ", ".join(
            f"{counts.get(name, 0)} {name}" for name in ("asserts", "reports", "disputes", "none"))
            + ")")


@cli.command()
@archive_options
@click.argument("narrative")
@click.option("--by", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--since", help="First day (YYYY-MM-DD) to include.")
@click.option("--until", help="Last day (YYYY-MM-DD) to include.")
def timeline(db_path, config_dir, narrative, by, fmt, since, until):
    """Mentions of NARRATIVE per day, week or month: articles, stories and distinct outlets.

    An article is dated by its published date, else by when we first saw it. A story
    counts syndicated copies and near-duplicates of one text once.
    """
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    db = store.open_db(db_path)
    if store.get_narrative(db, narrative) is None:
        known = ", ".join(store.narrative_ids(db))
        raise click.ClickException(f"unknown narrative {narrative!r} (known: {known or 'none'})")
    rows = store.narrative_timeline(db, narrative, by, since, until)
    output = format_rows(rows, fmt, [by, "articles", "stories", "outlets"])
    if output:
        click.echo(output)


@cli.command()
@archive_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@captures_option
def status(db_path, config_dir, fmt, captures):
    """Is collection working? Rows per table, mentions per narrative, the
    scheduler and each job's next run, the last crawl runs, and failing outlets.

    Next run times are estimated from schedule.yml and the run history (the
    running scheduler adds up to each job's jitter). Failing outlets are those
    with fetch errors since their last stored article (the outlet_health view).
    """
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    report = status_report(db_path, config_dir, captures_path(db_path, captures))
    scheduler, schedule_error = report["scheduler"], report.get("schedule_error")
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(format_rows([{"table": k, "rows": v} for k, v in report["tables"].items()],
                           "table"))
    click.echo("\nNarratives")
    click.echo(format_rows(report["narratives"], "table") if report["narratives"]
               else "  (none yet)")
    if scheduler["running"]:
        holder = ", ".join(f"{k} {scheduler[k]}" for k in ("pid", "host", "since")
                           if scheduler.get(k))
        click.echo(f"\nSchedule (scheduler running: {holder})")
    else:
        click.echo("\nSchedule (scheduler not running: start it with `narrative-archive "
                   "schedule` or `up`)")
    if schedule_error:
        click.echo(f"  schedule.yml: {schedule_error}")
    elif report["schedule"]:
        click.echo(format_rows(report["schedule"], "table",
                               ["job", "trigger", "next_run", "last_run", "last_status",
                                "last_started_at"]))
    else:
        click.echo("  (no jobs in schedule.yml)")
    click.echo("\nLast runs")
    runs = [{"id": run["id"], "job": run["job"] or "(manual)", "status": run["status"],
             "started_at": run["started_at"], "took": took(run),
             "pages": run["pages"], "new": run["new_articles"],
             "updated": run["updated_articles"], "mentions": run["mentions"],
             "errors": run["errors"], "message": one_line(run["message"], 50)}
            for run in report["last_runs"]]
    click.echo(format_rows(runs, "table") if runs else "  (none yet)")
    click.echo("\nFailing outlets (errors since their last stored article)")
    failing = [{**row, "last_error": one_line(row.get("last_error"), 50)}
               for row in report["failing_outlets"]]
    click.echo(format_rows(failing, "table") if failing else "  (none)")
    held = report["captures"]
    click.echo(f"\nCaptures: {held['captures']:,} records ({held['pruned']:,} pruned) in "
               f"{held['dir']}: {held['files_on_disk']:,} WARC files, "
               f"{held['bytes_on_disk'] / 1e6:,.1f} MB on disk")


def service_options(command):
    """--grace and --max-crawls, shared by `schedule` and `up`."""

    command = click.option(
        "--max-crawls", type=click.IntRange(1), default=2, show_default=True,
        help="Crawls running at the same time; other due jobs wait their turn.")(command)
    return click.option(
        "--grace", type=click.FloatRange(0), default=30, show_default=True,
        help="Seconds a running crawl gets to close its run after SIGTERM (on stop or "
        "timeout) before it is killed.")(command)


def run_service(db_path, config_dir, grace, max_crawls, companions=None, log=None) -> int:
    """Prepare the archive, then run the scheduler (and companions) until a stop signal."""
    from narrative_archive.scheduler.lock import SchedulerAlreadyRunning
    from narrative_archive.scheduler.log import EventLog
    from narrative_archive.scheduler.service import run_scheduler

    log = log or EventLog()
    config = read_config(config_dir, warn=lambda text: log("config_warning", message=text))

    def prepare():  # once this scheduler holds the archive: init
        init_archive(db_path, config, echo=lambda text: log("init", message=text)).close()

    try:
        return run_scheduler(db_path, config_dir, config.jobs, grace=grace,
                             max_crawls=max_crawls, log=log, prepare=prepare,
                             companions=companions)
    except SchedulerAlreadyRunning as error:
        raise click.ClickException(str(error)) from error


@cli.command()
@archive_options
@service_options
@capture_options
def schedule(db_path, config_dir, grace, max_crawls, captures, capture):
    """The scheduler service, in the foreground: runs the jobs of schedule.yml.

    Each run is a `narrative-archive crawl` subprocess recorded in crawl_runs
    (running, ok, failed, timeout or abandoned). A job never overlaps itself;
    an interval job runs soon after start-up unless it ran within its interval,
    then carries on from its last run. SIGTERM or Ctrl-C stops it cleanly:
    running crawls get --grace seconds to close, then the scheduler exits 0.
    One line per event on stderr. systemd and Docker run this command.
    --captures and --no-capture apply to every crawl it starts.
    """
    pass_capture_to_crawls(captures, capture)
    sys.exit(run_service(db_path, config_dir, grace, max_crawls))


@cli.command()
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


@cli.command()
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
@captures_option
def serve(db_path, config_dir, host, port, metadata_path, settings, cors, print_command,
          captures):
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
    try:
        serve_module.check_archive(db_path)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Serving {db_path} at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    sys.exit(serve_module.serve(db_path, host, port, **options))


@cli.command()
@archive_options
@click.argument("spiders", nargs=-1, metavar="[SPIDER]...",
                type=click.Choice(SPIDERS))
@click.option("--outlet", "outlet_ids", multiple=True, metavar="ID",
              help="Only this outlet (repeatable). search: only results on its domains.")
@click.option("--narrative", "narrative_ids", multiple=True, metavar="ID",
              help="search: only this narrative (repeatable). Every article is still "
              "matched against all narratives.")
@click.option("--since", metavar="WHEN", help="Only entries from then on: a date (2024-05-01), "
              "a time, or a duration back from now (6h, 3d). Defaults: sitemaps 2d, search 3d.")
@click.option("--until", metavar="WHEN", help="Only entries up to then (with --since: backfill).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="At most N article pages per outlet (search: per narrative).")
@click.option("-s", "--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting, as for `scrapy crawl` (repeatable), "
              "e.g. -s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0.")
@click.option("--progress/--no-progress", default=None,
              help="Live counters on stderr (default: when it is a terminal).")
@click.option("--run-id", type=int, hidden=True,
              help="Report into this existing crawl_runs row (the scheduler creates it).")
@click.option("--supervisor", type=int, hidden=True, metavar="PID",
              help="The scheduler that started this crawl: stop when it dies.")
@click.option("--grace", type=click.FloatRange(0), default=30, hidden=True,
              help="With --supervisor: seconds to close gracefully before being killed.")
@capture_options
def crawl(db_path, config_dir, spiders, outlet_ids, narrative_ids, since, until, limit,
          scrapy_settings, progress, run_id, supervisor, grace, captures, capture):
    """Run spiders now: discover, fetch and extract articles into the archive.

    SPIDER is feeds (RSS/Atom), sitemaps (news sitemaps, by date), search
    (GDELT and news-search RSS, per narrative) or revisit (stored articles that
    mention a narrative, fetched again when due: edits, moves, takedowns); all
    four, one after another, when none is given. Every article from a
    configured outlet is stored; a search result only when a narrative matches
    it. Each spider's run is recorded in crawl_runs, with every failure in
    crawl_errors. Exits 1 only when nothing at all could be fetched. Ctrl-C
    stops gracefully. Every response is captured as WARC into --captures (see
    Evidence); a captures dir that cannot be used stops the crawl before
    anything is fetched.
    """
    from narrative_archive.crawl import run as crawling

    def start():
        return crawling.run_crawl(
            spiders, db_path=db_path, config_dir=config_dir, outlets=outlet_ids,
            narratives=narrative_ids, since=since, until=until, limit=limit,
            settings=crawling.parse_settings(scrapy_settings), run_id=run_id,
            progress=progress, supervisor=supervisor, grace=grace, captures=captures,
            capture=capture,
        )

    crawl_and_exit(start, db_path)


def crawl_and_exit(start, db_path) -> None:
    """Run a crawl (`start()` returns its runs): config and argument errors become click
    errors; then the summary, and the exit code the crawl earned."""
    from narrative_archive.capture.warc import CaptureDirError
    from narrative_archive.crawl import run as crawling

    try:
        runs = start()
    except (ConfigError, CaptureDirError) as error:
        raise click.ClickException(str(error)) from error
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    crawling.print_summary(runs, db_path)
    crawling.exit_now(crawling.exit_code(runs))


@cli.command()
@archive_options
@click.argument("narrative_ids", nargs=-1, metavar="[NARRATIVE]...")
@click.option("--since", required=True, metavar="DATE",
              help="First day of the range (2017-01-01), or a time.")
@click.option("--until", required=True, metavar="DATE", help="Last day of the range (inclusive).")
@click.option("--source", type=click.Choice(["wayback", "commoncrawl", "mediacloud", "all"]),
              help="Where to look. Default: wayback, plus mediacloud when "
              "NARRATIVE_ARCHIVE_MEDIACLOUD_KEY is set.")
@click.option("--outlet", "outlet_ids", multiple=True, metavar="ID",
              help="Only this outlet (repeatable; default: all configured outlets).")
@click.option("--all-urls", is_flag=True, help="List every HTML capture of the outlets in the "
              "range, not only URLs carrying the narratives' terms (for outlets whose URLs are "
              "ids only). Warns with the index's size first: it can be a great many.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="At most N captures fetched per outlet.")
@click.option("-s", "--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting (repeatable), e.g. -s NARRATIVE_ARCHIVE_WAYBACK_URL=URL.")
@click.option("--progress/--no-progress", default=None,
              help="Live counters on stderr (default: when it is a terminal).")
def backfill(db_path, config_dir, narrative_ids, since, until, source, outlet_ids, all_urls,
             limit, scrapy_settings, progress):
    """Fill the archive from web archives: the outlets' articles of a date range.

    For each outlet, lists archived copies from the Wayback Machine, Common
    Crawl or Media Cloud, keeps those whose URL carries a term of the
    NARRATIVEs (all of them by default), fetches each once and feeds it through
    extract, store and match, like a crawl. Each article keeps its original URL
    and where its copy came from (archive_source, archive_url, archived_at).
    Resumable: run it again after a stop and it goes on where it stopped.
    """
    from narrative_archive.crawl import run as crawling
    from narrative_archive.spiders.backfill import sources_for

    def start():
        overrides = crawling.parse_settings(scrapy_settings)
        key = crawling.scrapy_settings(db_path, config_dir, overrides).get(
            "NARRATIVE_ARCHIVE_MEDIACLOUD_KEY")
        sources_for(source, key)  # an unknown source, or mediacloud without a key: exit 2
        if source in (None, "all") and not key:
            click.echo("mediacloud: skipped (no API key; set NARRATIVE_ARCHIVE_MEDIACLOUD_KEY)",
                       err=True)
        return crawling.run_crawl(
            ["backfill"], db_path=db_path, config_dir=config_dir, outlets=outlet_ids,
            narratives=narrative_ids, since=since, until=until, limit=limit,
            settings=overrides, progress=progress,
            spider_args={"source": source or "", "all_urls": all_urls},
        )

    crawl_and_exit(start, db_path)


@cli.command()
@archive_options
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The URL the page was fetched from (default: the file's file:// "
              "URL, so the canonical URL comes from the page).")
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl"]), default="json",
              show_default=True, help="json: one object (a list for several files); "
              "jsonl: one object per line, in order, with the file name.")
def extract(db_path, config_dir, files, url, fmt):
    """Extract saved pages: what the pipeline would store for each.

    Prints title, text, authors, published_at and modified_at (UTC), language,
    canonical URL, outbound links, content_hash and any warnings. Exits 1 when
    a file has no article (its entry then has "error").
    """
    from narrative_archive.extract.article import extract_files

    results = extract_files(files, url=url)
    if fmt == "jsonl":
        for result in results:
            click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(json.dumps(results[0] if len(results) == 1 else results,
                              indent=2, ensure_ascii=False))
    if any("error" in result for result in results):
        sys.exit(1)


def pick_narrative(config: Config, narrative_id: str):
    try:
        return config.narrative(narrative_id)
    except KeyError:
        known = ", ".join(n.id for n in config.narratives)
        raise click.BadParameter(f"unknown narrative {narrative_id!r} (known: {known})",
                                 param_hint="NARRATIVE") from None


@cli.command()
@archive_options
@click.argument("narrative_id", metavar="[NARRATIVE]", required=False)
def check(db_path, config_dir, narrative_id):
    """Run narratives against their own examples (narratives.yml `examples:`).

    Each narrative's query (main query OR language variants, as the archive
    matches it) runs over its match and no_match examples in an in-memory
    index with the archive's tokenizer. Prints precision and recall per
    narrative and language, then every failing example. Exits 1 on any
    failure. The archive is not touched.
    """
    from narrative_archive.match.coverage import check_narrative, format_report

    config = read_config(config_dir)
    selected = [pick_narrative(config, narrative_id)] if narrative_id else config.narratives
    failed = False
    for narrative in selected:
        report = check_narrative(narrative)
        failed = failed or not report.ok
        for line in format_report(report):
            click.echo(line)
    sys.exit(1 if failed else 0)


@cli.command("near-misses")
@archive_options
@click.argument("narrative_id", metavar="NARRATIVE")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def near_misses(db_path, config_dir, narrative_id, limit, fmt):
    """Archived articles that almost match NARRATIVE: what recall is lost.

    Lists articles holding one of the narrative's actor terms and one of its
    target terms (its `lexicon:` in narratives.yml, every language) that its
    query does not match, newest first, with the passage where those terms
    are closest. Promote a form you find there into the query.
    """
    from narrative_archive.match import coverage

    config = read_config(config_dir)
    narrative = pick_narrative(config, narrative_id)
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    try:
        rows = coverage.near_misses(store.open_db(db_path), narrative, limit)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['dated_at'] or '':.10}  {row['outlet_id'] or ''}  {row['url']}")
        click.echo(f"    {row['title'] or ''}")
        click.echo(f"    {' '.join((row['passage'] or '').split())}")
    if not rows:
        click.echo("no near misses")


@cli.command()
@archive_options
@click.argument("narrative_id", metavar="NARRATIVE")
@click.option("--language", required=True, metavar="XX",
              help="ISO 639-1 code of a language in the narrative's lexicon.")
def suggest(db_path, config_dir, narrative_id, language):
    """Print a draft query for NARRATIVE in another language, from its lexicon.

    The draft asks for a target term and an actor term near an act term. It is
    for a human to review, test with examples and `check`, and paste under
    `queries:`; nothing is changed.
    """
    from narrative_archive.match import coverage

    narrative = pick_narrative(read_config(config_dir), narrative_id)
    try:
        click.echo(coverage.suggest(narrative, language))
    except ValueError as error:
        raise click.ClickException(str(error)) from error


# --- evidence: WARC captures ---------------------------------------------------------------


def _when(value: str | None, option: str, end: bool = False) -> str | None:
    from narrative_archive.times import iso, parse_when

    try:
        moment = parse_when(value, end=end)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from error
    return iso(moment) if moment else None


def _existing_archive(db_path: str):
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    return store.open_db(db_path)


@cli.command()
@archive_options
@captures_option
@click.option("--since", metavar="WHEN", help="Only articles captured from then on: a date, "
              "a time, or a duration back from now (3d).")
@click.option("--outlet", "outlet_ids", multiple=True, metavar="ID",
              help="Only this outlet's articles (repeatable).")
def reextract(db_path, config_dir, captures, since, outlet_ids):
    """Extract articles again from their stored captures, fetching nothing.

    The latest capture of each article is read from its WARC file and extracted
    with the current extractor. When the title or text differ, the article gets
    a new version (origin 'reextract', with the extractor's version) and is
    re-matched against every narrative. An unreadable record is skipped with an
    error naming its file and offset. The run is a crawl_runs row (spider
    'reextract'). Exits 1 when records were unreadable and none could be read.
    """
    from narrative_archive.ingest.reextract import reextract as run

    config = read_config(config_dir)
    unknown = [o for o in outlet_ids if o not in {outlet.id for outlet in config.outlets}]
    if unknown:
        raise click.BadParameter(f"unknown outlet(s): {', '.join(unknown)}", param_hint="--outlet")
    db = _existing_archive(db_path)
    narratives_module.sync_config(db, config)
    result = run(db, config, captures_path(db_path, captures), _when(since, "--since"),
                 outlet_ids)
    click.echo(f"reextract (run {result['run_id']}): {result['pages']} captures extracted, "
               f"{result['updated']} articles changed, {result['mentions']} mentions of "
               f"changed articles, {result['errors']} errors")
    if result["status"] == "failed":
        sys.exit(1)


@cli.command("export-wacz")
@archive_options
@captures_option
@click.argument("narrative_id", metavar="NARRATIVE")
@click.argument("out", metavar="OUT.wacz", type=click.Path(dir_okay=False))
@click.option("--since", metavar="WHEN", help="Only captures fetched from then on.")
@click.option("--until", metavar="WHEN", help="Only captures fetched up to then.")
def export_wacz(db_path, config_dir, captures, narrative_id, out, since, until):
    """Package the captures of every article that mentions NARRATIVE as a WACZ.

    Each article capture (response and request records, byte for byte) goes
    into one WACZ file that ReplayWeb.page (https://replayweb.page) opens; the
    article pages are its pages. Unreadable records are skipped and listed.
    """
    from narrative_archive.capture.warc import CaptureError
    from narrative_archive.capture.warc import export_wacz as package

    db = _existing_archive(db_path)
    row = store.get_narrative(db, narrative_id)
    if row is None:
        known = ", ".join(store.narrative_ids(db))
        raise click.BadParameter(f"unknown narrative {narrative_id!r} (known: {known or 'none'})",
                                 param_hint="NARRATIVE")
    rows = store.narrative_captures(db, narrative_id, _when(since, "--since"),
                                    _when(until, "--until", end=True))
    if not rows:
        raise click.ClickException(f"no captures of articles mentioning {narrative_id}")
    try:
        summary = package([(r["warc_file"], r["offset"], r["length"]) for r in rows],
                          captures_path(db_path, captures), out, row["title"], row["description"],
                          page_titles={r["url"]: r["title"] for r in rows if r["title"]})
    except CaptureError as error:
        raise click.ClickException(str(error)) from error
    for problem in summary["problems"]:
        click.echo(f"skipped: {problem}", err=True)
    click.echo(f"{out}: {summary['records']} captures, {summary['pages']} pages")


@cli.command("prune-captures")
@archive_options
@captures_option
@click.option("--unmatched", is_flag=True, required=True,
              help="Prune captures of what matches no narrative (required: the only kind).")
@click.option("--older-than", default="30d", show_default=True, metavar="DURATION",
              help="Only captures fetched longer ago than this (e.g. 30d, 12h).")
@click.option("--dry-run", is_flag=True, help="Say what would be pruned; change nothing.")
def prune_captures(db_path, config_dir, captures, unmatched, older_than, dry_run):
    """Free disk: prune captures of articles that mention no narrative.

    Captures fetched longer ago than --older-than that belong to no article
    mentioning a narrative (feeds, sitemaps and failed fetches included) are
    marked pruned (their rows stay, with pruned_at); a WARC file is deleted
    once every capture in it is pruned. Files are never rewritten.
    """
    from datetime import UTC, datetime, timedelta

    from narrative_archive.capture.warc import CaptureError, safe_path
    from narrative_archive.times import iso, parse_duration

    seconds = 0 if older_than.strip().rstrip("smhdw") in ("0", "") else parse_duration(older_than)
    if seconds is None or not older_than.strip():
        raise click.BadParameter(f"not a duration: {older_than!r}", param_hint="--older-than")
    before = iso(datetime.now(UTC) - timedelta(seconds=seconds))
    db = _existing_archive(db_path)
    rows = store.unmatched_captures(db, before)
    size = sum(r["length"] for r in rows)
    if dry_run:
        click.echo(f"would prune {len(rows)} captures ({size:,} bytes of records)")
        return
    files = store.prune_captures(db, [r["id"] for r in rows])
    directory = captures_path(db_path, captures)
    freed = 0
    for name in files:
        try:
            path = safe_path(directory, name)
            freed += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        except (CaptureError, OSError) as error:
            click.echo(f"not deleted: {name}: {error}", err=True)
    click.echo(f"pruned {len(rows)} captures; deleted {len(files)} WARC files "
               f"({freed:,} bytes)")


@cli.command("import")
@archive_options
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "news-please", "csv"]),
              help="The files' format (default: guessed from each file's extension and "
              "first record).")
@click.option("--outlet", "outlet_id", metavar="ID",
              help="Every article belongs to this configured outlet (default: by domain).")
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Articles per transaction.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when it is a terminal).")
def import_(db_path, config_dir, files, fmt, outlet_id, batch_size, progress):
    """Bring existing collections into the archive: JSON lines of the archive's
    own article fields, news-please's JSON output (one object per file or per
    line) or CSV with a header row.

    Each article goes to the configured outlet owning its domain (an unknown
    domain gets an outlet row of its own), is upserted on its canonical URL
    (via 'import') and, at the end, every narrative is matched once over the
    whole archive. Text that is HTML gets its main text extracted. Bad rows
    (broken JSON, no URL or text, bad dates, duplicates in a file) are reported
    as FILE:LINE and skipped; the exit status is then 1. Batches are
    transactions: an interrupted import keeps whole batches and running it
    again resumes without duplicates. Recorded in crawl_runs as spider 'import'.
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from narrative_archive.ingest import importer

    config = read_config(config_dir)
    db = store.open_db(db_path)
    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    bar = Progress(TextColumn("importing"), BarColumn(), DownloadColumn(),
                   TextColumn("{task.fields[counts]}"), TimeRemainingColumn(),
                   console=console, disable=not show)
    task = bar.add_task("import", total=importer.total_bytes(files), counts="")
    try:
        with bar:
            summary = importer.import_files(
                db, files, config, fmt=fmt, outlet_id=outlet_id, batch_size=batch_size,
                progress=lambda n: bar.advance(task, n),
                on_problem=lambda problem: click.echo(f"skipped {problem}", err=True),
                on_batch=lambda s: bar.update(task, counts=f"{s.new} new, {s.skipped} skipped"),
            )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    except KeyboardInterrupt:
        click.echo("Interrupted: whole batches are kept; run the same import again to "
                   "resume.", err=True)
        sys.exit(130)
    click.echo(importer.describe(summary))
    for narrative_id, result in summary.mentions.items():
        click.echo(f"narrative {narrative_id}: {describe_rematch(result)}")
    if summary.unconfigured_outlets:
        click.echo(f"{len(summary.unconfigured_outlets)} domains are not in outlets.yml: their "
                   "articles went to an outlet of their own (configured 0), e.g. "
                   + ", ".join(summary.unconfigured_outlets[:5]))
    if summary.skipped:
        sys.exit(1)


def main():
    cli(prog_name="narrative-archive")


if __name__ == "__main__":
    sys.exit(main())
