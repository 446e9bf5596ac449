"""Time as the archive writes it, a leaf: UTC ISO 8601 to the second ("2026-11-25T14:00:00Z"),
durations read from config ("30m") and durations written for people.

store.NOW_SQL is the same format in SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def now() -> str:
    """The current UTC time, as the archive writes times."""
    return datetime.now(UTC).strftime(TIME_FORMAT)


def iso(moment: datetime) -> str:
    """An aware (or UTC) datetime as the archive writes times."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT) if moment.tzinfo \
        else moment.strftime(TIME_FORMAT)


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 time ("…Z" too) as an aware UTC datetime; a time without a zone is UTC.
    None for an empty or unreadable value."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def parse_duration(value: Any) -> int | None:
    """'30m' -> 1800; plain numbers are seconds; None when it is not a duration."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = DURATION.match(str(value).strip())
    return int(match[1]) * DURATION_SECONDS[match[2]] if match and int(match[1]) > 0 else None


def format_duration(seconds: float) -> str:
    """3600 -> '1h', 90 -> '90s', 1800 -> '30m': the largest unit that divides it (as
    schedule.yml writes durations)."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def humanize(seconds: float) -> str:
    """90 -> '1m 30s', 7260 -> '2h 1m', 200000 -> '2d 7h': the two largest units."""
    seconds = int(round(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def clock(seconds: float) -> str:
    """125 -> '2:05': minutes and seconds, as a progress display counts."""
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def parse_when(value: Any, *, end: bool = False, now: datetime | None = None) -> datetime | None:
    """A --since/--until value as an aware UTC datetime.

    Accepts a date (2024-05-01), an ISO 8601 time (2024-05-01T12:00:00Z) or a
    duration back from now (90m, 6h, 3d). A bare date given as the end of a
    range means the end of that day. Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    now = now or datetime.now(UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        value = value.isoformat()
    text = str(value).strip()
    seconds = parse_duration(text)
    if seconds:
        return now - timedelta(seconds=seconds)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            pass
        else:
            return day + timedelta(days=1, microseconds=-1) if end else day
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValueError(
        f"expected a date (2024-05-01), a time (2024-05-01T12:00:00Z) or a duration back "
        f"from now (6h, 3d), got {value!r}"
    )


# --- periods of a timeline: a day, the Monday a week starts on, a month (YYYY-MM) ---------


def period_of(day: str, by: str) -> str:
    """The period (day, week or month) a YYYY-MM-DD day falls in."""
    if by == "month":
        return day[:7]
    if by == "week":
        start = date.fromisoformat(day[:10])
        return (start - timedelta(days=start.weekday())).isoformat()
    return day[:10]


def periods_between(start: str, end: str, by: str) -> list[str]:
    """Every period from the one holding `start` to the one holding `end` (days or
    YYYY-MM months), so a timeline shows an empty period as zero, not as nothing."""
    first, last = date.fromisoformat(start[:10] if len(start) > 7 else start + "-01"), \
        date.fromisoformat(end[:10] if len(end) > 7 else end + "-01")
    out: list[str] = []
    if by == "month":
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    step = timedelta(days=7 if by == "week" else 1)
    current = date.fromisoformat(period_of(first.isoformat(), by))
    while current <= last:
        out.append(current.isoformat())
        current += step
    return out
