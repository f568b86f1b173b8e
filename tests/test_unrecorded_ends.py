"""worker.unrecorded_ends on the session's Prefect server: a run whose process ended but whose end
Prefect never stored (a full disk) is settled by its worker, once the server takes writes again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prefect import flow
from prefect.client.schemas.objects import State, StateType
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from prefect.states import Running

from worker.unrecorded_ends import ENDED_UNRECORDED, NEVER_STARTED, STOPPED, UnrecordedEnds


@flow(name="unrecorded-ends")
def never_runs() -> None:
    """Only its runs are used: their states are set by hand, as a dead process would have left them."""


@pytest.fixture(scope="module")
def prefect(service):
    with service.prefect() as client:

        def run_in(state_type: str) -> uuid.UUID:
            return client.create_flow_run(never_runs, state=State(type=StateType(state_type))).id

        def state_of(run_id: uuid.UUID) -> State:
            return client.read_flow_run(run_id).state

        yield run_in, state_of, client


def settle(service, ends: UnrecordedEnds, api_url: str | None = None) -> int:
    with temporary_settings({PREFECT_API_URL: api_url or service.prefect_api, PREFECT_API_AUTH_STRING: service.prefect_auth}):
        return asyncio.run(ends.settle_due())


def test_each_run_left_active_gets_the_end_its_process_could_not_write(service, prefect):
    run_in, state_of, _ = prefect
    ends = UnrecordedEnds(grace=0, clock_margin=0)
    running, pending, cancelling, completed = (run_in(t) for t in ("RUNNING", "PENDING", "CANCELLING", "COMPLETED"))
    for run_id in (running, pending, cancelling, completed):
        ends.started(run_id)
        ends.ended(run_id)
    assert settle(service, ends) == 3
    assert (state_of(running).type.value, state_of(running).message) == ("CRASHED", ENDED_UNRECORDED)
    assert (state_of(pending).type.value, state_of(pending).message) == ("SCHEDULED", NEVER_STARTED)
    assert (state_of(cancelling).type.value, state_of(cancelling).message) == ("CANCELLED", STOPPED)
    assert state_of(completed).type.value == "COMPLETED"
    assert ends.pending == set()


def test_a_state_written_after_the_process_ended_stands(service, prefect):
    """A retry or a new process wrote it: it is someone else's truth."""
    run_in, state_of, client = prefect
    ends = UnrecordedEnds(grace=0, clock_margin=0)
    run_id = run_in("SCHEDULED")
    ends.ended(run_id)
    client.set_flow_run_state(run_id, Running(), force=True)
    assert settle(service, ends) == 0
    assert state_of(run_id).type.value == "RUNNING"
    assert ends.pending == set()


def test_a_run_ended_moments_ago_waits_for_its_own_final_write(service, prefect):
    run_in, state_of, _ = prefect
    ends = UnrecordedEnds(grace=60)
    run_id = run_in("RUNNING")
    ends.ended(run_id)
    assert settle(service, ends) == 0
    assert state_of(run_id).type.value == "RUNNING" and ends.pending == {run_id}


def test_a_server_that_refuses_the_write_is_asked_again_next_round(service, prefect):
    run_in, state_of, _ = prefect
    ends = UnrecordedEnds(grace=0, clock_margin=0)
    run_id = run_in("RUNNING")
    ends.ended(run_id)
    assert settle(service, ends, api_url="http://127.0.0.1:9/api") == 0  # nothing listens on port 9
    assert ends.pending == {run_id}
    assert settle(service, ends) == 1
    assert state_of(run_id).type.value == "CRASHED" and ends.pending == set()
