"""The docs cannot drift from the code.

docs/cli.md documents every command and every option `--help` shows; the README is a
front page (at most 400 lines) with a table of every command, whose links to docs/
resolve; docs/sql.md names every table and view, docs/publishing.md every ready-made
query.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import yaml

from narrative_archive import store
from narrative_archive.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_MAX_LINES = 400


def commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    """Every command by its full name ("crawl", or "group sub" for a group's commands)."""
    found: dict[str, click.Command] = {}
    context = click.Context(group)
    for name in group.list_commands(context):  # the CLI imports a command's module when asked
        command = group.get_command(context, name)
        assert command is not None, name
        full = f"{prefix}{name}"
        found[full] = command
        if isinstance(command, click.Group):
            found.update(commands(command, f"{full} "))
    return found


COMMANDS = commands()


def option_names(command: click.Command) -> set[str]:
    """The option spellings `--help` shows (-s and --set, --progress and --no-progress)."""
    return {name for param in command.params
            if isinstance(param, click.Option) and not param.hidden
            for name in (*param.opts, *param.secondary_opts)}


# Options every command takes are documented once, in the page's first section.
COMMON = set.intersection(*(option_names(c) for c in COMMANDS.values()
                             if not isinstance(c, click.Group)))
HEADING = re.compile(r"^#{2,4} `narrative-archive ([a-z][a-z -]*)`\s*$", re.MULTILINE)


def cli_sections(text: str) -> dict[str, str]:
    """docs/cli.md cut at its `## \\`narrative-archive COMMAND\\`` headings: command -> text."""
    marks = list(HEADING.finditer(text))
    sections = {"": text[:marks[0].start()] if marks else text}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        sections[mark.group(1)] = text[mark.end():following.start() if following else None]
    return sections


CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
SECTIONS = cli_sections(CLI_DOC)


def undocumented(command: click.Command, sections: dict[str, str], name: str) -> list[str]:
    """What of a command `--help` shows that its section of docs/cli.md does not name."""
    if name not in sections:
        return [f"no `## \\`narrative-archive {name}\\`` section"]
    return [option for option in sorted(option_names(command) - COMMON)
            if not re.search(rf"`{re.escape(option)}[` =]", sections[name])]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_is_in_docs_cli(name):
    assert undocumented(COMMANDS[name], SECTIONS, name) == []


def test_options_of_every_command_are_documented_once():
    assert COMMON >= {"--db", "--config"}
    assert [o for o in sorted(COMMON) if f"`{o} " not in SECTIONS[""]] == []


def test_the_cli_check_fails_on_a_missing_command_or_option():
    crawl = COMMANDS["crawl"]
    without_limit = "\n".join(line for line in SECTIONS["crawl"].splitlines()
                              if "`--limit" not in line)
    assert undocumented(crawl, {**SECTIONS, "crawl": without_limit}, "crawl") == ["--limit"]
    sections = {k: v for k, v in SECTIONS.items() if k != "crawl"}
    assert undocumented(crawl, sections, "crawl") == ["no `## \\`narrative-archive crawl\\`` section"]
    assert "--no-progress" in option_names(crawl) and "--run-id" not in option_names(crawl)


def test_docs_cli_has_no_section_for_a_command_that_does_not_exist():
    assert [name for name in SECTIONS if name and name not in COMMANDS] == []


# --- the README is a front page --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_readme(name):
    assert f"`narrative-archive {name}" in README


def test_readme_shows_the_two_commands():
    assert "make up" in README and "make test" in README


def test_readme_is_a_front_page():
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        anchor, n = github_anchor(heading), 1
        while anchor in found:  # GitHub numbers repeated headings
            anchor, n = f"{github_anchor(heading)}-{n}", n + 1
        found.add(anchor)
    return found


LINK = re.compile(r"\]\(([^)\s]+)\)")


def broken_links(page: Path) -> list[str]:
    """Relative links (and their #anchors) of a Markdown page that lead nowhere."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s):, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    return broken


def test_readme_links_to_docs_pages_that_exist():
    linked = set(re.findall(r"\]\((docs/[\w/-]+\.md)", README))
    assert {"docs/README.md", "docs/cli.md"} <= linked
    assert broken_links(ROOT / "README.md") == []


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_between_docs_pages_resolve(page):
    assert broken_links(DOCS / page) == []


def test_the_docs_index_lists_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert [p for p in sorted(pages) if f"]({p})" not in index] == []


def test_broken_links_are_found(tmp_path):
    (tmp_path / "a.md").write_text("# A page\n\n## Two words\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md) [ok](a.md#two-words) [web](https://x.org/y.md)\n"
                    "[gone](c.md) [bad anchor](a.md#three)\n```\n[in code](d.md)\n```\n")
    assert broken_links(page) == ["c.md", "a.md#three"]


# --- the schema and the published queries ---------------------------------------------------

SQL_DOC = (DOCS / "sql.md").read_text(encoding="utf-8")


def archive_tables(tmp_path: Path) -> list[str]:
    db = store.open_db(tmp_path / "archive.db")
    fts_shadow = re.compile(r"^articles_fts_(config|data|docsize|idx|content)$")
    return sorted(t for t in db.table_names() if not fts_shadow.match(t))


def test_every_table_is_documented(tmp_path):
    assert [t for t in archive_tables(tmp_path) if f"`{t}`" not in SQL_DOC] == []


@pytest.mark.parametrize("view", sorted(store.VIEWS))
def test_every_view_is_documented(view):
    assert f"`{view}`" in SQL_DOC


def test_every_ready_made_query_is_documented():
    metadata = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    publishing = (DOCS / "publishing.md").read_text(encoding="utf-8")
    queries = metadata["databases"]["archive"]["queries"]
    assert [q for q in sorted(queries) if f"`{q}`" not in publishing] == []
