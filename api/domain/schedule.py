"""When the tasks of one request start: `start_time` and the random gaps between tasks on a phone."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Optional

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Far enough for any plan, near enough that every spaced start stays a valid date in every zone.
MAX_AHEAD = timedelta(days=366)


class BadStartTime(ValueError):
    pass


def first_start(start_time: Optional[str], now: datetime) -> datetime:
    """`now` is timezone-aware server local time; "HH:MM" means its next occurrence."""
    if start_time is None or start_time == "":
        return now
    match = _CLOCK.match(start_time.strip())
    if match:
        at = now.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)
    try:
        at = datetime.fromisoformat(start_time.strip())
    except ValueError:
        raise BadStartTime(
            f'start_time must be "HH:MM" (24-hour, server local time) or an ISO-8601 datetime, got {start_time!r}'
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=now.tzinfo)
    try:
        ahead = at - now
    except OverflowError:  # at the very edge of the calendar, in another zone
        ahead = MAX_AHEAD * 2
    if ahead > MAX_AHEAD:
        raise BadStartTime(f"start_time must be at most {MAX_AHEAD.days} days ahead, got {start_time!r}")
    if at.microsecond:  # shown in whole seconds: a start shown as the second asked never comes before it
        at = at.replace(microsecond=0) + timedelta(seconds=1)
    # A moment already past starts at once, like an "HH:MM" for the current minute would not.
    return max(at, now)


def spaced_starts(
    first: datetime, count: int, min_minutes: int, max_minutes: int, rng: random.Random
) -> list[datetime]:
    """Start times of `count` consecutive tasks on one phone, each a random [min, max] minutes after the last."""
    starts = [first]
    for _ in range(count - 1):
        gap = rng.uniform(min_minutes * 60, max_minutes * 60)
        starts.append(starts[-1] + timedelta(seconds=gap))
    return starts
