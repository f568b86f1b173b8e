"""The whole service stopped (SIGTERM) or killed (SIGKILL) and started again on the same data directory."""

from __future__ import annotations

import signal

import pytest

from tests.processes import descendants, processes_marked
from tests.processes import alive
from tests.test_stop_retry_delete import wait_started_on_phone


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_restart_with_tasks_in_flight(service, phones, how):
    [busy_serial, idle_serial] = phones.take(2)
    busy = phones[busy_serial]
    busy.profile_load_seconds = 8
    [done] = service.create([idle_serial], ["before"])
    assert service.wait_for(done)["status"] == 2
    running, queued = service.create([busy_serial], ["r1", "r2"])
    wait_started_on_phone(busy, running)
    before = {t["id"]: t for t in service.ok("GET", "/task", params={"page_size": 100})["tasks"]}
    old_processes = descendants(service.process.pid)

    service.stop(how)
    service.start()

    # Nothing of the earlier life is left running (a flow-run process would still drive the phone).
    marker = f"PHONEFARM_INSTANCE={service.data_dir.resolve()}"
    assert not [pid for pid in old_processes if alive(pid)]
    assert set(processes_marked(marker)) <= set(descendants(service.process.pid))
    after = {t["id"]: t for t in service.ok("GET", "/task", params={"page_size": 100})["tasks"]}
    assert set(after) == set(before)
    assert after[done]["status"] == 2 and after[done]["flow_run_id"] == before[done]["flow_run_id"]
    busy.profile_load_seconds = 0
    # The interrupted task is not run again by itself (it might post twice); it waits for a retry.
    interrupted = service.wait_for(running, timeout=60)
    assert interrupted["status"] == 3 and "run crashed" in interrupted["remark"], interrupted
    assert service.wait_for(queued, timeout=90)["status"] == 2
    starts = [tid for tid, _, _ in busy.task_intervals()]
    assert starts.count(running) == 1 and starts.count(queued) == 1, starts
    # One task at a time on the phone, across the restart too.
    intervals = sorted((start, end if end is not None else start) for tid, start, end in busy.task_intervals())
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(intervals, intervals[1:])), intervals
    [newer] = service.create([idle_serial], ["after"])
    assert newer > max(after)
