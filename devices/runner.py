"""The single entry point flows call: run one script on one phone, bracketed by logcat markers."""

from __future__ import annotations

import re

import adbutils
from adbutils import AdbError

from devices.adb import AdbServer, open_phone
from devices.errors import DeviceError
from devices.follow import follow_user

MARKER_TAG = "phonefarm"
_ADB_FAILURES = (AdbError, ConnectionError, OSError, EOFError)


def run_script(server: AdbServer, serial: str, script_name: str, config: dict, *,
               task_id: int | None, platform: str = "tiktok") -> str:
    phone = open_phone(server, serial)
    label = "adhoc" if task_id is None else str(task_id)
    try:
        phone.shell(["log", "-t", MARKER_TAG, f"task {label} start"], timeout=30)
        return _run(phone, script_name, config, platform)
    except _ADB_FAILURES as error:
        raise DeviceError(f"phone {serial} disconnected during the task: {error or type(error).__name__}",
                          transient=True) from error
    finally:
        try:
            phone.shell(["log", "-t", MARKER_TAG, f"task {label} end"], timeout=10)
        except _ADB_FAILURES:
            pass  # the phone is gone; the task's own error already says so


def _run(phone: adbutils.AdbDevice, script_name: str, config: dict, platform: str) -> str:
    if script_name in ("follow", "unfollow"):
        return follow_user(phone, platform=platform, target=first_target(config),
                           access_method=str(config.get("access_method") or "direct"),
                           unfollow=script_name == "unfollow")
    raise DeviceError(f"script {script_name} is not implemented yet")


def first_target(config: dict) -> str:
    """The first of `target_users`, else of `target_user` split on newlines and commas."""
    candidates = config.get("target_users") or re.split(r"[\n,]", str(config.get("target_user") or ""))
    for candidate in candidates:
        candidate = str(candidate).strip()
        if candidate:
            return candidate
    raise DeviceError("no target user given (target_users and target_user are empty)")
