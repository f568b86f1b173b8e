"""Waiting for and tapping what a script expects on screen, found by element name in the app's selector file."""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

from devices import ui
from devices.errors import DeviceError, LoggedOut, UiNotRecognised
from devices.phone import Phone, phone_locale
from devices.selectors import Match, Selectors, find_element
from devices.watcher import Watcher

T = TypeVar("T")


class Screen:
    """The screen of one phone as a script reads it, with the app's selectors and the phone's locale.

    With `watch_logged_out` every read first checks for the login screen of an expired session, so a
    script that meets it ends with the logged-out remark instead of timing out on a missing button.
    Only account switching turns it off: it can leave an expired account through that screen.
    """

    def __init__(self, phone: Phone, selectors: Optional[Selectors] = None, locale: Optional[str] = None, *,
                 timeout: float = 20.0, interval: float = 0.3, watch_logged_out: bool = True):
        self.phone, self.timeout, self.interval = phone, timeout, interval
        if selectors is None and phone.watcher is not None:
            selectors, locale = phone.watcher.selectors, phone.watcher.locale
        self.selectors, self.locale = selectors, locale
        self.watch_logged_out = watch_logged_out and selectors is not None

    @classmethod
    def of_app(cls, phone: Phone, app: str, **options) -> "Screen":
        """The run's selectors and locale (the runner's watcher), or, outside a run, the shipped selectors, the
        phone's locale and a watcher of their own."""
        if phone.watcher is None or phone.watcher.selectors.app != app:
            phone.watcher = Watcher.for_app(app, phone_locale(phone))
        return cls(phone, **options)

    def read(self) -> list[ui.UiNode]:
        nodes = ui.read_screen(self.phone)
        watcher = self.phone.watcher
        # A dismissed interruption changes the screen: read it again (the watcher bounds how often).
        while watcher is not None and watcher.check(self.phone, nodes):
            time.sleep(self.interval)
            nodes = ui.read_screen(self.phone)
        if self.watch_logged_out:
            user = self.logged_out_user(nodes)
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

    def tap(self, finder: ui.Finder[ui.UiNode | Match], what: str, *, timeout: float | None = None) -> None:
        found = self.wait(finder, what, timeout=timeout)
        self.tap_node(found.node if isinstance(found, Match) else found)

    def tap_node(self, node: ui.UiNode) -> None:
        self.phone.tap(*node.center)

    # ------------------------------------------------------------ elements by name (devices/selectors/<app>.yaml)

    def find(self, nodes: list[ui.UiNode], *names: str, clickable: bool = False,
             text_fields: bool = True) -> Match | None:
        """The first of the named elements on screen (by text or content-desc, never by id or position); the match
        says which element it is (`match.element`)."""
        if self.selectors is None:
            raise ValueError("this screen has no selectors: build it with Screen.of_app")
        candidates = [node for node in nodes
                      if (node.clickable or not clickable) and (text_fields or not node.is_text_field)]
        for name in names:
            found = find_element(self.selectors, name, candidates, self.locale)
            if found is not None:
                return found
        return None

    def find_all(self, nodes: list[ui.UiNode], name: str, *, clickable: bool = False) -> list[Match]:
        """Every node that is the named element, in screen order."""
        return [match for node in nodes if (match := self.find([node], name, clickable=clickable))]

    def element(self, *names: str, text_fields: bool = True) -> ui.Finder[Match]:
        """Any node that is one of the named elements."""
        return lambda nodes: self.find(nodes, *names, text_fields=text_fields)

    def button(self, *names: str) -> ui.Finder[Match]:
        """A clickable node that is one of the named elements; a text field holding the same words does not count."""
        return lambda nodes: self.find(nodes, *names, clickable=True, text_fields=False)

    def showing(self, *names: str) -> ui.Finder[list[ui.UiNode]]:
        """The whole screen, once one of the named elements is on it."""
        return lambda nodes: nodes if self.find(nodes, *names) else None

    def without(self, *names: str) -> ui.Finder[list[ui.UiNode]]:
        """The whole screen, once none of the named elements is on it."""
        return lambda nodes: None if self.find(nodes, *names) else nodes

    def logged_out_user(self, nodes: list[ui.UiNode]) -> str | None:
        """The account a login screen asks a password for ("" if it names none), or None when this is no login
        screen."""
        if self.find(nodes, "log_in_button", text_fields=False) is None:
            return None
        marker = self.find(nodes, "logged_out_user")
        return marker.node.text if marker else ""


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
