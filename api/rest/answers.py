"""What the API answers inside its envelope's `data`: each answer's model, its OpenAPI schema too."""

from __future__ import annotations

import logging
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
Time = Annotated[str, Field(pattern=TIME_PATTERN, description="YYYY-MM-DD HH:MM:SS, server local time")]
Count = Annotated[int, Field(ge=0)]
TaskId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Page = Annotated[int, Field(ge=1)]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]
Status = Literal[0, 1, 2, 3]
StatusText = Literal["pending", "running", "completed", "failed"]
UpDown = Literal["up", "down"]

log = logging.getLogger(__name__)
# The tests set this: there a drifted answer fails the request instead of only being logged.
STRICT = False


class Answer(BaseModel):
    # A key the domain adds without its model here fails loudly in the tests rather than going
    # out undocumented; fields with a default are the keys an answer may leave out.
    model_config = ConfigDict(extra="forbid")


class CopyNotice(Answer):
    """The keys an answer read from the index's copy of run states carries only while the Prefect
    server is down; while it answers, the answer is the contract's, unchanged."""

    prefect: Literal["down"] = Field(
        None, description="only while the Prefect server is down: this answer is the index's copy of run states, "
                          "the last state known; writes answer 50301 meanwhile")
    as_of: Optional[Time] = Field(
        None, description="only while the Prefect server is down: when it last answered; the states are those its "
                          "events told up to then (null: not since the API started)")


class Task(Answer):
    id: TaskId
    serial: str
    username: Optional[str]
    script_name: str
    script_config: dict = Field(description="the effective config of this one task (after fan-out)")
    status: Status = Field(description="0 pending, 1 running, 2 completed, 3 failed")
    status_text: StatusText
    source: Literal["api", "ui", "schedule"] = Field(description="schedule: made by a plan's firing")
    start_time: Optional[Time]
    end_time: Optional[Time]
    created_at: Time
    remark: str = Field(description="failure reason or status note, empty when none")
    retry_count: Count
    flow_run_id: Optional[Uuid] = Field(
        description="null for the moment between the answer that stored the task and its flow run's creation")
    flow_run_url: Optional[str]
    plan_id: Optional[str] = Field(description="the plan whose firing made it")
    callback_url: Optional[str]
    expire_after: Optional[float] = Field(description="minutes it may wait to start (null: no limit)")
    expires_at: Optional[Time] = Field(description="when it ends failed if it has not started by then")


class TaskDetail(Task, CopyNotice):
    """GET /task/{id}: the task object, and the copy's notice while Prefect is down."""


class TaskList(CopyNotice):
    tasks: list[Task]
    total: Count
    page: Page
    page_size: Page


class LastFiring(Answer):
    at: Time
    task_ids: list[TaskId]


class Plan(Answer):
    id: Uuid = Field(description="its Prefect deployment schedule's id")
    repeat: str
    start_time: Optional[str]
    timezone: str
    paused: bool = Field(description="paused through the API or in the Prefect UI")
    next_firing: Optional[Time]
    last_firing: Optional[LastFiring]
    request: dict = Field(description="what each firing creates tasks from")
    created_at: Time
    deployment_url: str = Field(description="the plans deployment in the Prefect UI")


class Plans(Answer):
    plans: list[Plan]
    total: Count


class Created(Answer):
    task_ids: list[TaskId]
    created_count: Count
    plan_id: str = Field(None, description="with repeat: the plan made instead of tasks")
    plan: Plan = None


class Deleted(Answer):
    deleted_count: Count


class BatchDeleted(Answer):
    deleted_count: Count
    not_found: list[int]


class RetriedAll(Answer):
    retried_count: Count


class Stats(CopyNotice):
    total: Count
    pending: Count
    running: Count
    completed: Count
    failed: Count


