"""The single entry point flows call: run one script on one phone, bracketed by logcat markers."""

from __future__ import annotations

import pathlib
import random
import re
import time
from typing import Callable

from devices.accounts import switch_account
from devices.adb import AdbServer, open_phone
from devices.artifacts import save_failure_artifacts
from devices.errors import DeviceError, InvalidScriptConfig, PhoneDisconnected
from devices.follow import follow_user
from devices.phone import ADB_FAILURES, Phone
from devices.post import post_media
from devices.warmup import warm_up

MARKER_TAG = "phonefarm"


def run_script(server: AdbServer, serial: str, script_name: str, config: dict, *,
               task_id: int | None, platform: str = "tiktok", username: str | None = None,
               artifacts_dir: pathlib.Path | None = None, comments: Callable[[], str] | None = None,
               rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> str:
    """Run `script_name` as `username` (switched to first when given); on a DeviceError with the phone
    still there, a screenshot and the last UI dump go to `artifacts_dir`."""
    phone = Phone(open_phone(server, serial))
    label = "adhoc" if task_id is None else str(task_id)
    try:
        phone.log(MARKER_TAG, f"task {label} start", timeout=30)
        if username:
            switch_account(phone, platform, username)
        return _run(phone, script_name, config, platform, comments=comments, rng=rng or random.Random(),
                    clock=clock, sleep=sleep)
    except ADB_FAILURES as error:
        raise PhoneDisconnected(f"phone {serial} disconnected during the task: "
                                f"{error or type(error).__name__}") from error
    except DeviceError:
        if artifacts_dir is not None and _still_connected(server, serial):
            save_failure_artifacts(phone, pathlib.Path(artifacts_dir))
        raise
    finally:
        try:
            phone.log(MARKER_TAG, f"task {label} end", timeout=10)
        except ADB_FAILURES:
            pass  # the phone is gone; the task's own error already says so


def _still_connected(server: AdbServer, serial: str) -> bool:
    try:
        open_phone(server, serial)
        return True
    except DeviceError:
        return False


def _run(phone: Phone, script_name: str, config: dict, platform: str, *,
         comments: Callable[[], str] | None, rng: random.Random, clock: Callable[[], float],
         sleep: Callable[[float], None]) -> str:
    if script_name in ("follow", "unfollow"):
        return follow_user(phone, platform=platform, target=first_target(config),
                           access_method=str(config.get("access_method") or "direct"),
                           unfollow=script_name == "unfollow")
    if script_name == "post":
        return post_media(phone, platform=platform, **post_arguments(config))
    if script_name == "account_warmup":
        return warm_up(phone, platform=platform, comments=comments, rng=rng, clock=clock, sleep=sleep,
                       **warmup_arguments(config))
    raise InvalidScriptConfig(f"script {script_name} is not implemented yet")


def post_arguments(config: dict) -> dict:
    """post_media's keywords from a validated post config; `files` are server paths the caller chose."""
    files = [pathlib.Path(path) for path in config.get("files") or []]
    if not files:
        raise InvalidScriptConfig("no media files chosen for the post")
    return {"files": files, "caption": str(config.get("captions") or ""),
            "content_type": int(config.get("content_type", 0)), "post_way": str(config.get("post_way") or "share"),
            "add_sound": str(config.get("add_sound", "-1")), "sound_name": str(config.get("sound_name") or ""),
            "custom_sound_keyword": str(config.get("custom_sound_keyword") or ""),
            "origin_sound_volume": int(config.get("origin_sound_volume", 50)),
            "add_sound_volume": int(config.get("add_sound_volume", 50)),
            "placement": str(config.get("placement") or "reel"),
            "upload_wait_time": int(config.get("upload_wait_time", 30)),
            "sound_wait_time": int(config.get("sound_wait_time", 10))}


def warmup_arguments(config: dict) -> dict:
    return {"task_duration": float(config.get("task_duration", 600)),
            "topic_lines": str(config.get("topic") or "").splitlines(),
            "min_duration": float(config.get("min_duration", 15)),
            "max_duration": float(config.get("max_duration", 30)),
            "like_probable": float(config.get("like_probable", 0)),
            # "floow" is how the API spells it; "follow_probable" is accepted too.
            "follow_probable": float(config.get("floow_probable", config.get("follow_probable", 0))),
            "collect_probable": float(config.get("collect_probable", 0)),
            "comment_probable": float(config.get("comment_probable", 0))}


def first_target(config: dict) -> str:
    """The first of `target_users`, else of `target_user` split on newlines and commas."""
    candidates = config.get("target_users") or re.split(r"[\n,]", str(config.get("target_user") or ""))
    for candidate in candidates:
        candidate = str(candidate).strip()
        if candidate:
            return candidate
    raise InvalidScriptConfig("no target user given (target_users and target_user are empty)")
