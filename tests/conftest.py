"""Shared fixtures: a real archive in tmp_path, the default narratives, a CLI runner."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrative_archive import store
from narrative_archive.config import load_narratives, load_outlets
from narrative_archive.match import narratives
from narrative_archive.paths import DEFAULT_CONFIG_DIR

FILES = Path(__file__).parent / "files"

TEST_OUTLETS = """\
- id: example-news
  name: Example News
  url: https://example.com/
  country: US
  language: en
  kind: commercial
  owner: Example Media
  feeds: [https://example.com/rss.xml]
- id: example-state
  name: Example State Agency
  url: https://state.example.org/
  domains: [state.example.org]
  country: RU
  language: ru
  kind: state
  state_affiliated: true
"""


# A daemon a test starts in its own session outlives a pytest that is killed (a Ctrl-C
# twice, a timeout's SIGKILL): a scheduler left behind goes on starting crawls. Started
# through this, it gets SIGTERM when the pytest process is gone (Linux's parent-death
# signal, kept across exec).
_DIES_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                     "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
                     "if os.getppid() != int(sys.argv[1]): sys.exit(1)  # already gone\n"
                     "os.execvp(sys.argv[2], sys.argv[2:])")


def dies_with_tests(command: list[str]) -> list[str]:
    """`command` run so that it ends when the test run does, however that ends."""
    return [sys.executable, "-c", _DIES_WITH_PARENT, str(os.getpid()), *map(str, command)]


def wait_for(predicate, timeout: float = 60.0, what: str = "condition",
             interval: float = 0.05):
    """Poll until predicate() is truthy and return its value; fail after `timeout` seconds.

    The one way tests wait for another process: a deadline, never a sleep for timing. The
    deadline is generous, never under a minute (a loaded 2-core machine starts crawls
    slowly); a test that passes never reaches it.
    """
    timeout = max(timeout, 60.0)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def config_dir(tmp_path) -> Path:
    """A user config directory holding only outlets.yml (narratives fall back to defaults)."""
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "outlets.yml").write_text(TEST_OUTLETS)
    return directory


@pytest.fixture
def default_narratives():
    return load_narratives(DEFAULT_CONFIG_DIR / "narratives.yml", narratives.check_query)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "archive.db"


def migrated_to(path: Path, version: int) -> sqlite3.Connection:
    """A connection to an archive as the first `version` migrations made it (an archive a
    release of that schema version left), for a test of what the later ones do to it."""
    conn = sqlite3.connect(path)
    for number, migration in enumerate(store.MIGRATIONS[:version], 1):
        for statement in store._statements(migration):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    return conn


@pytest.fixture
def db(db_path, config_dir, default_narratives):
    """A migrated archive with the test outlets and the default narratives."""
    database = store.open_db(db_path)
    store.save_outlets(database, load_outlets(config_dir / "outlets.yml"))
    narratives.save_narratives(database, default_narratives)
    yield database
    database.close()


@pytest.fixture
def runner():
    return CliRunner()


def article(url: str, text: str, title: str = "A headline", **fields) -> dict:
    """An extracted article as save_article takes it."""
    return {"url": url, "canonical_url": url, "title": title, "text": text,
            "authors": ["A. Reporter"], "language": "en", "content_hash": str(hash(text)),
            **fields}
