"""start_time tasks are Prefect scheduled runs: pending until then, started soon after."""

from __future__ import annotations

import time
from datetime import datetime, timedelta


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def test_iso_start_time_waits_then_runs(service, phones):
    [serial] = phones.take()
    asked = datetime.now().astimezone() + timedelta(seconds=8.5)  # a fraction of a second: rounded up
    at = asked.replace(microsecond=0) + timedelta(seconds=1)
    [task_id] = service.create([serial], ["timely"], start_time=asked.isoformat())
    task = service.task(task_id)
    assert task["status"] == 0 and parse(task["start_time"]) == at.replace(tzinfo=None)
    while datetime.now().astimezone() < at - timedelta(seconds=0.1):
        assert service.task(task_id)["status"] == 0, "started before its start_time"
        assert not phones[serial].task_intervals()
        time.sleep(0.2)
    task = service.wait_for(task_id, timeout=30)
    assert task["status"] == 2 and parse(task["start_time"]) >= at.replace(tzinfo=None)
    [(_, started, _)] = phones[serial].task_intervals()
    started_at = datetime.now().astimezone() - timedelta(seconds=time.monotonic() - started)
    # Prefect's worker fetches runs due within its prefetch window (1 s): none starts early.
    assert at - timedelta(seconds=0.05) <= started_at <= at + timedelta(seconds=10)


def test_clock_start_time_is_its_next_occurrence(service, phones):
    [serial] = phones.take()
    now = datetime.now()
    later = now + timedelta(minutes=2)
    [task_id] = service.create([serial], ["clock"], start_time=later.strftime("%H:%M"))
    expected = later.replace(second=0, microsecond=0)
    task = service.task(task_id)
    assert task["status"] == 0 and parse(task["start_time"]) == expected
    earlier = (now - timedelta(minutes=2)).strftime("%H:%M")
    [tomorrow_id] = service.create([serial], ["clock2"], start_time=earlier)
    assert parse(service.task(tomorrow_id)["start_time"]) - now > timedelta(hours=23)
    service.ok("DELETE", "/task/batch", json={"task_ids": [task_id, tomorrow_id]})


def test_intervals_space_a_requests_tasks_on_each_phone(service, phones):
    serials = phones.take(2)
    tomorrow = (datetime.now().astimezone() + timedelta(days=1)).replace(microsecond=0)
    ids = service.create(serials, ["i1", "i2", "i3"], start_time=tomorrow.isoformat(), min_interval=2, max_interval=5)
    tasks = [service.task(i) for i in ids]
    for serial in serials:
        starts = sorted(parse(t["start_time"]) for t in tasks if t["serial"] == serial)
        assert starts[0] == tomorrow.replace(tzinfo=None)
        gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
        assert len(gaps) == 2 and all(120 <= g <= 300 for g in gaps), gaps
    service.ok("DELETE", "/task/batch", json={"task_ids": ids})
