"""The remark of a task whose worker died names the dead worker, whoever noticed first (issue: a run's own
process and the launcher race to settle it). Each side of the race is forced on the real Prefect server."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from prefect.states import Crashed, Failed, Running

from api.domain.views import remark
from api.supervision import orphans
from contract.names import DEPLOYMENT, device_queue
from tests.inprocess import wired_app

PROCESS_WROTE = "Execution was aborted by Python system exit call."


@pytest.fixture
def prefect(service):
    with service.prefect() as client:
        yield client


@pytest.fixture
def orchestrator(service, adb, tmp_path):
    with wired_app(service, adb, tmp_path) as wired:
        yield wired.orchestrator


def started_run(prefect, orchestrator, serial: str):
    """A run that started on a phone of a PC whose worker is gone (no worker ever takes it)."""
    orchestrator.pool.ensure_device_queue(serial)
    run = prefect.create_flow_run_from_deployment(
        prefect.read_deployment_by_name(DEPLOYMENT).id, name=f"orphan-{serial}", tags=["phonefarm"],
        parameters={"serial": serial, "script_name": "follow", "script_config": {}},
        work_queue_name=device_queue(serial), state=Running(),
    )
    return run.id


def remark_of(prefect, run_id) -> str:
    state = prefect.read_flow_run(run_id).state
    return remark(state.type.value, state.name, state.message)


def test_the_launcher_settles_first(prefect, orchestrator):
    serial = f"gone-{uuid.uuid4().hex[:8]}"
    run_id = started_run(prefect, orchestrator, serial)
    worker_last_seen = datetime.now(timezone.utc)
    assert orphans.settle(orchestrator, orphans.WORKER_DIED, {serial}, worker_last_seen) == (1, 0)
    assert remark_of(prefect, run_id) == f"run crashed: {orphans.WORKER_DIED}"


def test_the_runs_own_process_writes_first(prefect, orchestrator):
    serial = f"gone-{uuid.uuid4().hex[:8]}"
    run_id = started_run(prefect, orchestrator, serial)
    worker_last_seen = datetime.now(timezone.utc)
    # What Prefect's engine writes when its process is torn down with the worker, before the launcher.
    prefect.set_flow_run_state(run_id, Crashed(message=PROCESS_WROTE), force=True)
    assert orphans.settle(orchestrator, orphans.WORKER_DIED, {serial}, worker_last_seen) == (1, 0)
    assert remark_of(prefect, run_id) == f"run crashed: {orphans.WORKER_DIED}"


def test_a_crash_from_before_the_worker_died_keeps_its_own_cause(prefect, orchestrator):
    serial = f"gone-{uuid.uuid4().hex[:8]}"
    run_id = started_run(prefect, orchestrator, serial)
    prefect.set_flow_run_state(run_id, Crashed(message=PROCESS_WROTE), force=True)
    worker_last_seen = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert orphans.settle(orchestrator, orphans.WORKER_DIED, {serial}, worker_last_seen) == (0, 0)
    assert remark_of(prefect, run_id) == f"run crashed: {PROCESS_WROTE}"


def test_an_end_the_run_wrote_after_it_was_read_as_active_stands(prefect, orchestrator, monkeypatch):
    serial = f"gone-{uuid.uuid4().hex[:8]}"
    run_id = started_run(prefect, orchestrator, serial)
    read_while_running = orchestrator.runs.active_runs()
    # Its own process ends it Failed between the launcher's read and its write.
    prefect.set_flow_run_state(run_id, Failed(message="target user @ghost does not exist"), force=True)
    monkeypatch.setattr(orchestrator.runs, "active_runs", lambda: read_while_running)
    assert orphans.settle(orchestrator, orphans.WORKER_DIED, {serial}) == (0, 0)
    assert remark_of(prefect, run_id) == "target user @ghost does not exist"
