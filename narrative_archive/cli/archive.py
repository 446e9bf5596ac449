"""Commands over the archive itself: init, rematch, layer, analyse, timeline, status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from narrative_archive import store
from narrative_archive.cli.options import (
    archive_options,
    captures_option,
    captures_path,
    describe_rematch,
    init_archive,
    read_config,
)
from narrative_archive.match import narratives as narratives_module
from narrative_archive.publish.tables import format_rows
from narrative_archive.scheduler.status import one_line, status_report, took


@click.command()
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


@click.command()
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
        selected = tuple(n for n in config.narratives if n.id in narrative_ids)
    results = narratives_module.rematch_many(db, selected, configured=config.narratives)
    for narrative_id, result in results.items():
        version = narratives_module.narrative_version(db, narrative_id)
        click.echo(f"{narrative_id} v{version}: {describe_rematch(result)}")
    if any("error" in result for result in results.values()):
        raise SystemExit(1)


@click.command()
@archive_options
@click.option("--stories", "do_stories", is_flag=True, help="Re-cluster articles into stories.")
@click.option("--citations", "do_citations", is_flag=True, help="Re-extract citations.")
@click.option("--stance", "do_stance", is_flag=True, help="Re-classify every mention's stance.")
@click.option("--encoder", "use_encoder", is_flag=True,
              help="Stance read again by the multilingual encoder (the optional extra 'encoder').")
@click.option("--unread", is_flag=True,
              help="With --encoder: only the mentions the encoder has not read yet.")
@click.option("--run-id", type=int, hidden=True,
              help="Report into this existing crawl_runs row (the scheduler creates it).")
def analyse(db_path, config_dir, do_stories, do_citations, do_stance, use_encoder, unread, run_id):
    """Recompute the analysis over the whole archive: stories, citations, stance.

    With no option, all three. --stories re-clusters every article from scratch,
    oldest first, so each story_id is the earliest article of its cluster (ingest
    clusters incrementally). --citations re-extracts links and attributions and
    points them at archived articles. --stance re-classifies every mention with
    the current cue lists (config/stance.yml and the narratives' stance: keys).
    --encoder has each rules' reading read again by a multilingual sentence
    encoder trained on labelled real coverage (pip install
    'narrative-archive[encoder]'; 0.3-0.4 s of CPU a mention): more often right on
    coverage neither reader was tuned on (docs/realtext.md). Mentions matched or
    re-read later get the rules' reading until the next --encoder run; --encoder
    --unread reads only those (the scheduler's `task: stance-encoder` job runs it).
    """
    if unread and not use_encoder:
        raise click.UsageError("--unread goes with --encoder")
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    db = store.open_db(db_path)
    with reported(db, run_id) as said:
        said += _analyse(db, config_dir, do_stories, do_citations, do_stance, use_encoder, unread)


@contextmanager
def reported(db, run_id: int | None) -> Iterator[list[str]]:
    """A scheduled task's run (`run_id`, or none when run by hand): closed `ok` with what the
    task said (the list it fills, joined), or `failed` with the error that stopped it."""
    said: list[str] = []
    try:
        yield said
    except Exception as error:
        if run_id is not None:
            message = error.format_message() if isinstance(error, click.ClickException) else repr(error)
            store.finish_run(db, run_id, "failed", message=message)
        raise
    if run_id is not None:
        store.finish_run(db, run_id, "ok", message="; ".join(said))


def _analyse(db, config_dir, do_stories, do_citations, do_stance, use_encoder, unread) -> list[str]:
    from narrative_archive.analysis import archive as analysis
    from narrative_archive.analysis import citations, encoder

    if use_encoder:
        try:
            encoder.encoder()
        except encoder.EncoderMissing as error:
            raise click.ClickException(str(error)) from error
    config = read_config(config_dir)
    store.save_outlets(db, config.outlets)
    narratives_module.save_narratives(db, config.narratives)
    everything = not (do_stories or do_citations or do_stance)
    said = []
    if do_stories or everything:
        result = analysis.restory(db)
        said.append(f"stories: {result['articles']} articles in {result['stories']} stories "
                    f"({result['copies']} copies)")
        click.echo(said[-1])
    if do_citations or everything:
        result = analysis.recite(db, citations.outlet_index(config.outlets))
        said.append(f"citations: {result['citations']} in {result['articles']} articles "
                    f"({result['links']} point at archived articles)")
        click.echo(said[-1])
    if do_stance or everything:
        store.reset_stance(db, unread_by="encoder" if unread else None)
        done = analysis.compute_stances(db, config.narratives,
                                        actors=narratives_module.actors_of, use_encoder=use_encoder)
        counts = store.stance_counts(db)
        said.append(f"stance: {done} mentions (" + ", ".join(
            f"{counts.get(name, 0)} {name}" for name in ("asserts", "reports", "disputes", "none"))
            + ")")
        click.echo(said[-1])
    return said


@click.command()
@archive_options
@click.option("--limit", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Read at most this many articles, the most recently stored first.")
@click.option("--run-id", type=int, hidden=True,
              help="Report into this existing crawl_runs row (the scheduler creates it).")
def layer(db_path, config_dir, limit, run_id):
    """Match with the learned narrative layer: the mentions the queries miss,
    and the matches it doubts.

    Reads the archive's articles on the Taliban and Afghanistan that it has not
    read yet (in their current text, with the shipped weights) with a layer
    trained on labelled real coverage (pip install 'narrative-archive[encoder]';
    ~0.3 s of CPU an article), and adds a mention wherever it carries a
    narrative whose query missed the article (matched_by 'layer', the sentence
    that weighed most as its snippet), then reads those mentions' stance with
    the encoder. A rematch keeps them. Where a narrative has a veto and the
    layer's probability is below it, the query's mention is set aside (the
    article's page says so) and no rematch or re-crawl of the same text brings
    it back. Narratives it has no threshold or veto for are left to their
    queries (docs/narratives.md). The scheduler's `task: narrative-layer` job
    runs it.
    """
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no archive here; run `narrative-archive init`")
    db = store.open_db(db_path)
    with reported(db, run_id) as said:
        said.append(_layer(db, config_dir, limit))
        click.echo(said[-1])


def _layer(db, config_dir, limit) -> str:
    from narrative_archive.analysis import archive as analysis
    from narrative_archive.analysis.encoder import EncoderMissing
    from narrative_archive.match import encoder, layer

    try:
        reader = encoder.narrative_encoder()
    except EncoderMissing as error:
        raise click.ClickException(str(error)) from error
    config = read_config(config_dir)
    narratives_module.save_narratives(db, config.narratives)
    counts = layer.read_archive(db, config.narratives, limit, reader)
    stances = analysis.compute_stances(db, config.narratives, reader.narratives,
                                       actors=narratives_module.actors_of, use_encoder=True)
    held, aside = store.layer_counts(db), store.set_aside_counts(db)
    return (f"layer: read {counts['read']} articles ({counts['left']} left to read),"
            f" {counts['added']} mentions added, {counts['removed']} removed,"
            f" {counts['set_aside']} set aside, {stances} stances read; it holds "
            + (", ".join(f"{n} {narrative_id}" for narrative_id, n in held.items()) or "none")
            + "; it sets aside "
            + (", ".join(f"{n} {narrative_id}" for narrative_id, n in aside.items()) or "none"))


@click.command()
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


@click.command()
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
    from narrative_archive.cli.fleet import fleet_status

    report.update(fleet_status(db_path, config_dir))  # only with `nodes:` in schedule.yml
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
    if report.get("nodes"):
        click.echo("\nNodes (schedule.yml `nodes:`; batches ingested: "
                   f"{report['batches']['batches']:,}, last at "
                   f"{report['batches']['last_ingested_at'] or 'never'})")
        click.echo(format_rows(report["nodes"], "table"))
    click.echo("\nLast runs")
    runs = [{"id": run["id"], "job": run["job"] or "(manual)", "status": run["status"],
             "started_at": run["started_at"], "took": took(run),
             "pages": run["pages"], "new": run["new_articles"],
             "updated": run["updated_articles"], "mentions": run["mentions"],
             "errors": run["errors"], "skipped": run["skipped"],
             "message": one_line(run["message"], 50)}
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
