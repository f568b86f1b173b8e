"""The OpenAPI 3.1 description of the API, served at GET /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, TypeAdapter

from api.rest.answers import ANSWERS, TaskId
from api.rest.schemas import (
    AccountBody, AccountPatch, AccountsQuery, CreateTaskBody, ListQuery, LogsQuery, MatchBody, PlanPatch, TaskIdsBody,
)
from api.domain.errors import Code
from api.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from contract.script_configs import SCRIPT_CONFIGS

REF = "#/components/schemas/{model}"
TASK_ID = TypeAdapter(TaskId).json_schema()
# Errors carry free-form details, so their `data` is described by hand.
ERROR_DATA = {"anyOf": [{
    "type": "object",
    "description": "details: the field at fault, or every field error",
    "properties": {
        "field": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            "required": ["field", "message"]}},
    },
}, {"type": "null"}]}

# Every operation behind the token and the plan gate can answer these.
GATED = (Code.UNAUTHORIZED, Code.PLAN_FORBIDS_API, Code.CROSS_SITE_REFUSED, Code.INTERNAL)
PREFECT = (Code.NOT_FOUND, Code.ORCHESTRATOR_UNAVAILABLE)


def ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def _component(model: type[BaseModel], components: dict, mode: str = "validation") -> dict:
    """The model's schema, and those of the models it holds, as components; a reference to it."""
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return ref(model.__name__)


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    """One query parameter per model field; "or null" means "leave it out" in a query string."""
    schema = model.model_json_schema()
    parameters = []
    for name, field in schema["properties"].items():
        field = dict(field)
        options = [s for s in field.pop("anyOf", []) if s.get("type") != "null"]
        if options:
            field.update(options[0])
        field.pop("title", None)
        if field.get("default", 0) is None:
            del field["default"]
        parameters.append({"name": name, "in": "query", "required": False, "schema": field})
    return parameters


def _envelope(data: dict) -> dict:
    return {
        "type": "object",
        "required": ["code", "message", "data"],
        "properties": {"code": {"const": 0}, "message": {"type": "string"}, "data": data},
        "additionalProperties": False,
    }


def _error(codes: list[Code]) -> dict:
    return {
        "description": "; ".join(f"{int(c)} {c.name.lower().replace('_', ' ')}" for c in codes),
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["code", "message", "data"],
            "properties": {"code": {"enum": [int(c) for c in codes]}, "message": {"type": "string"}, "data": ERROR_DATA},
            "additionalProperties": False,
        }}},
    }


