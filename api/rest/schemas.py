"""Pydantic models of the request bodies and queries: the only place a request is validated."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, create_model

from api.domain.budgets import MAX_BUDGET, OVERRIDE_KEYS
from api.domain.errors import invalid, validation_failure
from api.domain.expiry import MAX_EXPIRE_AFTER
from api.domain.requests import TaskRequest
from api.domain.logs import MAX_LOG_PAGE_SIZE
from api.domain.tasks import MAX_PAGE_SIZE
from contract.script_configs import USERNAME_LENGTH

Model = TypeVar("Model", bound=BaseModel)

# Large enough for any farm; small enough that one request cannot flood Prefect.
MAX_IDS_PER_REQUEST = 1000
MAX_ACCOUNT_PAGE_SIZE = 100  # the original product's limit
SERIAL_LENGTH = 200  # adb serials are short; host:port ones for network phones stay well under this
Serial = Annotated[StrictStr, Field(max_length=SERIAL_LENGTH)]


class CreateTaskBody(BaseModel):
    # Clients of the original product send fields this service does not use: ignore them.
    model_config = ConfigDict(extra="ignore")

    serials: Optional[list[Serial]] = Field(None, max_length=MAX_IDS_PER_REQUEST)
    usernames: Optional[list[Annotated[StrictStr, Field(max_length=USERNAME_LENGTH + 10)]]] = Field(
        None, max_length=MAX_IDS_PER_REQUEST)
    script_name: Optional[StrictStr] = None
    script_config: Optional[dict[str, Any]] = None
    enable_multi_account: StrictBool = False
    start_time: Optional[StrictStr] = None
    min_interval: StrictInt = Field(0, ge=0, le=24 * 60)
    max_interval: StrictInt = Field(0, ge=0, le=24 * 60)
    # A recurring plan instead of tasks: "daily", "every 4 hours", a cron expression, or minutes.
    repeat: Optional[Union[Annotated[StrictInt, Field(ge=1, le=527040)], Annotated[StrictStr, Field(max_length=100)]]] = None
    callback_url: Optional[StrictStr] = Field(None, max_length=2000)
    # Fractions are allowed (0.5 = 30 s); leaving it out takes the farm's default, 0 sets no limit.
    expire_after: Optional[Annotated[float, Field(strict=True, ge=0, le=MAX_EXPIRE_AFTER)]] = Field(
        None, description="minutes the task may wait to start; then it ends failed, its run cancelled, the phone "
                          "untouched. Left out: PHONEFARM_DEFAULT_EXPIRE_AFTER_MINUTES; 0: no limit")


class TaskIdsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_ids: list[StrictInt] = Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)

Platform = Literal["tiktok", "instagram"]
MAX_TAGS = 20
Tag = Annotated[StrictStr, Field(min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


# An account's own action budgets: each key given replaces its platform's default (null: back to the default).
Budgets = create_model(
    "Budgets", __config__=ConfigDict(extra="forbid"),
    **{key: (Optional[StrictInt], Field(None, ge=0, le=MAX_BUDGET,
                                        description=f"{action}s this account may make per {window}; null: the default"))
       for key, (action, window) in OVERRIDE_KEYS.items()})


class AccountBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: StrictStr = Field(min_length=1, max_length=USERNAME_LENGTH)
    platform: Platform
    serial: StrictStr = Field(min_length=1, max_length=200)
    enabled: StrictBool = True
    tags: Tags = []
    budgets: Optional[Budgets] = Field(None, description="the account's own action budgets (docs/operations.md)")


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: Optional[StrictBool] = None
    serial: Optional[StrictStr] = Field(None, min_length=1, max_length=200)
    tags: Optional[Tags] = Field(None, description="replaces the account's tags")
    budgets: Optional[Budgets] = Field(None, description="the budgets named here change; the others stay")


class MatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    serials: Optional[list[Serial]] = Field(None, max_length=MAX_IDS_PER_REQUEST)



class ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Optional[int] = Field(None, ge=0, le=3)
    serial: Optional[str] = None
    script_name: Optional[str] = None
    source: Optional[Literal["api", "ui", "schedule"]] = None
    plan_id: Optional[str] = Field(None, max_length=64)
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class AccountsQuery(BaseModel):
    """GET /accounts, the original product's Accounts Status API."""

    model_config = ConfigDict(extra="ignore")

    platform: Optional[Platform] = None
    device: Optional[str] = Field(None, max_length=SERIAL_LENGTH, description="the phone's serial")
    logined: Optional[int] = Field(None, ge=0, le=1, description="1 logged in, 0 not")
    status: Optional[int] = Field(None, ge=0, le=1, description="0 enabled, 1 disabled")
    tag: Optional[str] = Field(None, max_length=50, description="accounts carrying exactly this tag")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=MAX_ACCOUNT_PAGE_SIZE)


class LogsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=MAX_LOG_PAGE_SIZE)


class PlanPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    paused: Optional[StrictBool] = None
    repeat: Optional[Union[Annotated[StrictInt, Field(ge=1, le=527040)], Annotated[StrictStr, Field(max_length=100)]]] = None
    start_time: Optional[StrictStr] = Field(None, max_length=100)


def repeat_text(repeat: Union[int, str, None]) -> Optional[str]:
    """A bare number is minutes."""
    if isinstance(repeat, int):
        return f"every {repeat} minutes"
    return repeat


def task_request(body: CreateTaskBody) -> TaskRequest:
    return TaskRequest(**{**body.model_dump(), "repeat": repeat_text(body.repeat)})


def parse_body(model: type[Model], media: Any) -> Model:
    if not isinstance(media, dict):
        raise invalid("The request body must be a JSON object")
    try:
        return model.model_validate(media)
    except ValidationError as error:
        raise validation_failure(error) from None
