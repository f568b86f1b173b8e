"""A restart of the whole service on the same data directory keeps every task, id and state."""

from __future__ import annotations

import time

from tests.test_stop_retry_delete import wait_started_on_phone


def test_restart_with_tasks_in_flight(service, phones):
    [busy_serial, idle_serial] = phones.take(2)
    busy = phones[busy_serial]
    busy.profile_load_seconds = 8
    [done] = service.create([idle_serial], ["before"])
    assert service.wait_for(done)["status"] == 2
    running, queued = service.create([busy_serial], ["r1", "r2"])
    wait_started_on_phone(busy, running)
    before = {t["id"]: t for t in service.ok("GET", "/task", params={"page_size": 100})["tasks"]}

    service.stop()
    service.start()

    after = {t["id"]: t for t in service.ok("GET", "/task", params={"page_size": 100})["tasks"]}
    assert set(after) == set(before)
    assert after[done]["status"] == 2 and after[done]["flow_run_id"] == before[done]["flow_run_id"]
    busy.profile_load_seconds = 0
    for task_id in (running, queued):
        task = service.wait_for(task_id, timeout=90)
        assert task["status"] == 2, task
    # One task at a time on the phone, across the restart too.
    intervals = sorted((start, end) for tid, start, end in busy.task_intervals() if end is not None)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(intervals, intervals[1:])), intervals
    [newer] = service.create([idle_serial], ["after"])
    assert newer > max(after)
