"""Captures and collections: reextract, export-wacz, prune-captures, import."""

from __future__ import annotations

import sys

import click

from narrative_archive import store
from narrative_archive.cli.options import (
    archive_options,
    captures_option,
    captures_path,
    describe_rematch,
    existing_archive,
    read_config,
    when_value,
)
from narrative_archive.match import narratives as narratives_module


@click.command()
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
    db = existing_archive(db_path)
    narratives_module.sync_config(db, config)
    result = run(db, config, captures_path(db_path, captures), when_value(since, "--since"),
                 outlet_ids)
    click.echo(f"reextract (run {result['run_id']}): {result['pages']} captures extracted, "
               f"{result['updated']} articles changed, {result['mentions']} mentions of "
               f"changed articles, {result['errors']} errors")
    if result["status"] == "failed":
        sys.exit(1)


@click.command("export-wacz")
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
    from narrative_archive.capture import CaptureError
    from narrative_archive.capture import export_wacz as package

    db = existing_archive(db_path)
    row = store.get_narrative(db, narrative_id)
    if row is None:
        known = ", ".join(store.narrative_ids(db))
        raise click.BadParameter(f"unknown narrative {narrative_id!r} (known: {known or 'none'})",
                                 param_hint="NARRATIVE")
    rows = store.narrative_captures(db, narrative_id, when_value(since, "--since"),
                                    when_value(until, "--until", end=True))
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


@click.command("prune-captures")
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

    from narrative_archive.capture import CaptureError, safe_path
    from narrative_archive.times import iso, parse_duration

    seconds = 0 if older_than.strip().rstrip("smhdw") in ("0", "") else parse_duration(older_than)
    if seconds is None or not older_than.strip():
        raise click.BadParameter(f"not a duration: {older_than!r}", param_hint="--older-than")
    before = iso(datetime.now(UTC) - timedelta(seconds=seconds))
    db = existing_archive(db_path)
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


@click.command("import")
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
    except importer.DiskFull as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        click.echo("Interrupted: whole batches are kept; run the same import again to "
                   "resume.", err=True)
        sys.exit(130)
    click.echo(importer.describe(summary))
    for narrative_id, result in summary.mentions.items():
        click.echo(f"narrative {narrative_id}: {describe_rematch(result)}")
    if summary.unconfigured_outlets:
        count = len(summary.unconfigured_outlets)
        click.echo(f"{count} {'domain is' if count == 1 else 'domains are'} not in outlets.yml: their "
                   "articles went to an outlet of their own (configured 0), e.g. "
                   + ", ".join(summary.unconfigured_outlets[:5]))
    if summary.skipped:
        sys.exit(1)
