"""Turn one create request into its tasks and their start times; every limit is checked before the
work that grows with the input (fan-out, material choice, spintax)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from api.domain import materials
from api.domain.errors import ApiError, Code, invalid, validation_failure
from api.domain.fanout import PlannedTask, by_account, by_phone, by_target
from api.domain.requests import TaskRequest
from api.domain.schedule import BadStartTime, first_start, spaced_starts
from api.domain.spintax import SpintaxTooDeep, spin
from api.gateways.index import Account
from contract.secrets import chat_url, endpoint_allowed
from contract.script_configs import (
    FANNED_OUT_BY_TARGET, KNOWN_NOT_RUNNABLE, RUNNABLE_SCRIPTS, SCRIPT_CONFIGS, FollowConfig, platform_hint,
)


def plan_tasks(request: TaskRequest, now: datetime, rng: random.Random, *,
               known_serials: Callable[[], set[str]], accounts: Callable[[], list[Account]], max_tasks: int,
               material_library: Path, material_roots: tuple[Path, ...],
               comment_endpoints: tuple[str, ...]) -> list[tuple[PlannedTask, datetime]]:
    name = request.script_name
    if not name:
        raise ApiError(Code.SCRIPT_NAME_MISSING, "script_name is required")
    if name not in SCRIPT_CONFIGS and name not in KNOWN_NOT_RUNNABLE:
        known = ", ".join(sorted(RUNNABLE_SCRIPTS))
        raise invalid(f"Unknown script_name {name!r}; scripts that run through the API: {known}")
    if name not in RUNNABLE_SCRIPTS:
        raise ApiError(Code.SCRIPT_NOT_RUNNABLE, f"Script {name!r} cannot be run through the API yet")
    if request.script_config is None:
        raise invalid("script_config is required (an object, {} for the defaults)", {"field": "script_config"})
    try:
        config = SCRIPT_CONFIGS[name].model_validate(request.script_config).model_dump()
    except ValidationError as error:
        raise validation_failure(error, prefix="script_config.") from None
    if request.min_interval > request.max_interval:
        raise invalid("min_interval must not be greater than max_interval", {"field": "min_interval"})
    try:
        start = first_start(request.start_time, now)
    except BadStartTime as error:
        raise invalid(str(error), {"field": "start_time"}) from None
    # At least one task per phone (or account) and target: refused before anything is built.
    _check_count(len(request.serials or request.usernames or ()) * _targets(name, config), max_tasks)
    if name == "account_warmup" and config["generate_by_chatgpt"]:
        url = chat_url(config["chatgpt_settings"])
        if not endpoint_allowed(url, comment_endpoints):
            raise invalid(f"Invalid script_config.chatgpt_settings.base_url: {url} is not an allowed comment endpoint "
                          "(PHONEFARM_COMMENT_ENDPOINTS)", {"field": "script_config.chatgpt_settings.base_url"})
    if name == "post":
        try:
            spin(config["captions"], random.Random(0))  # linear; every task spins it again below
        except SpintaxTooDeep as error:
            raise invalid(f"Invalid script_config.captions: {error}", {"field": "script_config.captions"}) from None

    if request.serials:
        planned = by_phone(
            request.serials, known_serials(), accounts(),
            multi_account=request.enable_multi_account, platform_hint=platform_hint(request.script_config),
        )
    elif request.usernames:
        planned = by_account(request.usernames, {a.username: a for a in accounts()})
    else:
        raise invalid("Give serials (phones) or usernames (accounts): one of them, not empty", {"field": "serials"})
    _check_count(len(planned) * _targets(name, config), max_tasks)
    planned = by_target(name, planned, config)
    if name == "post":
        planned = _with_post_content(planned, config, rng, material_library, material_roots)
    per_phone: dict[str, list[PlannedTask]] = {}
    for task in planned:
        per_phone.setdefault(task.serial, []).append(task)
    scheduled = []
    for tasks in per_phone.values():
        starts = spaced_starts(start, len(tasks), request.min_interval, request.max_interval, rng)
        scheduled.extend(zip(tasks, starts))
    return scheduled


def _targets(script_name: str, config: dict) -> int:
    if script_name not in FANNED_OUT_BY_TARGET:
        return 1
    return len(dict.fromkeys(FollowConfig.model_validate(config).targets()))


def _check_count(count: int, limit: int) -> None:
    if count > limit:
        raise invalid(f"This request would create {count} tasks; the limit is {limit} per request")


def _with_post_content(planned: list[PlannedTask], config: dict, rng: random.Random,
                       library: Path, roots: tuple[Path, ...]) -> list[PlannedTask]:
    """Each post task gets its own files and its own caption (spintax), fixed at creation."""
    files = materials.candidates(config, library, roots)
    return [
        replace(task, script_config={
            **task.script_config,
            "captions": spin(config["captions"], rng),
            "files": materials.pick(config, files, rng),
        })
        for task in planned
    ]
