"""Which of Prefect's events the API's event feed takes as a run's state: state events only."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect.events import Event

from api.gateways.prefect_events import RunStateSeen, run_state_event

RUN = "0199cbf9-64f7-4427-8eee-2d8748c64651"


def event(name: str, resource: dict) -> Event:
    return Event(event=name, resource=resource)


def test_a_runs_state_event_says_its_state():
    # The resource labels as Prefect's server puts them on a flow run's state event.
    completed = event("prefect.flow-run.Completed", {
        "prefect.resource.id": f"prefect.flow-run.{RUN}", "prefect.resource.name": "task-0000000025-follow",
        "prefect.run-count": "1", "prefect.state-message": "now following @bob", "prefect.state-name": "Completed",
        "prefect.state-timestamp": "2026-12-06T11:56:41.632037+00:00", "prefect.state-type": "COMPLETED"})
    assert run_state_event(completed) == RunStateSeen(
        RUN, "COMPLETED", "Completed", "now following @bob", datetime(2026, 12, 6, 11, 56, 41, 632037, tzinfo=timezone.utc))


def test_a_runs_pull_step_and_other_resources_events_are_no_state():
    pull_step = event("prefect.flow-run.pull-step.executed", {"prefect.resource.id": f"prefect.flow-run.{RUN}"})
    worker = event("prefect.worker.submitted-flow-run", {"prefect.resource.id": "prefect.worker.process.vm-worker"})
    assert run_state_event(pull_step) is None and run_state_event(worker) is None
