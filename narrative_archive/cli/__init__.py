"""The narrative-archive command line: thin, it parses options and calls functions."""

from __future__ import annotations

import importlib
import sys

import click

from narrative_archive import store

# Each command: the module and name that define it. A command's module is imported when
# the command runs (or `--help` lists them all), so `crawl` never imports the scheduler's,
# the publisher's or the fleet's (APScheduler, ...).
COMMANDS = {
    "init": "archive", "rematch": "archive", "layer": "archive", "analyse": "archive", "timeline": "archive",
    "status": "archive",
    "schedule": "service", "up": "service", "serve": "service",
    "crawl": "crawling", "backfill": "crawling", "extract": "crawling",
    "check": "narratives", "near-misses": "narratives:near_misses", "suggest": "narratives",
    "reextract": "evidence", "export-wacz": "evidence:export_wacz",
    "prune-captures": "evidence:prune_captures", "import": "evidence:import_",
    "sources": "sources",
    "fleet": "fleet",
}


class LazyGroup(click.Group):
    """A group whose commands are imported from their modules (COMMANDS) when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(f"narrative_archive.cli.{module}"),
                              name or cmd_name)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="narrative-archive")
def cli():
    """Track how political narratives travel through the news.

    Spiders collect articles into one SQLite archive; narratives are full-text
    queries matched against every article; Datasette publishes the archive.
    """


def main():
    try:
        cli(prog_name="narrative-archive")
    except Exception as error:
        if not store.disk_full(error):
            raise
        # any command, even opening the archive (its WAL needs room): one line, no traceback
        click.echo(f"Error: the disk is full: {error}; free some space and run it again", err=True)
        sys.exit(1)
