"""Narratives' own checks: check, near-misses, suggest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from narrative_archive import store
from narrative_archive.cli.options import archive_options, pick_narrative, read_config


@click.command()
@archive_options
@click.argument("narrative_id", metavar="[NARRATIVE]", required=False)
def check(db_path, config_dir, narrative_id):
    """Run narratives against their own examples (narratives.yml `examples:`).

    Each narrative's query (main query OR language variants, as the archive
    matches it) runs over its match and no_match examples in an in-memory
    index with the archive's tokenizer. Prints precision and recall per
    narrative and language, then every failing example, then warnings (a *
    inside a quoted phrase, which FTS5 reads as no prefix). Exits 1 on any
    failure; a warning alone does not fail. The archive is not touched.
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


@click.command("near-misses")
@archive_options
@click.argument("narrative_id", metavar="NARRATIVE")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--encoder", "use_encoder", is_flag=True,
              help="Rank them by the learned narrative layer (the optional extra 'encoder').")
@click.option("--scan", type=click.IntRange(min=1), default=200, show_default=True,
              help="With --encoder: how many of the newest near misses it reads.")
def near_misses(db_path, config_dir, narrative_id, limit, fmt, use_encoder, scan):
    """Archived articles that almost match NARRATIVE: what recall is lost.

    Lists articles holding one of the narrative's actor terms and one of its
    target terms (its `lexicon:` in narratives.yml, every language) that its
    query does not match, newest first, with the passage where those terms
    are closest. Promote a form you find there into the query. --encoder reads
    the newest --scan of them with a layer trained on labelled real coverage
    (pip install 'narrative-archive[encoder]'; ~0.3 s of CPU an article) and
    lists them most likely first, each with its probability, "likely" at or
    above the narrative's threshold, and the sentence that weighed most.
    """
    from narrative_archive.analysis.encoder import EncoderMissing
    from narrative_archive.match import coverage

    config = read_config(config_dir)
    narrative = pick_narrative(config, narrative_id)
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    try:
        db = store.open_db(db_path)
        rows = (coverage.ranked_near_misses(db, narrative, scan)[:limit] if use_encoder
                else coverage.near_misses(db, narrative, limit))
    except (ValueError, EncoderMissing) as error:
        raise click.ClickException(str(error)) from error
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['dated_at'] or '':.10}  {row['outlet_id'] or ''}  {row['url']}")
        click.echo(f"    {row['title'] or ''}")
        if use_encoder:
            click.echo(f"    p={row['probability']:.2f}{'  likely' if row['likely'] else ''}:"
                       f" {' '.join(row['sentence'].split())}")
        click.echo(f"    {' '.join((row['passage'] or '').split())}")
    if not rows:
        click.echo("no near misses")


@click.command()
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
