"""Crontab expressions: day-of-week names, APScheduler triggers, and why an expression
never fires. A leaf: config checks schedule.yml with it, the scheduler builds triggers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_DAY_TOKEN = re.compile(r"^(\*|\w+)(?:-(\w+))?(?:/(\d+))?$")


def _cron_day_number(name: str) -> int:
    if name.isdigit():
        number = int(name)
        if not 0 <= number <= 7:
            raise ValueError(name)
        return number % 7
    return CRON_DAYS.index(name.lower()[:3])


def cron_day_of_week(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3's terms ('1-5' -> 'mon,tue,wed,thu,fri')."""
    if field in ("*", "?"):
        return "*"
    try:
        days: set[int] = set()
        for token in field.split(","):
            match = _CRON_DAY_TOKEN.match(token.strip())
            if not match:
                raise ValueError(token)
            first, last, step = match.groups()
            if first == "*":
                start, end = 0, 6
            else:
                start = _cron_day_number(first)
                end = _cron_day_number(last) if last else (6 if step else start)
                if end < start or (last and last.isdigit() and int(last) == 7):
                    end += 7  # '5-7' and 'sat-sun' wrap to Sunday
            days.update(day % 7 for day in range(start, end + 1, int(step or 1)))
        if not days:
            raise ValueError(field)
    except (ValueError, IndexError):
        return field  # not plain crontab (e.g. APScheduler's own syntax): leave it as it is
    return ",".join(CRON_DAYS[day] for day in sorted(days))


def cron_trigger(expression: str, jitter: int | None = None):
    """An APScheduler CronTrigger for a standard 5-field crontab expression, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=cron_day_of_week(day_of_week), timezone=UTC,
                       jitter=jitter or None)


def cron_problem(expression: str, now: datetime | None = None) -> str | None:
    """Why a crontab expression cannot schedule a job (invalid, or never fires), or None."""
    fields = expression.split()
    if len(fields) != 5:
        return ("invalid crontab expression: expected 5 fields (minute hour day month "
                f"day-of-week), got {len(fields)}")
    try:
        trigger = cron_trigger(expression)
    except ValueError as error:
        return f"invalid crontab expression: {error}"
    if trigger.get_next_fire_time(None, now or datetime.now(UTC)) is None:
        return f"{expression!r} never fires: no date has that day in that month"
    return None


