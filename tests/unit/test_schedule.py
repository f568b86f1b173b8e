"""start_time parsing and the random gaps between a request's tasks on one phone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from api.domain.schedule import BadStartTime, first_start, spaced_starts

TZ = timezone(timedelta(hours=2))
NOW = datetime(2026, 5, 1, 13, 45, 30, tzinfo=TZ)


@pytest.mark.parametrize("value, expected", [
    (None, NOW),
    ("", NOW),
    ("14:00", datetime(2026, 5, 1, 14, 0, tzinfo=TZ)),
    ("9:05", datetime(2026, 5, 2, 9, 5, tzinfo=TZ)),
    ("13:45", datetime(2026, 5, 2, 13, 45, tzinfo=TZ)),  # this minute has begun: tomorrow
    ("2026-05-01T12:00:00+00:00", datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)),
    ("2026-05-01T15:00:00", datetime(2026, 5, 1, 15, 0, tzinfo=TZ)),  # naive: server local time
    ("2020-01-01T00:00:00+00:00", NOW),  # past: at once
])
def test_first_start(value, expected):
    assert first_start(value, NOW) == expected


@pytest.mark.parametrize("value", ["24:00", "12:60", "noon", "12-30", "1230", "2026-13-01T00:00"])
def test_bad_start_time(value):
    with pytest.raises(BadStartTime):
        first_start(value, NOW)


def test_spaced_starts_are_within_the_interval():
    starts = spaced_starts(NOW, 5, 2, 4, random.Random(1))
    assert starts[0] == NOW
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
    assert all(120 <= g <= 240 for g in gaps), gaps


def test_zero_interval_starts_together():
    assert spaced_starts(NOW, 3, 0, 0, random.Random(1)) == [NOW] * 3


def test_a_start_time_with_a_fraction_of_a_second_is_rounded_up_never_down():
    # The API shows whole seconds: a start shown as the second asked must not come before it.
    assert first_start("2026-05-01T14:00:00.250+02:00", NOW) == datetime(2026, 5, 1, 14, 0, 1, tzinfo=TZ)
    assert first_start("2026-05-01T14:00:00.000+02:00", NOW) == datetime(2026, 5, 1, 14, 0, tzinfo=TZ)
