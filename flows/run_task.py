"""The one Prefect flow: run a script on a phone; automatic retries happen while it holds the phone."""

from __future__ import annotations

import random
import time
from typing import Optional

from prefect import flow, get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Completed, Failed
from pydantic import ValidationError

from devices.adb import AdbServer
from devices.errors import AccountBlocked, DeviceError
from devices.phone_lock import holding_phone
from devices.runner import run_script
from flows.comments import comment_source
from contract.names import ACCOUNT_MARK_STATE_NAMES, AUTO_RETRIES_TAG, FLOW_NAME, tag, tag_value
from contract.materials import refused_files
from contract.script_configs import RUNNABLE_SCRIPTS, CommentConfig, PostConfig, ScriptConfig, WarmupConfig, parse_config
from flows.settings import WorkerSettings
from flows.worker_guard import die_with_worker


@task(name="run-script", cache_policy=NO_CACHE, persist_result=False)
def run_script_on_phone(
    settings: WorkerSettings, serial: str, script_name: str, config: ScriptConfig,
    task_id: Optional[int], platform: str, username: Optional[str],
) -> str:
    return run_script(
        AdbServer(settings.adb_host, settings.adb_port), serial, script_name, config,
        task_id=task_id,
        platform=platform,
        username=username,
        artifacts_dir=settings.artifacts_dir / str(task_id) if task_id is not None else None,
        comments=(comment_source(config.model_dump(), random.Random(), settings.comment_endpoints)
                  if isinstance(config, WarmupConfig) else None),
        selector_folders=(settings.selectors_dir,),
    )


def _record_automatic_retries(total: int) -> None:
    """Keep the run's total in a tag, so listings get it with the run and no extra query."""
    tags = [t for t in current_flow_run.tags if not t.startswith(tag(AUTO_RETRIES_TAG, ""))]
    with get_client(sync_client=True) as client:
        client.update_flow_run(current_flow_run.id, tags=[*tags, tag(AUTO_RETRIES_TAG, total)])


# Flow-level retries are off on purpose: during Prefect's retry delay the run is SCHEDULED and the
# phone's queue slot is free, so another task could start on the same phone.
@flow(name=FLOW_NAME, retries=0, persist_result=False)
def run_task(
    serial: str,
    script_name: str,
    script_config: dict,
    username: Optional[str] = None,
    task_id: Optional[int] = None,
    platform: str = "tiktok",
):
    die_with_worker()
    logger = get_run_logger()
    settings = WorkerSettings()
    if script_name not in RUNNABLE_SCRIPTS:
        return Failed(message=f"script {script_name!r} cannot run yet")
    # Parameters arrive as JSON, so this is an edge of its own: the API's schema and defaults again, which
    # also checks runs that reach a phone's queue another way (the Prefect UI).
    try:
        config = parse_config(script_name, script_config)
    except ValidationError as error:
        return Failed(message=f"invalid script_config: {error.errors()[0]['msg']}")
    refused = refused_files(_server_files(config), settings.material_folders)
    if refused:
        return Failed(message=f"Not started: {refused[0]} is not a media file inside the material folders")
    logger.info("task %s: %s on phone %s as %s", task_id, script_name, serial, username or "the active account")
    waiting = lambda: logger.info("task %s: waiting for phone %s's previous task to end", task_id, serial)  # noqa: E731
    with holding_phone(settings.phone_locks_dir, serial, on_wait=waiting):
        state, error = _attempts(settings, serial, script_name, config, task_id, platform, username)
    if state.is_completed():
        note = state.result()
        logger.info("task %s completed: %s", task_id, note)
        # The note rides in the state's message: the API (maybe on another PC) reads what the script
        # did from it, for the account's action budgets, without the worker's result storage.
        return Completed(message=note, data=note)
    remark = error.remark if isinstance(error, DeviceError) else f"script error: {error}"
    logger.error("task %s failed: %s", task_id, remark)
    if isinstance(error, AccountBlocked):
        return Failed(message=remark, name=ACCOUNT_MARK_STATE_NAMES[error.mark])
    return Failed(message=remark)


def _server_files(config: ScriptConfig) -> list[str]:
    """What the task would push to the phone: checked again here, as the run may not come from the API."""
    if isinstance(config, PostConfig):
        return config.files
    if isinstance(config, CommentConfig) and config.comment_image_path:
        return [config.comment_image_path]
    return []


def _attempts(settings: WorkerSettings, serial: str, script_name: str, config: ScriptConfig,
              task_id: Optional[int], platform: str, username: Optional[str]):
    """Each attempt is a task run of its own (visible in the UI) while this flow run keeps the phone."""
    logger = get_run_logger()
    rng = random.Random()
    earlier = int(tag_value(current_flow_run.tags, AUTO_RETRIES_TAG) or 0)  # this run's attempts before a manual retry
    for attempt in range(settings.auto_retries + 1):
        if attempt:
            # Recorded before it reaches the phone: a process killed during the attempt cannot hide it.
            _record_automatic_retries(earlier + attempt)
        state = run_script_on_phone(
            settings, serial, script_name, config, task_id, platform, username, return_state=True
        )
        error = None if state.is_completed() else state.result(raise_on_failure=False)
        if not (isinstance(error, DeviceError) and error.transient) or attempt == settings.auto_retries:
            break
        delay = settings.retry_delay(rng)
        logger.warning("task %s: attempt %d failed (%s); trying again in %.1f s",
                       task_id, attempt + 1, error.remark, delay)
        time.sleep(delay)
    return state, error
