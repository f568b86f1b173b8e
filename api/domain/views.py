"""The task object of the API, built from the index row and its copy of the run's state."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from api.gateways.index import RunState, TaskRow

from api.domain.budget_holds import HELD_RUN
from api.domain.expiry import EXPIRED
from api.domain.status import TaskStatus, task_status

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

def local_time(moment: Optional[datetime]) -> Optional[str]:
    return moment.astimezone().strftime(TIME_FORMAT) if moment else None

def remark(state_type: Optional[str], state_name: Optional[str], message: Optional[str]) -> str:
    """What an operator reads next to the status: why it failed, or what it waits for."""
    message = (message or "").strip()
    if state_type == "CANCELLED" and message.startswith(EXPIRED):
        return message  # a queue timeout: it failed without starting, nobody stopped it
    if state_type in ("CANCELLED", "CANCELLING"):
        return f"stopped: {message}" if message else "stopped"
    if state_type == "CRASHED":
        return f"run crashed: {message}" if message else "run crashed"
    if state_type == "FAILED":
        return message or "failed"
    if state_type == "SCHEDULED" and state_name == "Late":
        return "waiting for its phone or a free slot"
    if state_type == "SCHEDULED" and state_name == "AwaitingRetry":
        return "waiting to be retried"
    if state_type == "SCHEDULED" and state_name == HELD_RUN:
        return message  # put off by its account's action budget: which one, and when it frees
    if state_type is None:
        return message  # no run yet: why it waits (its account is marked)
    return ""

def copy_notice(prefect_up: bool, last_answered: Optional[datetime]) -> dict:
    """Nothing while Prefect answers: the copy follows its events, and the contract's answer stays as it is.
    While it is down: that the answer is the copy as of the last time Prefect answered."""
    return {} if prefect_up else {"prefect": "down", "as_of": local_time(last_answered)}

def attempt_start(run: RunState) -> Optional[datetime]:
    """The contract's start_time: when a waiting task is due, when this attempt started. A manual retry
    runs the same flow run again, and Prefect keeps its start_time at the first attempt's."""
    if task_status(run.state_type) is TaskStatus.PENDING:
        return run.expected_start_time
    if run.state_type == "RUNNING":
        return run.timestamp or run.start_time
    return run.start_time

def task_view(row: TaskRow, ui_url: str) -> dict:
    """The task as the index last copied its run's state from Prefect."""
    run = row.run
    status = task_status(run.state_type)
    start = attempt_start(run)
    return {
        "id": row.id,
        "serial": row.serial,
        "username": row.username,
        "script_name": row.script_name,
        "script_config": row.script_config,
        "status": int(status),
        "status_text": status.text,
        "source": row.source,
        "start_time": local_time(start),
        "end_time": local_time(run.end_time) if status >= 2 else None,
        "created_at": local_time(row.created_at),
        "remark": remark(run.state_type, run.state_name, run.message),
        "retry_count": row.manual_retries + run.auto_retries,
        "flow_run_id": row.flow_run_id,
        # None until the run is created, right after the answer that stored the task.
        "flow_run_url": f"{ui_url}/runs/flow-run/{row.flow_run_id}" if row.flow_run_id else None,
        "plan_id": row.plan_id,  # the recurring plan whose firing created it (source "schedule")
        "callback_url": row.callback_url,
        "expire_after": row.expire_after,
        "expires_at": local_time(row.expires_at),
    }
