"""The OpenAPI schemas of what the API answers inside its envelope's `data`."""

from __future__ import annotations

REF = "#/components/schemas/{model}"
TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", "description": "YYYY-MM-DD HH:MM:SS, server local time"}
COUNT = {"type": "integer", "minimum": 0}
TASK_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def obj(required: bool = True, **properties: dict) -> dict:
    return {"type": "object", "properties": properties, **({"required": list(properties)} if required else {})}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


DATA_SCHEMAS: dict[str, dict] = {
    "Task": obj(
        id=TASK_ID,
        serial={"type": "string"},
        username=nullable({"type": "string"}),
        script_name={"type": "string"},
        script_config={"type": "object", "description": "the effective config of this one task (after fan-out)"},
        status={"type": "integer", "enum": [0, 1, 2, 3], "description": "0 pending, 1 running, 2 completed, 3 failed"},
        status_text={"type": "string", "enum": ["pending", "running", "completed", "failed"]},
        source={"type": "string", "enum": ["api", "ui", "schedule"], "description": "schedule: made by a plan's firing"},
        start_time=nullable(TIME),
        end_time=nullable(TIME),
        created_at=TIME,
        remark={"type": "string", "description": "failure reason or status note, empty when none"},
        retry_count=COUNT,
        flow_run_id=nullable({"type": "string", "format": "uuid",
                              "description": "null for the moment between the answer that stored the task and its flow run's creation"}),
        flow_run_url=nullable({"type": "string"}),
        plan_id=nullable({"type": "string", "description": "the plan whose firing made it"}),
        callback_url=nullable({"type": "string"}),
    ),
    "TaskList": obj(tasks={"type": "array", "items": ref("Task")}, total=COUNT,
                     page={"type": "integer", "minimum": 1}, page_size={"type": "integer", "minimum": 1}),
    "Created": {**obj(task_ids={"type": "array", "items": TASK_ID}, created_count=COUNT,
                       plan_id={"type": "string", "description": "with repeat: the plan made instead of tasks"},
                       plan=ref("Plan")), "required": ["task_ids", "created_count"]},
    "Plan": obj(
        id={"type": "string", "format": "uuid", "description": "its Prefect deployment schedule's id"},
        repeat={"type": "string"},
        start_time=nullable({"type": "string"}),
        timezone={"type": "string"},
        paused={"type": "boolean", "description": "paused through the API or in the Prefect UI"},
        next_firing=nullable(TIME),
        last_firing=nullable(obj(at=TIME, task_ids={"type": "array", "items": TASK_ID})),
        request={"type": "object", "description": "what each firing creates tasks from"},
        created_at=TIME,
        deployment_url={"type": "string", "description": "the plans deployment in the Prefect UI"},
    ),
    "Plans": obj(plans={"type": "array", "items": ref("Plan")}, total=COUNT),
    "Deleted": obj(deleted_count=COUNT),
    "BatchDeleted": obj(deleted_count=COUNT, not_found={"type": "array", "items": {"type": "integer"}}),
    "RetriedAll": obj(retried_count=COUNT),
    "Stats": obj(total=COUNT, pending=COUNT, running=COUNT, completed=COUNT, failed=COUNT),
    "Logs": obj(
        task_id=TASK_ID,
        flow_run_id=nullable({"type": "string", "format": "uuid"}),
        page={"type": "integer", "minimum": 1},
        page_size={"type": "integer", "minimum": 1},
        has_more={"type": "boolean", "description": "true when a next page has lines"},
        logs={"type": "array", "items": obj(
            time={"type": "string", "format": "date-time", "description": "the service's local time, with milliseconds"},
            level={"type": "string", "description": "DEBUG, INFO, WARNING, ERROR or CRITICAL"},
            message={"type": "string"},
        )},
    ),
    "Artifacts": obj(artifacts={"type": "array", "items": obj(
        name={"type": "string"}, size=COUNT, url={"type": "string", "description": "GET it for the file"})}),
    "Devices": obj(total=COUNT, devices={"type": "array", "items": obj(
        serial={"type": "string"},
        state={"type": "string", "description": "adb state: device, offline, unauthorized, ... (offline too "
                                                "while its PC does not answer)"},
        model={"type": "string"},
        pc={"type": "string", "description": "the PC whose adb server has it; only that PC runs its tasks"},
        contested={"type": "boolean", "description": "two PCs report this serial: neither runs its tasks "
                                                     "until one has it alone"},
        busy={"type": "boolean"},
        task_id=nullable({"type": "integer"}),
    )}),
    "Account": obj(username={"type": "string"}, platform={"type": "string", "enum": ["tiktok", "instagram"]},
                    serial={"type": "string"}, enabled={"type": "boolean"}),
    "Accounts": obj(accounts={"type": "array", "items": ref("Account")}, total=COUNT),
    "Matched": obj(matching={"type": "array", "items": obj(
        serial={"type": "string"}, flow_run_id={"type": "string", "format": "uuid"})}, requested_count=COUNT),
    "License": obj(plan_name={"type": "string", "enum": ["Starter", "Pro", "Team", "Business"]},
                    api_enabled={"type": "boolean"}, device_limit=COUNT, message={"type": "string"}),
    "Health": obj(
        api={"type": "string", "enum": ["up"]},
        prefect={"type": "string", "enum": ["up", "down"]},
        worker={"type": "string", "enum": ["up", "down", "unknown"],
                "description": "unknown: no worker started by this service (other PCs' workers show in the Prefect UI)"},
        adb={"type": "string", "enum": ["up", "down"]},
        phones=COUNT,
        processes={"type": "object", "additionalProperties": {"type": "string", "enum": ["up", "down"]},
                   "description": "the processes this service started and supervises"},
        restarts={"type": "object", "additionalProperties": COUNT, "description": "restarts of each of those processes"},
    ),
}

_BRIEF_TASK = dict(
    id=TASK_ID, script_name={"type": "string"}, username=nullable({"type": "string"}),
    status={"type": "integer", "enum": [0, 1, 2, 3]},
    status_text={"type": "string", "enum": ["pending", "running", "completed", "failed"]},
    remark={"type": "string"}, start_time=nullable(TIME), end_time=nullable(TIME), flow_run_url=nullable({"type": "string"}),
)
# GET /farm: what the phone wall page shows.
DATA_SCHEMAS["Farm"] = obj(
    pc={"type": "string", "description": "the API's PC"},
    prefect_ui_url={"type": "string"},
    stats=ref("Stats"),
    phones={"type": "array", "items": obj(
        **DATA_SCHEMAS["Devices"]["properties"]["devices"]["items"]["properties"],
        accounts={"type": "array", "items": {"type": "string"}, "description": "accounts registered on this phone"},
        screen={"type": "boolean", "description": "GET /device/{serial}/screen can show it (the API PC's phones)"},
        task=nullable(obj(**_BRIEF_TASK, elapsed_seconds=nullable({"type": "number", "minimum": 0}))),
        last_failure=nullable(obj(**_BRIEF_TASK, artifacts={"type": "string", "description": "its artifacts' listing"})),
    )},
)
