"""Stop, retry and delete keep a phone to one task at a time, and the service enforces transitions."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import timedelta

from prefect.exceptions import ObjectNotFound
from prefect.states import Completed, Running

from api.domain import deletion
from tests.harness import until
from tests.inprocess import AppClient, wired_app
from tests.processes import phone_holder
from tests.service import tomorrow


def started(phone, task_id: int) -> float:
    return next(start for tid, start, _ in phone.task_intervals() if tid == task_id)


def end_of(phone, task_id: int):
    return next(end for tid, _, end in phone.task_intervals() if tid == task_id)


def wait_started_on_phone(phone, task_id: int, timeout: float = 30) -> None:
    until(lambda: any(tid == task_id for tid, _, _ in phone.task_intervals()), timeout, f"task {task_id} on the phone")


def test_stop_a_running_task_frees_the_phone(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60
    [slow] = service.create([serial], ["slowpoke"])
    wait_started_on_phone(phone, slow)
    # The phone can see the script a moment before the index's copy sees Running (its event).
    assert service.wait_for(slow, statuses=[1], timeout=30)["status"] == 1
    service.ok("POST", f"/task/{slow}/stop")
    stopped = service.wait_for(slow, timeout=30)
    assert stopped["status"] == 3 and "stopped" in stopped["remark"], stopped
    phone.profile_load_seconds = 0
    [next_task] = service.create([serial], ["next"])
    assert service.wait_for(next_task)["status"] == 2


def test_stop_a_pending_task(service, phones):
    [serial] = phones.take()
    [task_id] = service.create([serial], ["later"], start_time="23:59" if time.localtime().tm_hour < 23 else "00:01")
    assert service.task(task_id)["status"] == 0
    service.ok("POST", f"/task/{task_id}/stop")
    task = service.task(task_id)
    assert task["status"] == 3 and "stopped" in task["remark"]
    status, body = service.call("POST", f"/task/{task_id}/stop")
    assert (status, body["code"]) == (400, 40001) and "already finished" in body["message"]


def test_retry_runs_a_failed_task_again_under_the_same_id(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.missing_users.add("ghost")
    [task_id] = service.create([serial], ["ghost"])
    assert service.wait_for(task_id)["status"] == 3
    phone.missing_users.clear()
    data = service.ok("POST", f"/task/{task_id}/retry")
    assert data["id"] == task_id and data["status"] == 0
    task = service.wait_for(task_id)
    assert task["status"] == 2 and task["retry_count"] == 1, task
    assert "ghost" in phone.following("tiktok")


def test_only_failed_tasks_can_be_retried_and_only_up_to_the_limit(service, phones):
    [serial] = phones.take()
    [waiting] = service.create([serial], ["fine"], start_time=tomorrow())
    status, body = service.call("POST", f"/task/{waiting}/retry")
    assert (status, body["code"]) == (400, 40001) and "not failed" in body["message"]
    service.ok("DELETE", f"/task/{waiting}")

    phones[serial].missing_users.add("nobody")
    [failing] = service.create([serial], ["nobody"])
    assert service.wait_for(failing)["status"] == 3
    service.ok("POST", f"/task/{failing}/retry")  # the test service allows one re-run
    assert service.wait_for(failing)["retry_count"] == 1
    status, body = service.call("POST", f"/task/{failing}/retry")
    assert (status, body["code"]) == (400, 40001) and "retry limit reached" in body["message"]


def test_retry_all_retries_failed_tasks(api, phones):
    """Through an app with an index of its own: retry-all retries every failed task it knows, so the
    failed tasks of other tests (in the session service's index) are not its business."""
    serials = phones.take(2)
    for serial in serials:
        phones[serial].missing_users.add("x1")
    ids = api.create(serials, ["x1"])  # one failing task on each phone, side by side
    for task_id in ids:
        assert api.wait_for(task_id)["status"] == 3
    for serial in serials:
        phones[serial].missing_users.clear()
    assert api.ok("POST", "/task/retry-all")["retried_count"] == 2
    for task_id in ids:
        task = api.wait_for(task_id)
        assert task["status"] == 2 and task["retry_count"] == 1


def test_delete_a_running_task_stops_it_before_its_phone_is_reused(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60
    [doomed] = service.create([serial], ["doomed"])
    wait_started_on_phone(phone, doomed)
    flow_run_id = service.task(doomed)["flow_run_id"]
    assert service.ok("DELETE", f"/task/{doomed}") == {"deleted_count": 1}
    status, body = service.call("GET", f"/task/{doomed}")
    assert (status, body["code"]) == (404, 40401)
    assert doomed not in [t["id"] for t in service.ok("GET", "/task", params={"serial": serial})["tasks"]]
    phone.profile_load_seconds = 0
    [after] = service.create([serial], ["after"])
    assert service.wait_for(after)["status"] == 2
    with service.prefect() as prefect:
        def purged() -> bool:
            try:
                prefect.read_flow_run(uuid.UUID(flow_run_id))
            except ObjectNotFound:
                return True
            return False
        until(purged, 30, "the deleted task's flow run purged", interval=0.5)
    # The deleted task's process was stopped before the next task started on the phone.
    assert [tid for tid, _, _ in phone.task_intervals()] == [doomed, after]
    assert end_of(phone, doomed) is not None and end_of(phone, doomed) <= started(phone, after)


def test_batch_delete_reports_what_it_did_not_find(service, phones):
    [serial] = phones.take()
    ids = service.create([serial], ["b1", "b2"], start_time=tomorrow())
    data = service.ok("DELETE", "/task/batch", json={"task_ids": [*ids, 987654]})
    assert data == {"deleted_count": 2, "not_found": [987654]}
    for task_id in ids:
        assert service.call("GET", f"/task/{task_id}")[0] == 404
    # Ids are never reused, even after deletion.
    [newer] = service.create([serial], ["b3"], start_time=tomorrow())
    assert newer > max(ids)
    service.ok("DELETE", f"/task/{newer}")


def test_a_stop_that_races_the_end_of_a_run_keeps_its_real_end(service, phones, adb, tmp_path):
    """The service read the run as running, then it completed before the stop was written."""
    [serial] = phones.take()
    phones[serial].profile_load_seconds = 2  # long enough to be seen running
    [task_id] = service.create([serial], ["racer"])
    task = service.wait_for(task_id, statuses=[1])
    with wired_app(service, adb, tmp_path) as wired:
        seen_running = wired.orchestrator.runs.read_run(task["flow_run_id"])
        assert service.wait_for(task_id)["status"] == 2
        wired.tasks.stop_run(seen_running)
        assert wired.orchestrator.runs.read_run(task["flow_run_id"]).state_type == "COMPLETED"
    # A stop through the service reads Prefect (not its copy of the state) and refuses: it ended.
    status, body = service.call("POST", f"/task/{task_id}/stop")
    assert (status, body["code"]) == (400, 40001) and "already finished (completed)" in body["message"], body
    assert service.task(task_id)["status"] == 2


def test_a_stop_that_lost_its_repair_gets_its_real_end_back_from_the_upkeep(service, phones, adb, tmp_path, monkeypatch):
    """The repair above failed (a read refused under load): the run is left Cancelling with no
    process to end it. The upkeep's look at lasting stops puts its real end back."""
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        app = AppClient(wired)
        [task_id] = app.create([serial], ["lost"], start_time=tomorrow())
        run_id = until(lambda: app.task(task_id)["flow_run_id"], 30, "the run created behind the answer")
        prefect = wired.orchestrator.connection._client
        prefect.set_flow_run_state(run_id, Running(), force=True)
        prefect.set_flow_run_state(run_id, Completed(message="done"), force=True)
        wired.orchestrator.writes.request_cancel(run_id, "Stopped through the API")  # and no repair
        wired.tasks.finish_abandoned_stops()  # within 15 s of the stop: a worker may still end it
        assert wired.orchestrator.runs.read_run(run_id).state_type == "CANCELLING"
        monkeypatch.setattr(deletion, "RACED_STOP_AFTER", timedelta(0))
        wired.tasks.finish_abandoned_stops()
        run = wired.orchestrator.runs.read_run(run_id)
        assert (run.state_type, run.state.message) == ("COMPLETED", "done")


def test_a_stopped_task_holds_its_phone_until_its_process_is_gone(service, phones):
    """Prefect frees a phone's queue slot as soon as a stop is written (Cancelling), while the
    stopped run's process may still be driving the phone; the next task must wait for the process:
    the worker takes a phone's next run only once the last one's process is gone (the phone lock
    would hold it too)."""
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60
    stopped, queued = service.create([serial], ["frozen", "next"])
    wait_started_on_phone(phone, stopped)
    [process] = phone_holder(service.data_dir, serial)  # the stopped run's process
    os.kill(process, signal.SIGSTOP)  # a process that takes its time to die
    try:
        service.ok("POST", f"/task/{stopped}/stop")
        phone.profile_load_seconds = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            os.kill(process, 0)  # still there (its SIGTERM pending)...
            # ...and the next task never touches the phone meanwhile.
            assert not any(tid == queued for tid, _, _ in phone.task_intervals()), phone.task_intervals()
            time.sleep(0.1)
    finally:
        released = time.monotonic()
        os.kill(process, signal.SIGCONT)  # the worker's SIGTERM, pending until now, ends it
    assert service.wait_for(stopped, timeout=60)["status"] == 3
    assert service.wait_for(queued, timeout=60)["status"] == 2
    assert started(phone, queued) >= (end_of(phone, stopped) or released)


def test_a_stop_never_shows_two_tasks_of_a_phone_running(service, phones):
    """The next task starts once the stopped one has ended, in the API as on the phone, and the
    stopped task ends when its process did, not when Prefect was told later."""
    [serial] = phones.take()
    phone = phones[serial]
    phone.profile_load_seconds = 60  # a long warm-up
    stopped, follow = service.create([serial], ["long", "follow"])
    wait_started_on_phone(phone, stopped)
    service.ok("POST", f"/task/{stopped}/stop")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        both = [service.task(stopped), service.task(follow)]
        assert [t["status"] for t in both] != [1, 1], "both tasks of the phone shown running"
        if both[0]["status"] >= 2:
            # Only now: a profile that loads at once would let the stopped script finish its follow
            # (in milliseconds) before its process is killed, and it would end Completed.
            phone.profile_load_seconds = 0
        if all(t["status"] >= 2 for t in both):
            break
        time.sleep(0.05)
    assert both[0]["status"] == 3 and both[1]["status"] == 2, both
    assert both[1]["start_time"] >= both[0]["end_time"], both  # "YYYY-MM-DD HH:MM:SS" sorts as time
