"""The narrative-archive command line: thin, it parses options and calls functions."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from narrative_archive import narratives as narratives_module
from narrative_archive import store
from narrative_archive.config import Config, ConfigError, load_config
from narrative_archive.timeline import format_rows, narrative_timeline


def archive_options(command):
    """--db and --config, shared by every command."""

    @click.option(
        "--db", "db_path", default="archive.db", show_default=True, envvar="NARRATIVE_ARCHIVE_DB",
        type=click.Path(dir_okay=False), help="The archive (SQLite). Env: NARRATIVE_ARCHIVE_DB.",
    )
    @click.option(
        "--config", "config_dir", default=None, envvar="NARRATIVE_ARCHIVE_CONFIG",
        type=click.Path(file_okay=False), help="Directory whose outlets.yml, narratives.yml and "
        "schedule.yml replace the defaults. Env: NARRATIVE_ARCHIVE_CONFIG.",
    )
    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapped


def read_config(config_dir: str | None) -> Config:
    """Load the config or exit 2 with the error naming file, entry and line."""
    try:
        return load_config(config_dir)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def prepare_archive(db_path: str, config: Config, echo=click.echo):
    """Migrate the archive, store outlets and narratives, rematch changed narratives."""
    db = store.open_db(db_path)
    store.save_outlets(db, config.outlets)
    changed = narratives_module.save_narratives(db, config.narratives)
    for narrative_id in changed:
        result = narratives_module.rematch(db, config.narrative(narrative_id))
        version = narratives_module.narrative_version(db, narrative_id)
        echo(f"narrative {narrative_id} v{version}: {result['matched']} mentions "
             f"(+{result['added']} -{result['removed']})")
    return db


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
    config = read_config(config_dir)
    db = prepare_archive(db_path, config)
    click.echo(
        f"{db_path}: schema v{store.schema_version(db)}, {len(config.outlets)} outlets, "
        f"{len(config.narratives)} narratives"
    )


@cli.command()
@archive_options
@click.option("--narrative", "narrative_ids", multiple=True, help="Only this narrative (repeatable).")
def rematch(db_path, config_dir, narrative_ids):
    """Re-evaluate narratives over the whole archive, without re-crawling.

    Adds mentions a query now matches, removes those it no longer matches, and
    records the narrative version on each. Run it after editing narratives.yml.
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
    for narrative in selected:
        result = narratives_module.rematch(db, narrative)
        version = narratives_module.narrative_version(db, narrative.id)
        click.echo(f"{narrative.id} v{version}: {result['matched']} mentions "
                   f"(+{result['added']} -{result['removed']})")


@cli.command()
@archive_options
@click.argument("narrative")
@click.option("--by", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--since", help="First day (YYYY-MM-DD) to include.")
@click.option("--until", help="Last day (YYYY-MM-DD) to include.")
def timeline(db_path, config_dir, narrative, by, fmt, since, until):
    """Mentions of NARRATIVE per day, week or month: articles and distinct outlets.

    An article is dated by its published date, else by when we first saw it.
    """
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    db = store.open_db(db_path)
    if not db["narratives"].count_where("id = ?", [narrative]):
        known = ", ".join(r[0] for r in db.execute("SELECT id FROM narratives ORDER BY id"))
        raise click.ClickException(f"unknown narrative {narrative!r} (known: {known or 'none'})")
    rows = narrative_timeline(db, narrative, by, since, until)
    output = format_rows(rows, fmt, [by, "articles", "outlets"])
    if output:
        click.echo(output)


@cli.command()
@archive_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def status(db_path, config_dir, fmt):
    """Rows per table, mentions per narrative, the last crawl runs."""
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    db = store.open_db(db_path)
    report = {
        "tables": store.table_counts(db),
        "narratives": list(db.query(
            "SELECT n.id AS narrative, n.version, count(m.article_id) AS mentions,"
            " count(DISTINCT a.outlet_id) AS outlets,"
            " min(coalesce(a.published_at, a.first_seen_at)) AS first,"
            " max(coalesce(a.published_at, a.first_seen_at)) AS last"
            " FROM narratives n LEFT JOIN mentions m ON m.narrative_id = n.id"
            " LEFT JOIN articles a ON a.id = m.article_id GROUP BY n.id ORDER BY n.id"
        )),
        "last_runs": store.last_runs(db),
    }
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(format_rows([{"table": k, "rows": v} for k, v in report["tables"].items()],
                           "table"))
    for title, key in (("Narratives", "narratives"), ("Last runs", "last_runs")):
        click.echo(f"\n{title}")
        click.echo(format_rows(report[key], "table") if report[key] else "  (none yet)")


def not_yet(name: str, issue: str):
    def command(**_):
        raise click.ClickException(f"`{name}` is not there yet ({issue}).")

    return command


for _name, _issue, _help in (
    ("crawl", "issue #3: spiders", "Run spiders now (not there yet)."),
    ("extract", "issue #3: extraction", "Extract one saved page (not there yet)."),
    ("schedule", "issue #4: scheduler", "The scheduler service (not there yet)."),
    ("serve", "issue #5: Datasette", "Serve the archive with Datasette (not there yet)."),
    ("up", "issues #4 and #5", "init + schedule + serve (not there yet)."),
):
    if _name not in cli.commands:
        cli.command(_name, help=_help, context_settings={"ignore_unknown_options": True,
                                                         "allow_extra_args": True})(
            archive_options(not_yet(_name, _issue)))


def main():
    cli(prog_name="narrative-archive")


if __name__ == "__main__":
    sys.exit(main())
