"""A plan's `repeat`: "hourly", "daily", "weekly", "every N minutes" (seconds, hours, days) or a cron expression."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from api.domain.errors import invalid
from api.domain.schedule import BadStartTime, first_start
from api.gateways.prefect_schedules import Recurrence

NAMED = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_EVERY = re.compile(r"^every\s+(\d{1,7})\s*([a-z]+?)s?$")
MIN_SECONDS = 60  # a farm's plans are minutes or hours apart; PHONEFARM_MIN_REPEAT_SECONDS may lower it for tests
MAX_SECONDS = 366 * 86400
# A plan without start_time fires at once: its first firing is this far ahead (and made even if the
# schedule takes longer than that to store: PlanSchedules gives Prefect the schedule's start).
FIRST_FIRING_AFTER = timedelta(seconds=2)
FIELD = {"field": "repeat"}


def recurrence(repeat: str, start_time: Optional[str], now: datetime, timezone: str,
               min_seconds: int = MIN_SECONDS) -> Recurrence:
    text = repeat.strip().lower()
    local_now = now.astimezone(ZoneInfo(timezone))
    seconds = _seconds(text)
    if seconds is None:
        cron = Recurrence(timezone=timezone, cron=text)
        if len(text.split()) != 5 or not cron.valid():
            raise invalid(f'repeat must be "hourly", "daily", "weekly", "every N minutes" (or seconds, hours, days) '
                          f"or a cron expression of five fields, got {repeat!r}", FIELD)
        if start_time:
            raise invalid("start_time does not go with a cron expression in repeat: the expression says when",
                          {"field": "start_time"})
        return cron
    if not min_seconds <= seconds <= MAX_SECONDS:
        raise invalid(f"repeat must be between {min_seconds} seconds and {MAX_SECONDS // 86400} days apart, got {repeat!r} "
                      "(PHONEFARM_MIN_REPEAT_SECONDS)", FIELD)
    if not start_time:
        return Recurrence(timezone=timezone, seconds=seconds, anchor=local_now + FIRST_FIRING_AFTER)
    try:
        anchor = first_start(start_time, local_now)
    except BadStartTime as error:
        raise invalid(str(error), {"field": "start_time"}) from None
    return Recurrence(timezone=timezone, seconds=seconds, anchor=anchor)


def _seconds(text: str) -> Optional[int]:
    if text in NAMED:
        return NAMED[text]
    match = _EVERY.match(text)
    if not match:
        return None
    unit = UNITS.get(match[2])
    if unit is None:
        raise invalid(f"repeat: unknown unit {match[2]!r} (seconds, minutes, hours or days)", FIELD)
    return int(match[1]) * unit
