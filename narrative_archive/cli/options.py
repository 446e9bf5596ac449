"""Options and helpers the commands share: archive and capture options, reading the config."""

from __future__ import annotations

from pathlib import Path

import click

from narrative_archive import store
from narrative_archive.config import Config, ConfigError, load_config
from narrative_archive.crawl.settings_check import check_setting
from narrative_archive.match import narratives as narratives_module
from narrative_archive.paths import DEFAULT_DB


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

    directory = captures_dir(db_path, captures)
    assert directory is not None  # None only when capture is off
    return directory


def pass_capture_to_crawls(captures: str | None, capture: bool) -> None:
    """Scheduled crawls (and Datasette under `up`) inherit the environment: say it there."""
    import os

    if captures:
        os.environ["NARRATIVE_ARCHIVE_CAPTURES"] = str(Path(captures).absolute())
    os.environ["NARRATIVE_ARCHIVE_CAPTURE"] = "1" if capture else "0"


def read_config(config_dir: str | None, warn=None) -> Config:
    """Load the config or exit 1 with the error naming file, entry and line; warnings to stderr."""
    try:
        config = load_config(config_dir, check_setting=check_setting)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    for warning in config.warnings:
        (warn or (lambda text: click.echo(f"Warning: {text}", err=True)))(warning)
    return config


def service_options(command):
    """--grace and --max-crawls, shared by `schedule` and `up`."""

    command = click.option(
        "--max-crawls", type=click.IntRange(1), default=2, show_default=True,
        help="Crawls running at the same time; other due jobs wait their turn.")(command)
    return click.option(
        "--grace", type=click.FloatRange(0), default=30, show_default=True,
        help="Seconds a running crawl gets to close its run after SIGTERM (on stop or "
        "timeout) before it is killed.")(command)


def when_value(value: str | None, option: str, end: bool = False) -> str | None:
    from narrative_archive.times import iso, parse_when

    try:
        moment = parse_when(value, end=end)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from error
    return iso(moment) if moment else None


def existing_archive(db_path: str):
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    return store.open_db(db_path)


def pick_narrative(config: Config, narrative_id: str):
    try:
        return config.narrative(narrative_id)
    except KeyError:
        known = ", ".join(n.id for n in config.narratives)
        raise click.BadParameter(f"unknown narrative {narrative_id!r} (known: {known})",
                                 param_hint="NARRATIVE") from None


def crawl_and_exit(start, db_path) -> None:
    """Run a crawl (`start()` returns its runs): config and argument errors become click
    errors; then the summary, and the exit code the crawl earned."""
    from narrative_archive.capture import CaptureDirError
    from narrative_archive.crawl import run as crawling
    from narrative_archive.crawl.report import print_summary

    try:
        runs = start()
    except (ConfigError, CaptureDirError) as error:
        raise click.ClickException(str(error)) from error
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    print_summary(runs, db_path)
    crawling.exit_now(crawling.exit_code(runs))


def describe_rematch(result: dict) -> str:
    if "error" in result:
        return f"rematch failed: {result['error']}"
    return f"{result['matched']} mentions (+{result['added']} -{result['removed']})"


def init_archive(db_path: str, config: Config, echo=click.echo):
    """Open (and migrate) the archive, then narratives.sync_config, saying what changed."""
    db = store.open_db(db_path)
    for narrative_id, result in narratives_module.sync_config(db, config).items():
        version = narratives_module.narrative_version(db, narrative_id)
        echo(f"narrative {narrative_id} v{version}: {describe_rematch(result)}")
    return db


def run_service(db_path, config_dir, grace, max_crawls, companions=None, log=None) -> int:
    """Prepare the archive, then run the scheduler (and companions) until a stop signal."""
    from narrative_archive.scheduler.lock import SchedulerAlreadyRunning
    from narrative_archive.scheduler.log import EventLog
    from narrative_archive.scheduler.service import run_scheduler

    log = log or EventLog()
    config = read_config(config_dir, warn=lambda text: log("config_warning", message=text))

    def prepare():  # once this scheduler holds the archive: init
        init_archive(db_path, config, echo=lambda text: log("init", message=text)).close()

    from narrative_archive.cli.fleet import fleet_service

    # schedule.yml's `nodes:`: jobs go to Scrapyd nodes, batches are ingested beside
    runner, fleet_companions = fleet_service(db_path, config_dir, log)
    try:
        return run_scheduler(db_path, config_dir, config.jobs, grace=grace,
                             max_crawls=max_crawls, log=log, prepare=prepare,
                             companions={**fleet_companions, **(companions or {})},
                             runner=runner)
    except SchedulerAlreadyRunning as error:
        raise click.ClickException(str(error)) from error
