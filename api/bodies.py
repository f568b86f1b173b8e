"""Pydantic models of the request bodies, and the one function that turns their errors into 40001."""

from __future__ import annotations

from typing import Any, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from api.errors import invalid

Model = TypeVar("Model", bound=BaseModel)

# Large enough for any farm; small enough that one request cannot flood Prefect.
MAX_IDS_PER_REQUEST = 1000


class CreateTaskBody(BaseModel):
    # Clients of the original product send fields this service does not use: ignore them.
    model_config = ConfigDict(extra="ignore")

    serials: Optional[list[StrictStr]] = Field(None, max_length=MAX_IDS_PER_REQUEST)
    usernames: Optional[list[StrictStr]] = Field(None, max_length=MAX_IDS_PER_REQUEST)
    script_name: Optional[StrictStr] = None
    script_config: Optional[dict[str, Any]] = None
    enable_multi_account: StrictBool = False
    start_time: Optional[StrictStr] = None
    min_interval: StrictInt = Field(0, ge=0, le=24 * 60)
    max_interval: StrictInt = Field(0, ge=0, le=24 * 60)


class TaskIdsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_ids: list[StrictInt] = Field(min_length=1, max_length=MAX_IDS_PER_REQUEST)


def field_errors(error: ValidationError, prefix: str = "") -> list[dict]:
    return [
        {"field": prefix + ".".join(str(part) for part in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def validation_failure(error: ValidationError, prefix: str = ""):
    errors = field_errors(error, prefix)
    first = errors[0]
    return invalid(f"Invalid {first['field']}: {first['message']}", {"errors": errors})


def parse_body(model: type[Model], media: Any) -> Model:
    if not isinstance(media, dict):
        raise invalid("The request body must be a JSON object")
    try:
        return model.model_validate(media)
    except ValidationError as error:
        raise validation_failure(error) from None