class LogLine(Answer):
    time: str = Field(json_schema_extra={"format": "date-time"},
                      description="the service's local time, with milliseconds")
    level: str = Field(description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    message: str


class Logs(Answer):
    task_id: TaskId
    flow_run_id: Optional[Uuid]
    page: Page
    page_size: Page
    has_more: bool = Field(description="true when a next page has lines")
    logs: list[LogLine]


class Artifact(Answer):
    name: str
    size: Count
    url: str = Field(description="GET it for the file")


class Artifacts(Answer):
    artifacts: list[Artifact]


class PhoneHealth(Answer):
    battery_level_percent: int
    battery_temperature_c: float
    charging: bool
    free_storage_mb: int
    android_version: str
    model: str
    read_at: str = Field(description="when it was read (ISO 8601, UTC)")


class Device(Answer):
    serial: str
    state: str = Field(description="adb state: device, offline, unauthorized, ... (offline too while its PC "
                                   "does not answer)")
    model: str
    pc: str = Field(description="the PC whose adb server has it; only that PC runs its tasks")
    contested: bool = Field(description="two PCs report this serial: neither runs its tasks until one has it alone")
    busy: bool
    task_id: Optional[int]
    health: Optional[PhoneHealth] = Field(description="read by its PC's worker every health_interval_seconds; null until read")
    kept_off: Optional[str] = Field(description="why it takes no new task until it recovers (battery, temperature, storage); "
                                                "null when it may")


class Devices(Answer):
    total: Count
    devices: list[Device]


class Marked(Answer):
    """An account's mark, in both account answers."""

    mark: Optional[Literal["banned", "needs_attention", "rate_limited"]] = Field(
        description="set when a task met a screen that blocks the account: it gets no task until the mark is "
                    "cleared (DELETE /account/{username}/mark) or, for rate_limited, until mark_until; null when none")
    mark_remark: Optional[str] = Field(description="what the app showed")
    marked_at: Optional[Time]
    mark_until: Optional[Time] = Field(description="rate_limited: when its tasks run again")


AccountTags = Annotated[list[str], Field(description="the operator's labels (POST or PATCH /account)")]


class Account(Marked):
    username: str
    platform: Literal["tiktok", "instagram"]
    serial: str
    enabled: bool
    tags: AccountTags
    budgets: dict[str, int] = Field(description="the account's own action budgets (e.g. follow_per_hour); "
                                               "the others are its platform's defaults (docs/operations.md)")


class AccountStatus(Marked):
    """An account as the original product's Accounts Status API writes it; never a password."""

    id: Annotated[int, Field(ge=1)]
    username: str
    email: str = Field(description="always empty: the farm does not read it")
    platform: Literal["tiktok", "instagram"]
    packagename: Optional[str] = Field(description="null: the platform's own app (clone apps are not used)")
    device: str = Field(description="the phone's serial")
    device_online: bool
    device_name: str = Field(description="the phone's model; empty while it is offline")
    logined: Literal[0, 1] = Field(description="1 when the phone's last account read (POST /account/match) found it")
    logined_text: Literal["logged_in", "not_logged_in"]
    status: Literal[0, 1] = Field(description="0 enabled, 1 disabled")
    status_text: Literal["enabled", "disabled"]
    tags: AccountTags


class AccountStatusPage(Answer):
    accounts: list[AccountStatus]
    total: Count
    page: Page
    page_size: Page


class Accounts(Answer):
    accounts: list[Account]
    total: Count


class Matching(Answer):
    serial: str
    flow_run_id: Uuid


class Matched(Answer):
    matching: list[Matching]
    requested_count: Count


class License(Answer):
    plan_name: Literal["Starter", "Pro", "Team", "Business"]
    api_enabled: bool
    device_limit: Count
    message: str


class Health(Answer):
    api: Literal["up"]
    prefect: UpDown
    worker: Literal["up", "down", "unknown"] = Field(
        description="unknown: no worker started by this service (other PCs' workers show in the Prefect UI)")
    adb: UpDown
    phones: Count
    disk: Literal["ok", "full"] = Field(description="full: writes are refused (50301) until space is freed")
    disk_free_mb: Optional[Count] = Field(None, description="only to a caller with the API token")
    processes: Optional[dict[str, UpDown]] = Field(
        None, description="the processes this service started and supervises; only to a caller with the API token")
    restarts: Optional[dict[str, Count]] = Field(
        None, description="restarts of each of those processes; only to a caller with the API token")
    last_restarts: Optional[dict[str, str]] = Field(
        None, description="when and why each restarted process was last restarted (exited, or hung: failed its "
                          "health check); only to a caller with the API token")


class BriefTask(Answer):
    id: TaskId
    script_name: str
    username: Optional[str]
    status: Status
    status_text: StatusText
    remark: str
    start_time: Optional[Time]
    end_time: Optional[Time]
    flow_run_url: Optional[str]


class RunningTask(BriefTask):
    elapsed_seconds: Optional[Annotated[float, Field(ge=0)]]


class FailedTask(BriefTask):
    artifacts: str = Field(description="its artifacts' listing")


class FarmPhone(Device):
    accounts: list[str] = Field(description="accounts registered on this phone")
    screen: bool = Field(description="GET /device/{serial}/screen can show it (the API PC's phones)")
    task: Optional[RunningTask]
    last_failure: Optional[FailedTask]


class Farm(CopyNotice):
    """GET /farm: what the phone wall page shows."""

    pc: str = Field(description="the API's PC")
    prefect_ui_url: str
    stats: Stats
    phones: list[FarmPhone]
    marked_accounts: list[Account] = Field(description="accounts that get no task until their mark is cleared or ends")


ANSWERS: tuple[type[Answer], ...] = (
    Task, TaskDetail, TaskList, Created, Plan, Plans, Deleted, BatchDeleted, RetriedAll, Stats, Logs, Artifacts, Devices,
    Account, Accounts, AccountStatusPage, Matched, License, Health, Farm,
)


def answer(model: type[Answer], data) -> dict:
    """`data` checked against its model and written as the model writes it; keys it left out stay out."""
    try:
        return model.model_validate(data).model_dump(mode="json", exclude_unset=True)
    except ValidationError as error:
        if STRICT:
            raise
        # An operator's request must not fail because an answer drifted from its documented model:
        # the answer goes out as the domain made it, and the drift is logged for us to fix.
        log.error("answer drifted from its model %s: %s", model.__name__, error)
        return data
