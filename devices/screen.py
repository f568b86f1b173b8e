"""Waiting for and tapping what a script expects on screen, with the one logged-out watcher every script uses."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from devices import ui
from devices.errors import DeviceError, LoggedOut, UiNotRecognised
from devices.phone import Phone
from devices.platforms import LOG_IN_BUTTON, LOGGED_OUT_MARK

T = TypeVar("T")


class Screen:
    """The screen of one phone as a script reads it.

    With `watch_logged_out` every read first checks for the login screen of an expired session, so a
    script that meets it ends with the logged-out remark instead of timing out on a missing button.
    Only account switching turns it off: it can leave an expired account through that screen.
    """

    def __init__(self, phone: Phone, *, timeout: float = 20.0, interval: float = 0.3, watch_logged_out: bool = True):
        self.phone, self.timeout, self.interval = phone, timeout, interval
        self.watch_logged_out = watch_logged_out

    def read(self) -> list[ui.UiNode]:
        nodes = ui.read_screen(self.phone)
        watcher = self.phone.watcher
        # A dismissed interruption changes the screen: read it again (the watcher bounds how often).
        while watcher is not None and watcher.check(self.phone, nodes):
            time.sleep(self.interval)
            nodes = ui.read_screen(self.phone)
        if self.watch_logged_out:
            user = logged_out_user(nodes)
            if user is not None:
                raise logged_out(self.phone, user or "?")
        return nodes

    def wait(self, finder: ui.Finder[T], what: str = "", *, timeout: float | None = None,
             failure: Callable[[list[ui.UiNode]], DeviceError] | None = None) -> T:
        """Re-read the screen until `finder` returns something.

        On timeout `failure` builds the error from the last screen; by default it is "UI not recognised: `what`".
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            nodes = self.read()
            found = finder(nodes)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise failure(nodes) if failure else UiNotRecognised(f"UI not recognised: {what}{unknown_dialog(nodes)}")
            time.sleep(self.interval)

    def tap(self, finder: ui.Finder[ui.UiNode], what: str, *, timeout: float | None = None) -> None:
        self.tap_node(self.wait(finder, what, timeout=timeout))

    def tap_node(self, node: ui.UiNode) -> None:
        self.phone.tap(*node.center)


def logged_out_user(nodes: list[ui.UiNode]) -> str | None:
    """The account a login screen asks a password for ("" if it names none), or None when this is no login screen."""
    if ui.find(nodes, LOG_IN_BUTTON, include_text_fields=False) is None:
        return None
    marker = next((node for node in nodes if node.content_desc == LOGGED_OUT_MARK), None)
    return marker.text if marker else ""


def logged_out(phone: Phone, user: str) -> LoggedOut:
    return LoggedOut(f"account @{user} is logged out on phone {phone.serial} (its session expired; "
                     "log in again on the phone)")


def unknown_dialog(nodes: list[ui.UiNode]) -> str:
    """", and a dialog the interruption catalogue does not know shows 'a', 'b'" when one is on screen, else ""."""
    dialog = any("dialog" in node.class_name.casefold() or node.content_desc == "Dialog"
                 or "dialog" in node.resource_id.rpartition("/")[2].casefold() for node in nodes)
    if not dialog:
        return ""
    texts = list(dict.fromkeys(node.text.strip() for node in nodes if node.text.strip()))[:8]
    return f", and a dialog the interruption catalogue does not know shows {', '.join(map(repr, texts)) or 'no text'}"
