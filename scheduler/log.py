"""The scheduler's log: one line per event on stderr, easy to grep.

    2026-11-25T14:00:00Z scheduler job=feeds run=12 event=started pid=123

Fields come in a fixed order (job, run, event first), values with spaces or
quotes are double-quoted, and a line never spans two lines, so
`grep 'job=feeds.*event=finished'` and `journalctl -u narrative-archive | grep
status=failed` work.
"""

from __future__ import annotations

import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from narrative_archive.times import iso

FIRST_FIELDS = ("job", "run", "event")
_BARE = re.compile(r"^[^\s\"=]+$")


def format_value(value: Any) -> str:
    """A field value as it appears in a log line: bare when it can be, else double-quoted."""
    if isinstance(value, datetime):
        value = iso(value)
    elif isinstance(value, float):
        value = f"{value:.1f}"
    text = " ".join(str(value).split()) if value is not None else "-"
    if text and _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_event(component: str, event: str, fields: dict[str, Any], at: datetime) -> str:
    """One log line (no newline)."""
    ordered = {key: fields[key] for key in FIRST_FIELDS if key in fields and key != "event"}
    ordered["event"] = event
    ordered.update((key, value) for key, value in fields.items() if key not in ordered)
    stamp = iso(at)
    parts = [f"{key}={format_value(value)}" for key, value in ordered.items() if value is not None]
    return f"{stamp} {component} {' '.join(parts)}"


class EventLog:
    """Writes event lines to a stream (stderr by default); safe to call from any thread."""

    def __init__(self, stream: TextIO | None = None, component: str = "scheduler"):
        self.stream = stream
        self.component = component
        self._lock = threading.RLock()  # reentrant: a signal handler may log mid-line

    def __call__(self, event: str, **fields: Any) -> None:
        line = format_event(self.component, event, fields, datetime.now(UTC))
        stream = self.stream or sys.stderr
        with self._lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed or broken stderr must not stop the service
                pass
