"""The sources the config relies on: `sources check`, before the first crawl."""

from __future__ import annotations

import sys

import click

from narrative_archive.cli.options import archive_options, read_config

CHOICES = ("outlets", "wayback", "commoncrawl", "mediacloud", "gdelt", "news-search", "all")
LEVELS = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}


@click.group()
def sources():
    """The outlets' feeds and sitemaps and the search and archive APIs."""


@sources.command()
@archive_options
@click.option("--outlet", "outlet_ids", multiple=True, metavar="ID",
              help="Only this outlet (repeatable); with no --source, only outlets are checked.")
@click.option("--source", "source_names", multiple=True, type=click.Choice(CHOICES),
              help="Only this source (repeatable). Default: the outlets, the Wayback Machine,"
              " GDELT and the news searches, and Media Cloud when a key is set; commoncrawl"
              " only when asked.")
@click.option("-s", "--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="A setting, as for crawl (e.g. -s NARRATIVE_ARCHIVE_WAYBACK_URL=URL).")
def check(db_path, config_dir, outlet_ids, source_names, scrapy_settings):
    """Ask every source once and say what works, what fails and why.

    One cheap request each: every outlet's robots.txt (and whether it lets us
    fetch its feeds and sitemaps), each feed (a feed? entries? the newest
    one's date) and each sitemap; the Wayback CDX server; Common Crawl's
    collinfo.json; Media Cloud (is the API key there, is it accepted); GDELT;
    each news search. Failures say why: DNS, an HTTP status, not a feed,
    robots.txt, a refused key. Exits 1 when anything checked fails (a
    warning, such as an empty or stale feed, does not).
    """
    from narrative_archive.crawl import run as crawling
    from narrative_archive.spiders.probe import SOURCES, run_checks

    config = read_config(config_dir)
    try:
        settings = crawling.scrapy_settings(db_path, config_dir,
                                            crawling.parse_settings(scrapy_settings))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="-s") from error
    known = {outlet.id: outlet for outlet in config.outlets}
    unknown = [i for i in outlet_ids if i not in known]
    if unknown:
        raise click.BadParameter(f"unknown outlet {unknown[0]!r}", param_hint="--outlet")
    outlets = [known[i] for i in dict.fromkeys(outlet_ids)] or list(config.outlets)
    if "all" in source_names:
        chosen = list(SOURCES)
    elif source_names:
        chosen = list(dict.fromkeys(source_names))
    elif outlet_ids:
        chosen = ["outlets"]
    else:
        chosen = ["outlets", "wayback", "gdelt", "news-search"]
        if settings.get("NARRATIVE_ARCHIVE_MEDIACLOUD_KEY"):
            chosen.append("mediacloud")
    checks = run_checks(config, settings, outlets, chosen)
    width = max((len(c.name) for c in checks), default=0)
    for c in checks:
        click.echo(f"{LEVELS[c.level]:<4}  {c.name:<{width}}  {c.what:<10}  {c.detail}  {c.url}")
    counts = {level: sum(c.level == level for c in checks) for level in LEVELS}
    click.echo(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failures",
               err=True)
    if counts["fail"]:
        sys.exit(1)
