"""Recurring plans in Prefect: schedules on a deployment of their own, whose runs the API fires itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional
from uuid import UUID

from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.filters import (
    DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Completed, Failed

from api.gateways.prefect_connection import PrefectPart, reachable
from api.gateways.prefect_runs import as_run, as_schedule, firing_plan_id
from api.gateways.runs import PlanSchedule, Run

PLANS_FLOW = "fire-plan"
PLANS_DEPLOYMENT_NAME = "plans"
PLANS_DEPLOYMENT = f"{PLANS_FLOW}/{PLANS_DEPLOYMENT_NAME}"
# How many firings Prefect keeps scheduled ahead per plan (the UI lists them on the deployment).
RUNS_AHEAD = 10


@dataclass(frozen=True)
class Recurrence:
    """When a plan fires: every `seconds` from `anchor`, or on a cron expression; in `timezone`."""

    timezone: str
    seconds: Optional[int] = None
    anchor: Optional[datetime] = None
    cron: Optional[str] = None

    def valid(self) -> bool:
        try:
            self.prefect_schedule()
        except ValueError:  # pydantic's ValidationError: Prefect's own check of the expression
            return False
        return True

    def prefect_schedule(self):
        if self.cron is not None:
            return CronSchedule(cron=self.cron, timezone=self.timezone)
        return IntervalSchedule(interval=timedelta(seconds=self.seconds), anchor_date=self.anchor, timezone=self.timezone)


class PlanSchedules(PrefectPart):
    """Plans as schedules of the plans deployment. That deployment has no work pool: no worker runs
    its flow runs; the API takes each one when it falls due (as a `flow.serve` runner takes its own)
    and ends it Completed once the plan's tasks are stored."""

    def plans_deployment_id(self) -> UUID:
        if PLANS_DEPLOYMENT not in self._deployment_ids:
            with reachable(self._health):
                try:
                    found = self._client.read_deployment_by_name(PLANS_DEPLOYMENT).id
                except ObjectNotFound:
                    # Created once, never upserted: an upsert would replace the plans' schedules.
                    flow_id = self._client.create_flow_from_name(PLANS_FLOW)
                    found = self._client.create_deployment(
                        flow_id=flow_id, name=PLANS_DEPLOYMENT_NAME,
                        description="Recurring plans of the phone farm's API: each schedule is one plan "
                                    "(POST /api/v1/task with `repeat`); the API fires its runs.",
                    )
            self._deployment_ids[PLANS_DEPLOYMENT] = found
        return self._deployment_ids[PLANS_DEPLOYMENT]

    def create_schedule(self, recurrence: Recurrence, parameters: dict) -> PlanSchedule:
        deployment_id = self.plans_deployment_id()
        with self._writing():
            [created] = self._client.create_deployment_schedules(deployment_id, [DeploymentScheduleCreate(
                schedule=recurrence.prefect_schedule(), active=True, parameters=parameters,
                max_scheduled_runs=RUNS_AHEAD)])
            self._schedule_ahead(deployment_id, since=recurrence.anchor)
        return as_schedule(created)

    def schedules(self) -> list[PlanSchedule]:
        with reachable(self._health):
            return [as_schedule(s) for s in self._client.read_deployment_schedules(self.plans_deployment_id())]

    def update_schedule(self, schedule_id: str, *, active: Optional[bool] = None,
                        recurrence: Optional[Recurrence] = None, parameters: Optional[dict] = None) -> None:
        """Prefect drops the deployment's future firings on any change; they are made again at once."""
        deployment_id = self.plans_deployment_id()
        with self._writing():
            self._client.update_deployment_schedule(
                deployment_id, UUID(str(schedule_id)), active=active, parameters=parameters,
                schedule=recurrence.prefect_schedule() if recurrence else None)
            self._schedule_ahead(deployment_id, since=recurrence.anchor if recurrence else None)

    def delete_schedule(self, schedule_id: str) -> None:
        deployment_id = self.plans_deployment_id()
        with self._writing():
            self._client.delete_deployment_schedule(deployment_id, UUID(str(schedule_id)))
            self._schedule_ahead(deployment_id)

    def _schedule_ahead(self, deployment_id: UUID, since: Optional[datetime] = None) -> None:
        # Prefect's scheduler service would make them within its loop (60 s); a plan due sooner
        # must not wait for it. Prefect schedules from the moment it is asked: a first firing that fell
        # due while a busy server stored its schedule would be skipped (a plan "every hour" first firing
        # an hour late), so the new schedule's own start goes too. Firings already made are not made
        # again (Prefect's idempotency key is the schedule and the time).
        body = {"max_runs": RUNS_AHEAD, **({"start_time": since.isoformat()} if since else {})}
        self._client.request("POST", "/deployments/{id}/schedule", path_params={"id": deployment_id}, json=body)

    def due_firings(self, now: datetime) -> list[Run]:
        """Firings due by now, oldest first; asking marks the deployment as served in the Prefect UI."""
        with reachable(self._health):
            runs = self._client.get_scheduled_flow_runs_for_deployments(
                [self.plans_deployment_id()], scheduled_before=now, limit=200)
        return [as_run(run) for run in runs]

    def next_firings(self) -> dict[str, datetime]:
        """The next firing of each plan (schedule id -> time), from the runs Prefect has made ahead."""
        with reachable(self._health):
            runs = self._client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self.plans_deployment_id()])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)
        found: dict[str, datetime] = {}
        for run in runs:
            plan_id = firing_plan_id(run)
            if plan_id and plan_id not in found:
                found[plan_id] = run.expected_start_time
        return found

    def end_firing(self, flow_run_id, outcome: str, message: str) -> None:
        state = {"COMPLETED": Completed, "FAILED": Failed, "CANCELLED": Cancelled}[outcome](message=message)
        with self._writing():
            self._client.set_flow_run_state(UUID(str(flow_run_id)), state, force=True)

