"""Publish the archive with Datasette: the command line, and a subprocess for `up`.

The configuration lives in the repository's datasette/ directory (not a Python
package): metadata.yml (titles, licence, facets, search, canned queries),
dashboards.yml (the dashboard, read by plugins/narrative_archive_narratives.py),
settings.json (time limits, export), templates/, plugins/ and static/.
Everything here only builds the `datasette serve` command for an archive from
that directory, so a Docker image, systemd unit or `datasette publish` can run
exactly the same thing.

The archive is always opened mutable (never --immutable: crawls keep writing
it) and Datasette opens it read-only (mode=ro); WAL lets both work at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from narrative_archive.paths import DATASETTE_DIR

# Whatever the file is called, the archive is published under this name (/archive/...):
# metadata.yml is keyed on it, and plugins/narrative_archive_site.py renames the database.
DATABASE_NAME = "archive"
STATIC_MOUNT = "static"


def datasette_dir(directory: str | Path | None = None) -> Path:
    """The Datasette configuration directory: the argument, env NARRATIVE_ARCHIVE_DATASETTE,
    else the repository's datasette/."""
    return Path(directory or os.environ.get("NARRATIVE_ARCHIVE_DATASETTE") or DATASETTE_DIR)


def load_settings(directory: str | Path | None = None) -> dict:
    """Datasette settings from datasette/settings.json."""
    return json.loads((datasette_dir(directory) / "settings.json").read_text(encoding="utf-8"))


def load_metadata(directory: str | Path | None = None) -> dict:
    """datasette/metadata.yml as a dict (what `Datasette(metadata=...)` takes)."""
    import yaml

    return yaml.safe_load((datasette_dir(directory) / "metadata.yml").read_text(encoding="utf-8"))


def load_dashboards(directory: str | Path | None = None) -> dict:
    """datasette/dashboards.yml as a dict: datasette-dashboards' configuration, which the
    narratives plugin hands to it (publish.dashboards), without the narratives' colours."""
    from narrative_archive.publish.dashboards import DASHBOARDS_FILE, load

    return load(datasette_dir(directory) / DASHBOARDS_FILE)


def datasette_executable() -> list[str]:
    """Datasette from this very environment (the one narrative-archive is installed in)."""
    return [sys.executable, "-m", "datasette"]


def datasette_args(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    settings: Mapping[str, object] | None = None,
    metadata: str | Path | None = None,
    directory: str | Path | None = None,
    cors: bool = False,
    extra: Iterable[str] = (),
) -> list[str]:
    """The full `datasette serve` command line for an archive.

    `settings` override datasette/settings.json one by one; `metadata` replaces
    datasette/metadata.yml; `extra` is appended as given (e.g. ["--reload"]).
    """
    directory = datasette_dir(directory)
    merged = {**load_settings(directory), **(settings or {})}
    args = [
        *datasette_executable(), "serve", str(db_path),
        "--host", host, "--port", str(port),
        "--metadata", str(metadata or directory / "metadata.yml"),
        "--template-dir", str(directory / "templates"),
        "--plugins-dir", str(directory / "plugins"),
        "--static", f"{STATIC_MOUNT}:{directory / 'static'}",
    ]
    for name, value in merged.items():
        args += ["--setting", name, _setting_value(value)]
    if cors:
        args.append("--cors")
    args += list(extra)
    return args


def _setting_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def check_archive(db_path: str | Path) -> None:
    """Raise ValueError unless db_path is an archive with the current schema.

    Opens the file read-only: serving never creates or migrates an archive.
    """
    from narrative_archive.store import SCHEMA_VERSION, file_schema_version

    path = Path(db_path)
    if not path.is_file():
        raise ValueError(f"{path}: no archive here; run `narrative-archive init --db {path}`")
    try:
        version = file_schema_version(path)
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{path}: not a SQLite archive ({error})") from error
    if version < SCHEMA_VERSION:
        raise ValueError(
            f"{path}: archive schema v{version} is older than v{SCHEMA_VERSION}; "
            f"run `narrative-archive init --db {path}` to migrate it"
        )


def start_datasette(
    db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, **kwargs
) -> subprocess.Popen:
    """Start Datasette for the archive in a child process (for `narrative-archive up`).

    Takes the keyword arguments of datasette_args, plus any subprocess.Popen
    argument (stdout=..., env=...). Stop it with .terminate() and .wait().
    """
    popen_keys = {"stdout", "stderr", "env", "cwd", "start_new_session"}
    popen_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in popen_keys}
    check_archive(db_path)
    return subprocess.Popen(datasette_args(db_path, host, port, **kwargs), **popen_kwargs)


def wait_until_ready(
    url: str, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    """Poll url until it answers with HTTP 200; raise TimeoutError or RuntimeError.

    RuntimeError when `process` exits first (e.g. the port was taken).
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Datasette exited with code {process.returncode} before {url} "
                               "answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, **kwargs) -> int:
    """Run Datasette for the archive in the foreground; return its exit code.

    On POSIX the current process becomes Datasette (exec), so signals from
    systemd, Docker or Ctrl-C reach it directly.
    """
    check_archive(db_path)
    args = datasette_args(db_path, host, port, **kwargs)
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(args[0], args)
    return subprocess.call(args)
