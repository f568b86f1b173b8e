"""One phone as the scripts drive it: adbutils' public calls, with every value passed as an argument of its own."""

from __future__ import annotations

import base64
import pathlib
import re
from typing import Optional, Sequence

import adbutils
from adbutils import AdbError

from devices.errors import AppNotInstalled, ScriptFailed
from devices.platforms import PLATFORMS, Platform

# What a connection that breaks mid-call raises, depending on where it broke.
ADB_FAILURES = (AdbError, ConnectionError, OSError, EOFError)
_SHELL_TIMEOUT = 600.0  # adbutils' own default
_DUMP_PATH = "/data/local/tmp/uidump.xml"


class Phone:
    """Wraps an adbutils device; `last_dump` keeps the screen the script last read, for failure artifacts."""

    def __init__(self, device: adbutils.AdbDevice):
        self.device = device
        self.serial: str = device.serial
        self.last_dump: str | None = None
        self.watcher = None  # a devices.watcher.Watcher once the runner knows the app: every screen read consults it
        # Set by a script that has just opened a video feed it has not read yet: a dump that never idles there
        # is a playing video, paused by a tap on the screen's centre (ui.dump_xml).
        self.entering_video_feed = False

    def shell(self, argv: Sequence[str], *, timeout: float = _SHELL_TIMEOUT) -> str:
        # adbutils quotes each item of a list, so a hostile value stays one literal word on the phone;
        # a string would be parsed by the phone's sh, so none is accepted.
        if isinstance(argv, str):
            raise TypeError("Phone.shell takes a list of arguments, not a command line")
        return self.device.shell(list(argv), timeout=timeout)

    def installed_packages(self) -> set[str]:
        return set(self.device.list_packages())

    def installed_package(self, platform: Platform) -> str:
        """The package that runs `platform` on this phone (the first one installed, by preference)."""
        installed = self.installed_packages()
        for package in platform.packages:
            if package in installed:
                return package
        raise AppNotInstalled(f"{platform.app_name} app is not installed on phone {self.serial}")

    def start_app(self, package: str) -> None:
        self.device.app_start(package)
        # An app that opens on a playing video: its first dump cannot idle until the video is paused.
        self.entering_video_feed = any(package in app.packages and app.opens_on_video for app in PLATFORMS.values())

    def start_activity(self, intent: list[str], *, failure: str, timeout: float = _SHELL_TIMEOUT) -> None:
        """`am start` with the intent's arguments; `failure` begins the remark if Android refuses it."""
        output = self.shell(["am", "start", *intent], timeout=timeout)
        if "Error" in output:
            raise ScriptFailed(f"{failure}: {output.strip().splitlines()[-1]}")

    def open_url(self, url: str, package: str, *, what: str) -> None:
        self.start_activity(["-a", "android.intent.action.VIEW", "-d", url, "-p", package],
                            failure=f"could not open {what}")

    def tap(self, x: int, y: int) -> None:
        self.device.click(x, y)

    def screen_centre(self) -> tuple[int, int]:
        width, height = self.device.window_size(landscape=False)  # the apps run in portrait
        return width // 2, height // 2

    def back(self) -> None:
        self.device.keyevent("KEYCODE_BACK")

    def swipe(self, start: tuple[int, int], end: tuple[int, int], seconds: float) -> None:
        self.device.swipe(*start, *end, duration=seconds)

    def type_text(self, text: str) -> None:
        """Into the focused field: `input text` for plain ASCII, the ADBKeyBoard broadcast for anything else."""
        if not text:
            return
        if _typeable_by_input(text):
            # `input text` reads %s as a space and cannot take a literal space.
            self.device.send_keys(text.replace(" ", "%s"))
        else:
            encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
            self.shell(["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", encoded])

    def dump_window(self, *, compressed: bool) -> str:
        """What `uiautomator dump` and a `cat` of its file print, in one round trip instead of dump + pull."""
        flags = "--compressed " if compressed else ""
        # The only command line sent as a string: it is made of constants, and needs the phone's `&&`.
        return self.device.shell(f"uiautomator dump {flags}{_DUMP_PATH} && cat {_DUMP_PATH}", timeout=30)

    def push(self, local: pathlib.Path, remote: str) -> None:
        self.device.sync.push(local, remote, mode=0o644)

    def read_file(self, remote: str) -> bytes:
        return self.device.sync.read_bytes(remote)

    def log(self, tag: str, message: str, *, timeout: float) -> None:
        self.shell(["log", "-t", tag, message], timeout=timeout)


def phone_locale(phone: Phone) -> Optional[str]:
    """The phone's locale: persist.sys.locale, else ro.product.locale; None when neither is set."""
    for prop in ("persist.sys.locale", "ro.product.locale"):
        try:
            value = phone.shell(["getprop", prop], timeout=10).strip()
        except ADB_FAILURES:
            return None
        if re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", value):
            return value
    return None


def _typeable_by_input(text: str) -> bool:
    # Non-ASCII is not on the key map, and a literal "%" could be read as the %s escape.
    return text.isascii() and text.isprintable() and "%" not in text
