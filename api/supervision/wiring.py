"""The one place that wires the service's parts together: used by the launcher, the tests and the benchmark."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import falcon

from api.domain.account_marks import AccountMarks
from api.domain.budget_holds import ActionBudgets
from api.domain.budgets import SHIPPED as SHIPPED_BUDGETS
from api.domain.budgets import load_defaults
from api.domain.accounts import AccountBook
from api.domain.callbacks import CallbackPolicy, CallbackSender
from api.domain.expiry import QueueTimeouts
from api.domain.adoption import UiRunAdoption
from api.domain.phones import PhoneDirectory
from api.domain.plan_limits import FiringGate, PlanLimits
from api.domain.planning import RequestLimits
from api.domain.plans import PLANS
from api.domain.recurring import PlanBook
from api.domain.tasks import TaskService
from api.domain.triggers import Trigger
from api.gateways.adb import AdbGateway
from api.gateways.disk import DiskSpace
from api.gateways.index import Index
from api.gateways.prefect import Orchestrator
from api.gateways.prefect_events import RunEventFeed
from api.gateways.screens import ScreenCamera
from api.rest.app import Services, create_app
from api.settings import Settings
from api.supervision.keeper import Keeper
from api.supervision.silent_pcs import SilentPcs
from contract.pcs import REPORT_SECONDS


@dataclass
class Wired:
    orchestrator: Orchestrator
    index: Index
    phones: PhoneDirectory
    tasks: TaskService
    accounts: AccountBook
    app: falcon.App
    keeper: Keeper
    run_events: RunEventFeed
    plans: PlanBook
    plan_clock: Keeper
    callbacks: CallbackSender
    camera: ScreenCamera

    def start_background(self) -> None:
        """Create the runs of stored tasks, follow Prefect's run events (the index's copy of
        states), then begin the upkeep, the plans' firings and the callbacks."""
        self.tasks.creator.start()
        self.run_events.start()
        self.keeper.start()
        self.plan_clock.start()
        self.callbacks.start()
        self.camera.start()

    def stop_background(self) -> None:
        self.camera.stop()
        self.callbacks.stop()
        self.plan_clock.stop()
        self.keeper.stop()
        self.run_events.stop()
        self.tasks.creator.stop()


def wire(settings: Settings, *, supervisor: Optional[object] = None,
         orchestrator: Optional[Orchestrator] = None) -> Wired:
    """Every object the API needs, over the Prefect server, index and adb server `settings` name
    (and the caller's Prefect gateway, if it has one). The gateways are built here as parts over one
    connection each (Index, Orchestrator), and each service is given the parts it uses. The keeper
    and the event feed are built but not started: the caller decides when background upkeep begins."""
    orchestrator = orchestrator or Orchestrator(
        settings.prefect_url, write_concurrency=settings.prefect_write_concurrency, auth_string=settings.prefect_auth)
    index = Index(settings.index_path)
    disk = DiskSpace(settings.data_dir, settings.min_free_disk_mb)
    policy = CallbackPolicy(tuple(settings.callback_urls),
                            settings.callback_secret.get_secret_value() if settings.callback_secret else None)
    phones = PhoneDirectory(AdbGateway(settings.adb_host, settings.adb_port), index.phones, index.tasks,
                            pc_name=settings.pc_name, pc_reports=orchestrator.pcs.pc_reports,
                            silence_seconds=settings.pc_silence_seconds)
    tasks = TaskService(
        index.tasks, index.accounts, orchestrator.runs, orchestrator.writes, orchestrator.secrets, phones.known_serials,
        ui_url=settings.prefect_ui_url,
        retry_limit=settings.retry_limit,
        max_tasks_per_request=settings.max_tasks_per_request,
        material_library=settings.material_library,
        material_roots=tuple(settings.material_roots),
        comment_endpoints=tuple(settings.comment_endpoints),
        callbacks=policy,
        limits=RequestLimits(tuple(settings.comment_models), settings.max_request_config_bytes,
                             settings.max_accounts_per_phone),
        default_expire_after=settings.default_expire_after_minutes,
        kept_off=phones.kept_off,
    )
    marks = AccountMarks(index.accounts, rate_limit_pause=timedelta(minutes=settings.rate_limit_pause_minutes))
    tasks.mirror.on_failed.append(marks.take_ends)
    tasks.creator.before_batch.append(marks.note_held)
    tasks.budgets = ActionBudgets(index.budgets, index.accounts, load_defaults(settings.action_budgets_file or SHIPPED_BUDGETS),
                                  orchestrator.writes, tasks.mirror.refresh)
    tasks.creator.admit = tasks.budgets.admit
    tasks.creator.before_batch.append(tasks.budgets.sweep)
    tasks.creator.before_batch.append(
        QueueTimeouts(index.tasks, orchestrator.runs, orchestrator.writes, tasks.mirror).check)
    accounts = AccountBook(index.accounts, phones, orchestrator.runs, orchestrator.writes, marks,
                           settings.max_accounts_per_phone)
    plans = PlanBook(tasks, index.plans, index.tasks, index.accounts, orchestrator.schedules, phones.attached_serials,
                     timezone=settings.timezone, ui_url=settings.prefect_ui_url,
                     limits=PlanLimits(settings.min_repeat_seconds, settings.max_plans, settings.max_fired_tasks_per_minute),
                     gate=FiringGate(disk, PLANS[settings.plan], settings.max_fired_tasks_per_minute))
    # Each due firing is taken within a second of its time.
    plan_clock = Keeper([plans.fire_due], 1.0, name="plan-clock")
    callbacks = CallbackSender(index.outbox, policy, settings.prefect_ui_url)
    adoption = UiRunAdoption(tasks, index.tasks, orchestrator.runs, orchestrator.writes, random.Random())
    # Asked of Prefect when its events name a run that is no task (a UI run, an account read
    # ending), and at least every 30 s; abandoned stops take a minute to appear, so every 15 s.
    adoption_due, accounts_due = Trigger(30), Trigger(30)
    tasks.mirror.on_unknown_runs += [adoption_due.fire, accounts_due.fire]
    keeper = Keeper([
        tasks.mirror.upkeep,  # first: the runs it finds no task for are looked for in the same round
        (adoption.adopt_new_runs, adoption_due),
        (accounts.record_finished_matches, accounts_due),
        (tasks.finish_abandoned_stops, Trigger(15)),
        tasks.purge_pending_deletions,
        (phones.refresh_other_pcs, Trigger(REPORT_SECONDS)),  # PCs report this often: reading more often finds nothing new
        SilentPcs(phones, orchestrator).settle,
    ], settings.ui_adoption_seconds)
    run_events = RunEventFeed(settings.prefect_url, settings.prefect_auth,
                              on_changed=tasks.mirror.take_events, on_connected=tasks.mirror.reconcile_everything)
    # Screens of this PC's phones only: the others are another adb server's.
    camera = ScreenCamera(phones.adb.server, settings.phone_locks_dir, phones.attached_here)
    app = create_app(Services(
        tasks=tasks, plans=plans, phones=phones, accounts=accounts, index=index, orchestrator=orchestrator,
        plan=PLANS[settings.plan],
        disk=disk, camera=camera,
        artifacts_dir=settings.artifacts_dir, supervisor=supervisor,
        api_token=settings.api_token.get_secret_value() if settings.api_token else None,
        max_body_bytes=settings.max_body_bytes, allowed_hosts=tuple(settings.allowed_hosts),
    ))
    return Wired(orchestrator, index, phones, tasks, accounts, app, keeper, run_events, plans, plan_clock, callbacks, camera)
