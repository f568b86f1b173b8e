"""What a simulated phone displays: screen state, uiautomator nodes and their XML, navigation all apps share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from simulator import locales

# The real apps' package names, kept apart from the scripts' copy: the simulator stands for the
# phones, so a script whose package names or labels drift from the real apps' fails against it.
TIKTOK, TIKTOK_TRILL = "com.zhiliaoapp.musically", "com.ss.android.ugc.trill"
INSTAGRAM = "com.instagram.android"
PLATFORM_BY_PACKAGE = {TIKTOK: "tiktok", TIKTOK_TRILL: "tiktok", INSTAGRAM: "instagram"}
LAUNCHER = "com.google.android.apps.nexuslauncher"
SCREEN_WIDTH, SCREEN_HEIGHT = 1080, 2400


@dataclass
class Screen:
    """What is on the display: an app's named screen, or the launcher when package is None."""

    package: str | None = None
    name: str = "launcher"
    query: str = ""  # what was typed into the screen's text box
    user: str | None = None  # whose profile, login or sound page this is; the topic of search results
    opened_at: float = field(default_factory=time.monotonic)
    previous: "Screen | None" = None  # where BACK goes
    # Shared by every screen of one upload flow (selected media, sound, placement, volumes).
    draft: dict | None = None
    video: int = 0  # index of the video a feed is showing
    plain_dump_failed: bool = False  # a playing feed fails the first non-compressed dump
    paused: bool = False  # a tap on a playing video pauses it (and lets uiautomator see the screen idle)


@dataclass(frozen=True)
class Node:
    text: str = ""
    resource_id: str = ""
    class_name: str = "android.view.View"
    content_desc: str = ""
    clickable: bool = False
    focused: bool = False
    bounds: tuple[int, int, int, int] = (0, 0, SCREEN_WIDTH, SCREEN_HEIGHT)
    # What a tap does, looked up in the actions of the app areas: e.g. ("open_search",) or ("open_profile", "bob").
    action: tuple = ()

    def contains(self, x: int, y: int) -> bool:
        left, top, right, bottom = self.bounds
        return left <= x < right and top <= y < bottom


BACK_BUTTON = Node(content_desc="Back", class_name="android.widget.ImageView", clickable=True,
                   bounds=(20, 110, 120, 210), action=("back",))


def platform_of(screen: Screen) -> str:
    return PLATFORM_BY_PACKAGE[screen.package]


def label(phone, screen: Screen, english: str) -> str:
    """A label as the app on `screen` shows it in the phone's locale."""
    return locales.say(phone.locale, platform_of(screen), english)


def view_id(package: str, name: str) -> str:
    return f"{package}:id/{name}"


def row(top: int, height: int = 120) -> tuple[int, int, int, int]:
    """Bounds of a full-width list row."""
    return (40, top, SCREEN_WIDTH - 40, top + height)


def open_screen(phone, screen: Screen) -> None:
    """Show an app screen; an app whose active account's session expired shows its login screen instead."""
    phone.screen = screen
    active = phone.logged_in[platform_of(screen)]
    if active in phone.logged_out:
        phone.screen = Screen(package=screen.package, name="login", user=active)


def press_back(phone) -> None:
    phone.screen = phone.screen.previous or Screen()


def to_xml(nodes: list[Node], package: str | None) -> str:
    """uiautomator's dump format: the first node is the root, the rest are its children."""
    package = package or LAUNCHER

    def attributes(index: int, node: Node) -> str:
        left, top, right, bottom = node.bounds
        values = [("index", str(index)), ("text", node.text), ("resource-id", node.resource_id),
                  ("class", node.class_name), ("package", package), ("content-desc", node.content_desc),
                  ("checkable", "false"), ("checked", "false"), ("clickable", _bool(node.clickable)),
                  ("enabled", "true"), ("focusable", _bool(node.clickable)), ("focused", _bool(node.focused)),
                  ("scrollable", "false"), ("long-clickable", "false"), ("password", "false"),
                  ("selected", "false"), ("bounds", f"[{left},{top}][{right},{bottom}]")]
        return " ".join(f"{name}={quoteattr(value)}" for name, value in values)

    root, children = nodes[0], nodes[1:]
    inner = "".join(f"<node {attributes(i, child)} />" for i, child in enumerate(children))
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
            f'<hierarchy rotation="0"><node {attributes(0, root)}>{inner}</node></hierarchy>')


def _bool(value: bool) -> str:
    return "true" if value else "false"
