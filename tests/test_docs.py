"""The README cannot drift from the code: every command is documented there."""

from pathlib import Path

import pytest

from narrative_archive.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme(command):
    assert f"narrative-archive {command}" in README


def test_readme_shows_the_two_commands():
    assert "make up" in README and "make test" in README


@pytest.mark.parametrize("view", ["narrative_daily", "narrative_first_seen", "outlet_health"])
def test_views_are_documented(view):
    assert f"`{view}`" in README
