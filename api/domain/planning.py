"""Turn one create request into its tasks and their start times; every limit is checked before the
work that grows with the input (fan-out, material choice, spintax)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from api.domain import materials
from api.domain.errors import ApiError, Code, invalid, validation_failure
from api.domain.fanout import PlannedTask, by_account, by_phone, by_target
from api.domain.requests import TaskRequest
from api.domain.schedule import BadStartTime, first_start, spaced_starts
from api.domain.spintax import SpintaxTooDeep, longest, spin
from api.gateways.index import Account
from contract.secrets import chat_url, endpoint_allowed
from contract.script_configs import (
    CAPTION_LENGTH, DEFAULT_CHAT_MODEL, FANNED_OUT_BY_POST, FANNED_OUT_BY_TARGET, KNOWN_NOT_RUNNABLE, RUNNABLE_SCRIPTS,
    PATH_LENGTH, SCRIPT_CONFIGS, CommentConfig, FollowConfig, platform_hint,
)



@dataclass(frozen=True)
class RequestLimits:
    """The settings that bound one request, besides its task count."""

    comment_models: tuple[str, ...] = (DEFAULT_CHAT_MODEL,)
    max_config_bytes: int = 8 * 1024 * 1024
    max_accounts_per_phone: int = 20


DEFAULT_LIMITS = RequestLimits()


def plan_tasks(request: TaskRequest, now: datetime, rng: random.Random, *,
               known_serials: Callable[[], set[str]], accounts: Callable[[], list[Account]], max_tasks: int,
               material_library: Path, material_roots: tuple[Path, ...],
               comment_endpoints: tuple[str, ...], limits: RequestLimits = DEFAULT_LIMITS) -> list[tuple[PlannedTask, datetime]]:
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
    if name == "post":
        _check_caption(config["captions"])  # linear in the template, once; every task spins it below
    # At least one task per phone (or account) and target: refused before anything is built.
    task_bytes = _task_config_bytes(name, config)
    _check_size(len(request.serials or request.usernames or ()) * _targets(name, config), task_bytes,
                max_tasks, limits.max_config_bytes)
    if name == "account_warmup" and config["generate_by_chatgpt"]:
        _check_chat(config["chatgpt_settings"], comment_endpoints, limits.comment_models)

    if request.serials:
        planned = by_phone(
            request.serials, known_serials(), accounts(),
            multi_account=request.enable_multi_account, platform_hint=platform_hint(request.script_config),
            max_accounts=limits.max_accounts_per_phone,
        )
    elif request.usernames:
        planned = by_account(request.usernames, {a.username: a for a in accounts()})
    else:
        raise invalid("Give serials (phones) or usernames (accounts): one of them, not empty", {"field": "serials"})
    _check_size(len(planned) * _targets(name, config), task_bytes, max_tasks, limits.max_config_bytes)
    if name == "comment" and config["comment_image_path"]:
        config = {**config, "comment_image_path": materials.comment_image(
            config["comment_image_path"], material_library, material_roots)}
    planned = by_target(name, planned, config, platform_hint=platform_hint(request.script_config), rng=rng)
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
    if script_name in FANNED_OUT_BY_POST:
        return len(dict.fromkeys(CommentConfig.model_validate(config).targets()))
    if script_name not in FANNED_OUT_BY_TARGET:
        return 1
    return len(dict.fromkeys(FollowConfig.model_validate(config).targets()))


def _check_size(count: int, task_bytes: int, limit: int, max_bytes: int) -> None:
    if count > limit:
        raise invalid(f"This request would create {count} tasks; the limit is {limit} per request")
    if count * task_bytes > max_bytes:
        raise invalid(f"This request would store {count} tasks of {task_bytes} bytes of script_config each; the "
                      f"limit is {max_bytes} bytes per request (PHONEFARM_MAX_REQUEST_CONFIG_BYTES)",
                      {"field": "script_config"})


def _json_bytes(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _json_char_bytes(char: str) -> int:
    return len(json.dumps(char, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass"))


def _task_config_bytes(script_name: str, config: dict) -> int:
    """The most one task's config can take: a post's caption at its longest spin, a follow with its
    longest target in place of the lists."""
    if script_name == "post":
        caption = config["captions"]
        return _json_bytes({**config, "captions": ""}) + longest(caption, _json_char_bytes)
    if script_name in FANNED_OUT_BY_POST:
        comment = CommentConfig.model_validate(config)
        return _json_bytes({**config, "target_post_urls": [max(comment.targets(), key=_json_bytes)], "target_post_url": "",
                            "comment_content": max(comment.comments(), key=_json_bytes),
                            "comment_image_path": "x" * PATH_LENGTH if config["comment_image_path"] else ""})
    if script_name in FANNED_OUT_BY_TARGET:
        targets = FollowConfig.model_validate(config).targets()
        return _json_bytes({**config, "target_users": [max(targets, key=_json_bytes, default="")], "target_user": ""})
    return _json_bytes(config)


def _check_caption(caption: str) -> None:
    field = {"field": "script_config.captions"}
    try:
        length = longest(caption)
    except SpintaxTooDeep as error:
        raise invalid(f"Invalid script_config.captions: {error}", field) from None
    if length > CAPTION_LENGTH:
        raise invalid(f"Invalid script_config.captions: a caption may have {length} characters; TikTok and Instagram "
                      f"allow {CAPTION_LENGTH} (with spintax, every option it can pick must fit)", field)


def _check_chat(chat: dict, endpoints: tuple[str, ...], models: tuple[str, ...]) -> None:
    url = chat_url(chat)
    if not endpoint_allowed(url, endpoints):
        raise invalid(f"Invalid script_config.chatgpt_settings.base_url: {url} is not an allowed comment endpoint "
                      "(PHONEFARM_COMMENT_ENDPOINTS)", {"field": "script_config.chatgpt_settings.base_url"})
    model = chat.get("model", DEFAULT_CHAT_MODEL)
    if model not in models:
        raise invalid(f"Invalid script_config.chatgpt_settings.model: {model!r} is not an allowed model "
                      f"(PHONEFARM_COMMENT_MODELS: {', '.join(models)})", {"field": "script_config.chatgpt_settings.model"})


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
