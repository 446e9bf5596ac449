"""One scheduler per archive: an advisory lock file next to archive.db.

Two schedulers on one archive would run every crawl twice (say `make up` while
the systemd service is running). The scheduler holds an exclusive flock on
`<archive>-scheduler.lock` for its lifetime (next to the archive's real path, so a
symlink to the archive finds the same lock); the file says who holds it. The
kernel drops the lock when the process dies, however it dies, so a stale file
never blocks a restart. `narrative-archive status` tests the lock to tell
whether a scheduler is running, which also works from another container that
mounts the same volume (where the pid would mean nothing).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import TextIO

from narrative_archive.paths import DEFAULT_DB

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no guard
    fcntl = None  # type: ignore[assignment, unused-ignore]


class SchedulerAlreadyRunning(RuntimeError):
    """Another scheduler holds the lock of this archive."""

    def __init__(self, path: Path, holder: dict):
        self.path, self.holder = path, holder
        who = ", ".join(f"{k} {v}" for k, v in holder.items() if k in ("pid", "host", "since"))
        super().__init__(
            f"another scheduler is already running on this archive ({who or 'unknown'};"
            f" lock {path})"
        )


def lock_path(db_path: str | Path) -> Path:
    """The lock file of an archive: archive.db -> archive.db-scheduler.lock (gitignored).

    Next to the archive's real file, whatever path names it: through a symlink (to the
    file or to a directory on the way), a relative path or `..`, one archive has one lock.
    """
    real = Path(os.path.realpath(db_path))
    return real.with_name(f"{real.name}-scheduler.lock")


def _read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


class SchedulerLock:
    """Exclusive for the life of the scheduler; `with SchedulerLock(db):` or acquire/release."""

    def __init__(self, db_path: str | Path):
        self.path = lock_path(db_path)
        self._file: TextIO | None = None

    def acquire(self, timeout: float = 1.0, since: str | None = None) -> None:
        """Take the lock, retrying for `timeout` seconds (status tests it briefly)."""
        if fcntl is None:
            return
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise SchedulerAlreadyRunning(self.path, _read_holder(self.path)) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": since}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            try:
                self._file.seek(0)
                self._file.truncate()
            except OSError:
                pass
            self._file.close()  # closing drops the flock
            self._file = None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def scheduler_state(db_path: str | Path) -> dict:
    """{"running": bool, and when running: "pid", "host", "since"} for an archive."""
    path = lock_path(db_path)
    if fcntl is None or not path.exists():
        return {"running": False}
    try:
        with open(path, encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return {"running": True, **_read_holder(path)}
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError:
        return {"running": False}
    return {"running": False}


def main(argv: list[str] | None = None) -> int:
    """`python -m narrative_archive.scheduler.lock [ARCHIVE]`: print the scheduler state of an
    archive (default: env NARRATIVE_ARCHIVE_DB, else archive.db) as JSON; exit 0 when a
    scheduler holds it, 1 when none does. For container health checks and monitoring."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    db_path = args[0] if args else os.environ.get("NARRATIVE_ARCHIVE_DB", DEFAULT_DB)
    state = scheduler_state(db_path)
    print(json.dumps(state))
    return 0 if state["running"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
