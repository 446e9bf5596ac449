"""Collecting: crawl, backfill, and extract (one page, for debugging)."""

from __future__ import annotations

import json
import sys

import click

from narrative_archive.cli.options import archive_options, capture_options, crawl_and_exit
from narrative_archive.config import SPIDERS


@click.command()
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


@click.command()
@archive_options
@click.argument("narrative_ids", nargs=-1, metavar="[NARRATIVE]...")
@click.option("--since", required=True, metavar="DATE",
              help="First day of the range (2017-01-01), or a time.")
@click.option("--until", required=True, metavar="DATE", help="Last day of the range (inclusive).")
@click.option("--source", type=click.Choice(["wayback", "commoncrawl", "mediacloud", "gdelt",
                                            "all"]),
              help="Where to look. Default: wayback (the outlets' URLs, and their archived "
              "feeds and sitemaps), plus mediacloud when NARRATIVE_ARCHIVE_MEDIACLOUD_KEY is "
              "set, plus gdelt when the range reaches into its last three months.")
@click.option("--outlet", "outlet_ids", multiple=True, metavar="ID",
              help="Only this outlet (repeatable; default: all configured outlets).")
@click.option("--all-urls", is_flag=True, help="List every HTML capture of the outlets in the "
              "range, not only URLs carrying the narratives' terms (for outlets whose URLs are "
              "ids only). Warns with the index's size first: it can be a great many.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="At most N captures fetched per outlet.")
@click.option("--mediacloud-collections", metavar="IDS", help="Media Cloud collection ids "
              "(comma-separated) to search within, for narratives that name none of their own "
              "(narratives.yml `mediacloud:`).")
@click.option("--mediacloud-sources", metavar="IDS", help="Media Cloud source ids, likewise.")
@click.option("-s", "--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting (repeatable), e.g. -s NARRATIVE_ARCHIVE_WAYBACK_URL=URL.")
@click.option("--progress/--no-progress", default=None,
              help="Live counters on stderr (default: when it is a terminal).")
def backfill(db_path, config_dir, narrative_ids, since, until, source, outlet_ids, all_urls,
             limit, mediacloud_collections, mediacloud_sources, scrapy_settings, progress):
    """Fill the archive from web archives: the outlets' articles of a date range.

    For each outlet, lists archived copies from the Wayback Machine, Common
    Crawl or Media Cloud, keeps those whose URL carries a term of the
    NARRATIVEs (all of them by default), fetches each once and feeds it through
    extract, store and match, like a crawl. Each article keeps its original URL
    and where its copy came from (archive_source, archive_url, archived_at).
    Resumable: run it again after a stop and it goes on where it stopped.
    Media Cloud searches within collections or sources only: each narrative
    names its own (narratives.yml `mediacloud:`) or --mediacloud-collections
    gives them; without either, Media Cloud is a config error.
    """
    from narrative_archive.crawl import run as crawling
    from narrative_archive.spiders.backfill import sources_for

    def start():
        overrides = crawling.parse_settings(scrapy_settings)
        for option, setting in ((mediacloud_collections, "COLLECTIONS"),
                                (mediacloud_sources, "SOURCES")):
            if option:
                overrides[f"NARRATIVE_ARCHIVE_MEDIACLOUD_{setting}"] = option
        settings = crawling.scrapy_settings(db_path, config_dir, overrides)
        key = settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY")
        chosen = sources_for(source, key)  # an unknown source, mediacloud without a key: exit 2
        if "mediacloud" in chosen:
            check_media_cloud(config_dir, narrative_ids, settings)
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


def check_media_cloud(config_dir, narrative_ids, settings) -> None:
    """Every narrative asked for has Media Cloud collections or sources (ConfigError if not,
    before anything runs); bad ids in the options are a usage error."""
    from narrative_archive.config import load_config, media_cloud_ids, require_media_cloud

    try:
        collections = media_cloud_ids(
            settings.getlist("NARRATIVE_ARCHIVE_MEDIACLOUD_COLLECTIONS"), "collection")
        sources = media_cloud_ids(settings.getlist("NARRATIVE_ARCHIVE_MEDIACLOUD_SOURCES"),
                                  "source")
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--mediacloud-collections/-sources") \
            from None
    config = load_config(config_dir)
    known = {narrative.id: narrative for narrative in config.narratives}
    narratives = [known[i] for i in narrative_ids if i in known] or (
        [] if narrative_ids else list(config.narratives))  # an unknown id: the crawl says so
    require_media_cloud(config.paths["narratives.yml"], narratives, collections, sources)


@click.command()
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
