"""Recurring plans: a create request kept as a Prefect deployment schedule, fired into tasks when due."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime
from typing import Callable, Optional


from api.domain.errors import ApiError, invalid, not_found
from api.domain.plan_limits import DEFAULT_PLAN_LIMITS, FiringGate, PlanLimits
from api.domain.repeat import recurrence
from api.domain.requests import TaskRequest
from api.domain.tasks import TaskService
from api.domain.views import local_time
from api.gateways.index import Account, AccountTable, NewTask, PlanRecord, PlanTable, TaskTable
from api.gateways.prefect_schedules import PlanSchedules
from api.gateways.runs import PlanSchedule, Run

log = logging.getLogger(__name__)
SOURCE = "schedule"
MISSED = "missed while the API was not running; the plan's latest due firing ran in its place"
NOT_A_PLAN = "runs of this deployment are made by plan schedules (POST /api/v1/task with repeat); this one is no plan's"
# What a plan keeps of its request: the rest (start_time, repeat) says when, not what.
REQUEST_FIELDS = ("serials", "usernames", "script_name", "script_config", "enable_multi_account",
                  "min_interval", "max_interval", "callback_url", "expire_after")


class PlanBook:
    """The API's plans. Each is one schedule of the plans deployment (when it fires, whether it is
    paused: Prefect's to say) and a record in the index (the request it fires: ours to keep)."""

    def __init__(self, tasks: TaskService, records: PlanTable, table: TaskTable, accounts: AccountTable,
                 schedules: PlanSchedules, attached_serials: Callable[[], set[str]], *, timezone: str,
                 ui_url: str, rng: Optional[random.Random] = None, limits: PlanLimits = DEFAULT_PLAN_LIMITS,
                 gate: Optional[FiringGate] = None):
        self.tasks = tasks
        self.records = records
        self.table = table
        self.accounts = accounts
        self.schedules = schedules
        self.attached_serials = attached_serials
        self.timezone = timezone
        self.ui_url = ui_url
        self.rng = rng or random.Random()
        self.limits = limits
        self.gate = gate or FiringGate(per_minute=limits.max_fired_tasks_per_minute)

    # The API -------------------------------------------------------------------

    def create(self, request: TaskRequest, now: datetime) -> dict:
        self.tasks.require_prefect()
        when = recurrence(request.repeat or "", request.start_time, now, self.timezone, self.limits.min_repeat_seconds)
        if len(self.records.plan_records()) >= self.limits.max_plans:
            raise invalid(f"There are {self.limits.max_plans} plans already, the most this farm keeps "
                          "(PHONEFARM_MAX_PLANS): delete one first", {"field": "repeat"})
        # Checked as an immediate request would be, so a bad plan is refused now, not at each firing.
        self.tasks.plan(replace(request, start_time=None, repeat=None), now, random.Random(0))
        kept = {name: getattr(request, name) for name in REQUEST_FIELDS}
        if isinstance(kept["script_config"], dict):
            kept["script_config"] = self.tasks.secrets.hide(kept["script_config"])
        parameters = {"repeat": request.repeat, "start_time": request.start_time, "request": kept}
        schedule = self.schedules.create_schedule(when, parameters)
        try:
            record = self.records.save_plan(str(schedule.id), kept, request.repeat, request.start_time)
        except Exception:  # a schedule no index owns would fire runs nobody takes
            self.schedules.delete_schedule(schedule.id)
            raise
        return self._view(record, schedule, self.schedules.next_firings())

    def list(self) -> list[dict]:
        self.tasks.require_prefect()
        nexts = self.schedules.next_firings()
        return [self._view(record, schedule, nexts) for record, schedule in self._plans().values()]

    def get(self, plan_id: str) -> dict:
        self.tasks.require_prefect()
        record, schedule = self._plan(plan_id)
        return self._view(record, schedule, self.schedules.next_firings())

    def change(self, plan_id: str, *, paused: Optional[bool], repeat: Optional[str], start_time: Optional[str],
               now: datetime) -> dict:
        self.tasks.require_prefect()
        record, schedule = self._plan(plan_id)
        when = None
        if repeat is not None or start_time is not None:
            repeat = repeat if repeat is not None else record.repeat
            start_time = (start_time or None) if start_time is not None else record.start_time
            when = recurrence(repeat, start_time, now, self.timezone, self.limits.min_repeat_seconds)
            record = self.records.save_plan(plan_id, record.request, repeat, start_time)
        # Parameters always go along: Prefect 3.9 empties a schedule's parameters on any update without them.
        self.schedules.update_schedule(schedule.id, active=None if paused is None else not paused,
                                       recurrence=when, parameters=record.parameters())
        return self.get(plan_id)

    def delete(self, plan_id: str) -> None:
        """The plan goes; the tasks it already created stay."""
        self.tasks.require_prefect()
        _, schedule = self._plan(plan_id)
        self.schedules.delete_schedule(schedule.id)
        self.records.forget_plan(plan_id)

    def _plans(self, records: Optional[dict[str, PlanRecord]] = None) -> dict[str, tuple[PlanRecord, PlanSchedule]]:
        """This index's plans whose schedule Prefect still has (one deleted in the Prefect UI is gone)."""
        records = self.records.plan_records() if records is None else records
        return {str(s.id): (records[str(s.id)], s) for s in self.schedules.schedules() if str(s.id) in records}

    def _plan(self, plan_id: str) -> tuple[PlanRecord, PlanSchedule]:
        found = self._plans().get(plan_id.lower())
        if found is None:
            raise not_found(f"Plan {plan_id} not found")
        return found

    def _view(self, record: PlanRecord, schedule: PlanSchedule, nexts: dict[str, datetime]) -> dict:
        fired_at, task_ids = self.table.last_firing(record.id)
        deployment = self.schedules.plans_deployment_id()
        return {
            "id": record.id,
            "repeat": record.repeat,
            "start_time": record.start_time,
            "timezone": self.timezone,
            "paused": not schedule.active,
            "next_firing": local_time(nexts.get(record.id)) if schedule.active else None,
            "last_firing": {"at": local_time(datetime.fromisoformat(fired_at)), "task_ids": task_ids} if fired_at else None,
            "request": record.request,
            "created_at": local_time(schedule.created),
            "deployment_url": f"{self.ui_url}/deployments/deployment/{deployment}",
        }

    # Firing --------------------------------------------------------------------

    def fire_due(self, now: Optional[datetime] = None) -> int:
        """Fire every plan whose firing is due; how many fired. Firings of one plan missed while the
        API was down collapse into its latest: a farm back after three days posts once, not thrice."""
        now = now or datetime.now().astimezone()
        records = self.records.plan_records()
        if not records:  # nothing to ask Prefect every second for
            return 0
        due = self.schedules.due_firings(now)
        if not due:
            return 0
        by_plan: dict[str, list[Run]] = {}
        for run in due:
            plan_id = run.plan_id
            if plan_id is None:  # the Prefect UI's "Run" on the plans deployment
                self.schedules.end_firing(run.id, "FAILED", NOT_A_PLAN)
            elif plan_id in records:  # others belong to another index on the same Prefect server
                by_plan.setdefault(plan_id, []).append(run)
        if not by_plan:
            return 0
        plans = self._plans(records)
        fired = 0
        for plan_id, runs in by_plan.items():
            *missed, latest = sorted(runs, key=lambda run: run.expected_start_time)
            for run in missed:
                self.schedules.end_firing(run.id, "CANCELLED", MISSED)
            record, schedule = plans.get(plan_id, (None, None))
            if schedule is None or not schedule.active:
                self.schedules.end_firing(latest.id, "CANCELLED", "its plan was paused or deleted")
                continue
            if schedule.parameters.get("request") != record.request:  # emptied by an edit in the Prefect UI
                self.schedules.update_schedule(schedule.id, parameters=record.parameters())
            self.fire(plan_id, latest, now)
            fired += 1
        return fired

    def fire(self, plan_id: str, run: Run, now: datetime) -> list[int]:
        """Store the firing's tasks once (a firing stored before a crash is not stored again), then end its run."""
        firing_id = str(run.id)
        ids = self.table.tasks_of_firing(firing_id)
        if not ids:
            record = self.records.plan_record(plan_id)
            try:
                if record is None:
                    raise invalid("its plan was deleted")
                refused = self.gate.refusal()
                if refused:
                    raise invalid(refused)
                request = TaskRequest(**{name: record.request[name] for name in REQUEST_FIELDS if name in record.request})
                ids = self._store_firing(request, plan_id, firing_id, now)
            except ApiError as refused:
                log.warning("plan %s: firing %s created no task: %s", plan_id, firing_id, refused.message)
                self.schedules.end_firing(run.id, "FAILED", f"No task created: {refused.message}")
                return []
        self.schedules.end_firing(run.id, "COMPLETED", f"Created task(s) {', '.join(map(str, ids))}")
        return ids

    def _store_firing(self, request: TaskRequest, plan_id: str, firing_id: str, now: datetime) -> list[int]:
        unavailable = self._unavailable(request)
        failed = [self._summary(request, plan_id, firing_id, unavailable)] if unavailable else []
        off_serials = {serial for serial, username, _ in unavailable if username is None}
        off_names = {username for _, username, _ in unavailable if username is not None}
        available = replace(
            request,
            serials=[s for s in request.serials if s not in off_serials] if request.serials else None,
            usernames=[u for u in request.usernames if u.strip().lstrip("@") not in off_names]
            if request.usernames else None)
        planned = self.tasks.plan(available, now, self.rng) if (available.serials or available.usernames) else []
        if not planned and not failed:
            raise invalid("the plan names no phone or account")
        refused = self.gate.take(len(planned) + len(failed))
        if refused:
            raise invalid(refused)
        return self.tasks.store(planned, request, source=SOURCE, plan_id=plan_id, firing_id=firing_id, failed=failed)

    @staticmethod
    def _summary(request: TaskRequest, plan_id: str, firing_id: str,
                 unavailable: list[tuple[str, Optional[str], str]]) -> NewTask:
        """One failed task per firing for every phone or account that could not take it: a plan over
        many phones that are off does not add a row for each at every firing."""
        reasons = [why for _, _, why in unavailable]
        if len(unavailable) == 1:
            serial, username, _ = unavailable[0]
            remark = f"{reasons[0]} when plan {plan_id} fired"
        else:
            serial, username = "", None
            listed = "; ".join(reasons[:5]) + (f"; and {len(reasons) - 5} more" if len(reasons) > 5 else "")
            remark = f"{len(reasons)} phones or accounts got no task when plan {plan_id} fired: {listed}"
        return NewTask(serial, username, request.script_name or "", request.script_config or {}, source=SOURCE,
                       plan_id=plan_id, firing_id=firing_id, callback_url=request.callback_url, failed=remark)

    def _unavailable(self, request: TaskRequest) -> list[tuple[str, Optional[str], str]]:
        """(serial, username, why) of each phone or account that cannot take this firing's task."""
        attached = self.attached_serials()
        accounts: dict[str, Account] = {a.username: a for a in self.accounts.accounts()}
        found = []
        for serial in dict.fromkeys(request.serials or ()):
            if serial not in attached:
                found.append((serial, None, f"phone {serial} was offline"))
            elif request.enable_multi_account and not any(
                    a.serial == serial and a.enabled for a in accounts.values()):
                found.append((serial, None, f"phone {serial} had no enabled account"))
        for name in dict.fromkeys(u.strip().lstrip("@") for u in request.usernames or ()):
            account = accounts.get(name)
            if account is None:
                found.append(("", name, f"account {name} no longer exists"))
            elif not account.enabled:
                found.append((account.serial, name, f"account {name} was disabled"))
            elif account.serial not in attached:
                found.append((account.serial, name, f"phone {account.serial} of account {name} was offline"))
        return found
