"""Prefect's flow runs, states and deployment schedules turned into the domain's values (api.gateways.runs)."""

from __future__ import annotations

from typing import Optional

from prefect.client.schemas.objects import DeploymentSchedule, FlowRun, State

from api.gateways.runs import PastState, PlanSchedule, Run, RunState
from contract.names import AUTO_RETRIES_TAG, tag_value


def firing_plan_id(run: FlowRun) -> Optional[str]:
    """The plan (schedule) that made this run; None for a run made another way (the UI's "Run")."""
    created_by = run.created_by
    if created_by is None or created_by.type != "SCHEDULE" or created_by.id is None:
        return None
    return str(created_by.id)


def run_state(run: FlowRun) -> RunState:
    state = run.state
    return RunState(
        flow_run_id=str(run.id),
        state_type=run.state_type.value if run.state_type else None,
        state_name=state.name if state else None,
        message=state.message if state else None,
        timestamp=state.timestamp if state else None,
        start_time=run.start_time,
        # A Scheduled run is due at its state's time (a retry's, a budget's put-off): Prefect keeps
        # expected_start_time at the first one.
        expected_start_time=(run.next_scheduled_start_time or run.expected_start_time) if state and state.is_scheduled()
        else run.expected_start_time,
        end_time=run.end_time,
        auto_retries=int(tag_value(run.tags, AUTO_RETRIES_TAG) or 0),
    )


def as_run(run: FlowRun) -> Run:
    return Run(id=str(run.id), name=run.name, state=run_state(run), parameters=dict(run.parameters or {}),
               tags=tuple(run.tags or ()), work_queue_name=run.work_queue_name, plan_id=firing_plan_id(run))


def as_past_state(state: State) -> PastState:
    return PastState(type=state.type.value, name=state.name, message=state.message, timestamp=state.timestamp,
                     final=state.is_final(), original=state)


def as_schedule(schedule: DeploymentSchedule) -> PlanSchedule:
    return PlanSchedule(id=str(schedule.id), active=bool(schedule.active), created=schedule.created,
                        parameters=dict(schedule.parameters or {}))
