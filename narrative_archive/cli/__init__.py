"""The narrative-archive command line: thin, it parses options and calls functions."""

from __future__ import annotations

import sys

import click

from narrative_archive import store
from narrative_archive.cli import archive, crawling, evidence, fleet, narratives, service, sources


@click.group()
@click.version_option(package_name="narrative-archive")
def cli():
    """Track how political narratives travel through the news.

    Spiders collect articles into one SQLite archive; narratives are full-text
    queries matched against every article; Datasette publishes the archive.
    """


cli.add_command(archive.init)
cli.add_command(archive.rematch)
cli.add_command(archive.analyse)
cli.add_command(archive.timeline)
cli.add_command(archive.status)
cli.add_command(service.schedule)
cli.add_command(service.up)
cli.add_command(service.serve)
cli.add_command(crawling.crawl)
cli.add_command(crawling.backfill)
cli.add_command(crawling.extract)
cli.add_command(narratives.check)
cli.add_command(narratives.near_misses)
cli.add_command(narratives.suggest)
cli.add_command(evidence.reextract)
cli.add_command(evidence.export_wacz)
cli.add_command(evidence.prune_captures)
cli.add_command(evidence.import_)
cli.add_command(sources.sources)
cli.add_command(fleet.fleet)


def main():
    try:
        cli(prog_name="narrative-archive")
    except Exception as error:
        if not store.disk_full(error):
            raise
        # any command, even opening the archive (its WAL needs room): one line, no traceback
        click.echo(f"Error: the disk is full: {error}; free some space and run it again", err=True)
        sys.exit(1)
