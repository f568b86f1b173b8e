"""A phone's screen as a PNG: for failure artifacts, and for the farm page while no script drives the phone."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from devices.adb import AdbServer, open_phone
from devices.errors import DeviceError, ScriptFailed
from devices.phone import ADB_FAILURES, Phone
from devices.phone_lock import trying_phone

_REMOTE_SCREENSHOT = "/data/local/tmp/phonefarm_screen.png"


def take_screenshot(phone: Phone) -> bytes:
    """`screencap -p` to a file on the phone, read back and removed; raises DeviceError without a PNG."""
    phone.shell(["screencap", "-p", _REMOTE_SCREENSHOT], timeout=30)
    data = phone.read_file(_REMOTE_SCREENSHOT)
    phone.shell(["rm", "-f", _REMOTE_SCREENSHOT], timeout=10)
    if not data.startswith(b"\x89PNG"):
        raise ScriptFailed(f"screencap on {phone.serial} gave no PNG")
    return data


def screenshot_if_idle(server: AdbServer, serial: str, locks_dir: Path) -> Optional[bytes]:
    """The screen of a phone no run holds, taken under its lock (so no script starts meanwhile);
    None while a run drives it: a second adb session must never fight a script."""
    with trying_phone(locks_dir, serial) as held:
        if not held:
            return None
        try:
            return take_screenshot(Phone(open_phone(server, serial)))
        except ADB_FAILURES as error:
            raise DeviceError(f"phone {serial}: {error or type(error).__name__}") from error