def _path_parameter(name: str) -> dict:
    schema = TASK_ID if name == "task_id" else {"type": "string", "minLength": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def operation(summary: str, data: Optional[str], codes: tuple = (), *, body: Optional[dict] = None,
              body_required: bool = True, parameters: tuple = (), gated: bool = True, raw: Optional[dict] = None,
              headers: Optional[dict] = None) -> dict:
    codes = [*codes, *(GATED if gated else (Code.UNAUTHORIZED, Code.CROSS_SITE_REFUSED, Code.INTERNAL))]
    if body is not None:
        codes.append(Code.INVALID)
    by_status: dict[str, list[Code]] = {}
    for code in sorted(set(codes)):
        by_status.setdefault(str(int(code) // 100), []).append(code)
    success = raw or {"application/json": {"schema": _envelope(ref(data))}}
    responses = {"200": {"description": "success", "content": success, **({"headers": headers} if headers else {})}}
    responses.update({status: _error(c) for status, c in sorted(by_status.items())})
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = list(parameters)
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    return op


def build(max_body_bytes: int) -> dict:
    components: dict[str, dict] = {}
    for model in ANSWERS:
        _component(model, components, mode="serialization")
    create_body = _component(CreateTaskBody, components)
    # script_config stays a free object in the body (its schema depends on script_name); each script's is a component.
    for model in dict.fromkeys(SCRIPT_CONFIGS.values()):
        _component(model, components)
    components["CreateTaskBody"]["properties"]["script_config"]["description"] = "the script's settings: " + ", ".join(
        f"{name} takes {model.__name__}" for name, model in SCRIPT_CONFIGS.items())
    ids_body = _component(TaskIdsBody, components)
    account_body = _component(AccountBody, components)
    account_patch = _component(AccountPatch, components)
    match_body = _component(MatchBody, components)
    plan_patch = _component(PlanPatch, components)
    plan_id = _path_parameter("plan_id")
    task_id = _path_parameter("task_id")
    username = _path_parameter("username")
    invalid = (Code.INVALID,)
    idempotency_key = {
        "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
        "description": "Send the same key again (within 24 h) to get the first answer instead of creating the tasks twice;"
                       " the same key with a different body is refused (40001). Only successful answers are remembered.",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$", "minLength": 1, "maxLength": 255},
    }
    replayed = {"Idempotent-Replayed": {
        "description": "with an Idempotency-Key: true when this is the remembered first answer",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }}
    paths = {
        "/task": {
            "get": operation("List tasks, newest first", "TaskList", invalid,
                             parameters=tuple(_query_parameters(ListQuery))),
            "post": operation("Create tasks (one per phone, account and target)", "Created",
                              (Code.SCRIPT_NAME_MISSING, Code.SCRIPT_NOT_RUNNABLE, *PREFECT),
                              body=create_body, parameters=(idempotency_key,), headers=replayed),
        },
        "/task/batch": {"delete": operation("Delete several tasks", "BatchDeleted", PREFECT, body=ids_body)},
        "/task/stats": {"get": operation("Count tasks by status", "Stats")},
        "/task/retry-all": {"post": operation("Retry every failed task under the retry limit", "RetriedAll", PREFECT)},
        "/task/{task_id}": {
            "get": operation("One task", "TaskDetail", (Code.NOT_FOUND,), parameters=(task_id,)),
            "delete": operation("Stop if running, then delete a task", "Deleted", PREFECT, parameters=(task_id,)),
        },
        "/task/{task_id}/stop": {"post": operation("Stop a pending or running task", "Task", invalid + PREFECT, parameters=(task_id,))},
        "/task/{task_id}/retry": {"post": operation("Run a failed task again", "Task", invalid + PREFECT, parameters=(task_id,))},
        "/task/{task_id}/logs": {"get": operation(
            "What the task's run printed (its re-runs too), oldest first, from Prefect", "Logs", invalid + PREFECT,
            parameters=(task_id, *_query_parameters(LogsQuery)))},
        "/task/{task_id}/artifacts": {"get": operation("Files a failed task left (screenshot, UI hierarchy)", "Artifacts",
                                                       (Code.NOT_FOUND,), parameters=(task_id,))},
        "/task/{task_id}/artifacts/{name}": {"get": operation(
            "One artifact file", None, (Code.NOT_FOUND,), parameters=(task_id, _path_parameter("name")),
            raw={"*/*": {"schema": {"type": "string", "format": "binary"}}})},
        "/plan": {
            "get": operation("Recurring plans (each a schedule of the fire-plan/plans deployment in Prefect)", "Plans", PREFECT),
            "post": operation("Make a recurring plan: the body of POST /task, with repeat", "Plan",
                              (Code.SCRIPT_NAME_MISSING, Code.SCRIPT_NOT_RUNNABLE, *PREFECT), body=create_body),
        },
        "/plan/{plan_id}": {
            "get": operation("One plan", "Plan", PREFECT, parameters=(plan_id,)),
            "patch": operation("Pause, resume or move a plan", "Plan", PREFECT, body=plan_patch, parameters=(plan_id,)),
            "delete": operation("Delete a plan (its tasks stay)", "Deleted", PREFECT, parameters=(plan_id,)),
        },
        "/device": {"get": operation("Phones the adb server sees", "Devices", (Code.ORCHESTRATOR_UNAVAILABLE,))},
        "/device/{serial}/screen": {"get": operation(
            "The phone's latest screen (PNG), taken within seconds of asking while no task drives it; "
            "40401 until one is taken", None, (Code.NOT_FOUND,), parameters=(_path_parameter("serial"),),
            raw={"image/png": {"schema": {"type": "string", "format": "binary"}}})},
        "/farm": {"get": operation("Every phone with its account, task now and last failure, and the stats: "
                                   "what the phone wall page at / shows", "Farm", (Code.ORCHESTRATOR_UNAVAILABLE,))},
        "/account": {
            "get": operation("Accounts and the phones they live on", "Accounts"),
            "post": operation("Add or replace an account", "Account", (Code.ORCHESTRATOR_UNAVAILABLE,), body=account_body),
        },
        "/accounts": {"get": operation(
            "The Accounts Status API: accounts with their phone, login and status, filtered, in id order, "
            "a page at a time (page_size up to 100); never a password", "AccountStatusPage", invalid,
            parameters=tuple(_query_parameters(AccountsQuery)))},
        "/account/match": {"post": operation("Start reading the accounts logged in on phones (a flow run in each phone's queue); "
                                             "GET /account shows them once read", "Matched",
                                             (Code.ORCHESTRATOR_UNAVAILABLE,), body=match_body, body_required=False)},
        "/account/{username}": {
            "patch": operation("Change an account: enabled, its phone, its tags", "Account", (Code.NOT_FOUND, Code.ORCHESTRATOR_UNAVAILABLE),
                               body=account_patch, parameters=(username,)),
            "delete": operation("Delete an account", "Deleted", (Code.INVALID, Code.NOT_FOUND), parameters=(username,)),
        },
        "/account/{username}/mark": {"delete": operation(
            "Clear the account's mark (banned, needs_attention, rate_limited): it gets tasks again; "
            "40401 for an unknown account or one without a mark", "Account", (Code.INVALID, Code.NOT_FOUND),
            parameters=(username,))},
        "/license/check": {"get": operation("The plan and whether it includes the API", "License", gated=False)},
        "/health": {"get": {**operation("Which parts of the farm answer (always 200)", "Health", gated=False), "security": []}},
        "/openapi.json": {"get": operation(
            "This document (not wrapped in the envelope)", None, gated=False,
            raw={"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}})},
    }
    # /health answers even with a wrong token, so monitors need none.
    del paths["/health"]["get"]["responses"]["401"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Phone farm task API",
            "version": "1",
            "description": (
                "Every response body is the envelope {code, message, data}: code 0 is success, anything else an error"
                " whose message says what to fix. Request bodies are JSON with Content-Type application/json, at most"
                f" {max_body_bytes} bytes, nested at most 32 levels, integers within 64 bits, strings without NUL"
                " characters or lone surrogates; anything else is refused with 40001 and changes nothing."
                " When the service is configured with an API token, every endpoint but /health needs"
                " `Authorization: Bearer <token>` (40101 otherwise). With the Starter plan every endpoint but"
                " /license/check, /health and /openapi.json answers 40301."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "Required only when the service is configured with an API token",
            }},
        },
    }


class OpenApiDocument:
    """Documentation, so it is served as the bare document that OpenAPI tools expect."""

    def __init__(self, max_body_bytes: int):
        self.document = build(max_body_bytes)

    def on_get(self, req, resp):
        resp.media = self.document
