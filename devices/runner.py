"""The single entry point flows call: run one script on one phone, bracketed by logcat markers."""

from __future__ import annotations

import pathlib
import random
import time
from typing import Callable

from contract.script_configs import SCRIPT_CONFIGS, CommentConfig, FollowConfig, PostConfig, ScriptConfig, WarmupConfig
from devices.accounts import switch_account
from devices.adb import AdbServer, open_phone
from devices.comment import comment_post
from devices.artifacts import save_failure_artifacts
from devices.errors import DeviceError, InvalidScriptConfig, PhoneDisconnected
from devices.follow import follow_user
from devices.phone import ADB_FAILURES, Phone, phone_locale
from devices.platforms import PLATFORMS
from devices.post import post_media
from devices.watcher import Watcher
from devices.warmup import warm_up

MARKER_TAG = "phonefarm"


def run_script(server: AdbServer, serial: str, script_name: str, config: ScriptConfig, *,
               task_id: int | None, platform: str = "tiktok", username: str | None = None,
               artifacts_dir: pathlib.Path | None = None, comments: Callable[[], str] | None = None,
               rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, selector_folders: tuple[pathlib.Path, ...] = ()) -> str:
    """Run `script_name` with its parsed config as `username` (switched to first when given); on a
    DeviceError with the phone still there, a screenshot and the last UI dump go to `artifacts_dir`."""
    phone = Phone(open_phone(server, serial))
    label = "adhoc" if task_id is None else str(task_id)
    try:
        phone.log(MARKER_TAG, f"task {label} start", timeout=30)
        if platform in PLATFORMS:
            # The one reading of the app's selectors and the phone's locale for the run: the watcher checks every
            # screen with them, and the scripts find their elements with the same ones (Screen.of_app).
            phone.watcher = Watcher.for_app(platform, phone_locale(phone), tuple(selector_folders))
        if username:
            switch_account(phone, platform, username)
        note = _run(phone, script_name, config, platform, comments=comments, rng=rng or random.Random(),
                    clock=clock, sleep=sleep)
        return note + (phone.watcher.note() if phone.watcher else "")
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


def _run(phone: Phone, script_name: str, config: ScriptConfig, platform: str, *,
         comments: Callable[[], str] | None, rng: random.Random, clock: Callable[[], float],
         sleep: Callable[[float], None]) -> str:
    if script_name in ("follow", "unfollow") and isinstance(config, FollowConfig):
        return follow_user(phone, config, platform=platform, unfollow=script_name == "unfollow")
    if script_name == "post" and isinstance(config, PostConfig):
        return post_media(phone, config, platform=platform)
    if script_name == "comment" and isinstance(config, CommentConfig):
        return comment_post(phone, config, platform=platform, rng=rng)
    if script_name == "account_warmup" and isinstance(config, WarmupConfig):
        return warm_up(phone, config, platform=platform, comments=comments, rng=rng, clock=clock, sleep=sleep)
    if script_name in SCRIPT_CONFIGS:
        raise InvalidScriptConfig(f"script {script_name} needs a {SCRIPT_CONFIGS[script_name].__name__}, "
                                  f"not a {type(config).__name__}")
    raise InvalidScriptConfig(f"script {script_name} is not implemented yet")
