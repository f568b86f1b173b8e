"""The index answers reads from its copy of run states, fed by Prefect's events and reconciled with
Prefect; a request's runs are created behind its answer, once each. In-process, on the real server."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from prefect.states import Failed, Pending, Running

from api.gateways.prefect_events import RunStateSeen

from tests.harness import until
from tests.inprocess import AppClient, wired_app
from tests.service import tomorrow


def stored_with_its_run(app: AppClient, serial: str, target: str) -> tuple[int, str]:
    [task_id] = app.create([serial], [target], start_time=tomorrow())
    return task_id, until(lambda: app.task(task_id)["flow_run_id"], what="the run created behind the answer")


def test_a_change_made_in_prefect_reaches_the_copy_through_its_events(service, adb, phones, tmp_path):
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        app = AppClient(wired)
        task_id, run_id = stored_with_its_run(app, serial, "copied")
        assert wired.run_events.connected.wait(15)
        # Someone fails the run in Prefect itself (the UI, a script): no call of ours is involved.
        wired.orchestrator.connection._client.set_flow_run_state(run_id, Failed(message="failed in the Prefect UI"), force=True)
        task = until(lambda: (t := app.task(task_id))["status"] == 3 and t, what="the copy following the event")
        assert task["remark"] == "failed in the Prefect UI"
        assert app.ok("GET", "/task/stats")["failed"] == 1


def test_a_run_that_moves_is_copied_from_its_events_and_read_once_it_ends(service, adb, phones, tmp_path):
    """Prefect's events carry a moved run's state and time: the copy takes them without a filter
    query on the server; an end is read whole (its end time, its tags)."""
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        app = AppClient(wired)
        task_id, run_id = stored_with_its_run(app, serial, "moving")
        assert wired.run_events.connected.wait(15)
        # The safety net's reading of running runs (every 10 s) would read it too: not in this test.
        wired.tasks.mirror.moving_every = 3600
        read = []
        reads_runs, reads_run = wired.orchestrator.runs.read_runs, wired.orchestrator.runs.read_run
        wired.orchestrator.runs.read_runs = lambda ids: read.extend(ids) or reads_runs(ids)
        wired.orchestrator.runs.read_run = lambda run: read.append(run) or reads_run(run)
        prefect = wired.orchestrator.connection._client
        prefect.set_flow_run_state(run_id, Pending(), force=True)
        prefect.set_flow_run_state(run_id, Running(), force=True)
        task = until(lambda: (t := app.task(task_id))["status"] == 1 and t, what="the copy following Running")
        started = prefect.read_flow_run(run_id).start_time
        assert wired.index.tasks.get(task_id).run.start_time == started  # Prefect's own start time, from the event
        assert run_id not in read
        prefect.set_flow_run_state(run_id, Failed(message="ended"), force=True)
        task = until(lambda: (t := app.task(task_id))["status"] == 3 and t, what="the copy following the end")
        assert run_id in read and task["remark"] == "ended"
        assert wired.index.tasks.get(task_id).run.end_time == prefect.read_flow_run(run_id).end_time


def test_an_event_of_a_run_that_is_no_task_is_told_once_it_is_still_none_at_the_next_upkeep(service, adb, tmp_path):
    """The API may not have written down a run it just created when the run's first event comes:
    only a run still unknown at the next upkeep is a UI run or an account read to look for."""
    with wired_app(service, adb, tmp_path) as wired:
        told = []
        wired.tasks.mirror.on_unknown_runs.append(lambda: told.append(1))
        wired.tasks.mirror.take_events([RunStateSeen(str(uuid.uuid4()), "SCHEDULED", "Scheduled", None,
                                                     datetime.now(timezone.utc))])
        assert told == []
        wired.tasks.mirror.upkeep()
        assert told == [1]


def test_a_copy_that_missed_events_is_put_right_by_reconciling(service, adb, phones, tmp_path):
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        app = AppClient(wired)
        task_id, run_id = stored_with_its_run(app, serial, "missed")
        wired.run_events.stop()  # a gap in the event stream
        wired.orchestrator.connection._client.set_flow_run_state(run_id, Failed(message="while nobody listened"), force=True)
        assert app.task(task_id)["status"] == 0  # the copy has not seen it...
        wired.tasks.mirror.reconcile_everything()  # ...what a reconnect does first
        assert app.task(task_id)["status"] == 3 and app.task(task_id)["remark"] == "while nobody listened"


def test_runs_created_twice_for_the_same_tasks_are_the_same_runs(service, adb, phones, tmp_path):
    """A batch cut off by a crash is sent again after a restart: the idempotency key makes no second run."""
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        wired.tasks.creator.stop()  # nothing creates behind our back here
        app = AppClient(wired)
        ids = app.create([serial], ["once", "twice"], start_time=tomorrow())
        assert [app.task(i)["flow_run_id"] for i in ids] == [None, None]  # stored, answered, runs to come
        rows = wired.index.tasks.to_create(100)
        first = wired.tasks.creator._create(rows)
        again = wired.tasks.creator._create(rows)
        assert first == again and len(set(first)) == 2
        assert [app.task(i)["flow_run_id"] for i in ids] == first
        assert wired.index.tasks.to_create(100) == []


def test_a_task_stopped_while_its_run_is_being_created_is_stopped_once(service, adb, phones, tmp_path):
    """The creator read the task, the operator stopped it, the creator created and attached its run
    (Scheduled) and has not cancelled it yet: a second stop then is refused, as for any ended task."""
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        wired.tasks.creator.stop()  # its steps are taken by hand below
        app = AppClient(wired)
        [task_id] = app.create([serial], ["stopped"], start_time=tomorrow())
        [row] = wired.index.tasks.to_create(100)
        assert app.ok("POST", f"/task/{task_id}/stop")["status"] == 3
        [run_id] = wired.orchestrator.writes.create_runs([wired.tasks.creator._new_run(row)])  # made from the row it read
        wired.index.tasks.attach_flow_runs({task_id: run_id})
        status, body = app.call("POST", f"/task/{task_id}/stop")
        assert (status, body["code"]) == (400, 40001) and "already finished (cancelled)" in body["message"]
        wired.tasks.creator.stop_runs([run_id])  # what the creator does next
        assert wired.orchestrator.runs.read_runs([run_id])[run_id].state_type == "CANCELLED"
        # Retried, it runs again, and can be stopped again.
        assert app.ok("POST", f"/task/{task_id}/retry")["status"] in (0, 1)
        # The worker may have taken the retried run already: the stop then ends it on the phone.
        assert app.ok("POST", f"/task/{task_id}/stop")["status"] in (1, 3)
        assert app.wait_for(task_id, timeout=30)["status"] == 3
