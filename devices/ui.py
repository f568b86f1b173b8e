"""Reading the screen through uiautomator: dump with retries, parse into nodes, and finders that pick nodes out."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, TypeVar

from adbutils import AdbTimeout

from devices.errors import ScreenUnreadable
from devices.phone import Phone
from devices.selectors import find_element, load_selectors, shipped_apps

_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")
T = TypeVar("T")


@dataclass(frozen=True)
class UiNode:
    text: str
    content_desc: str
    resource_id: str
    class_name: str
    clickable: bool
    bounds: tuple[int, int, int, int]

    @property
    def center(self) -> tuple[int, int]:
        left, top, right, bottom = self.bounds
        return (left + right) // 2, (top + bottom) // 2

    @property
    def is_text_field(self) -> bool:
        return self.class_name.endswith("EditText")


# Looks at one screen's nodes and returns what it was after, or None to have the screen read again.
Finder = Callable[[list[UiNode]], Optional[T]]


def dump_xml(phone: Phone, *, attempts: int = 4, retry_delay: float = 0.15) -> str:
    """uiautomator dump, retried with a growing delay: screens that never idle make it fail now and then.

    A short first delay is enough: uiautomator has already waited for idle before it gave up; the first dumps
    right after a screen opens are the slow ones, so each later wait doubles.
    """
    last_output = ""
    for attempt in range(attempts):
        # Every other attempt uses --compressed, which skips waiting for the screen to idle on some builds.
        try:
            output = phone.dump_window(compressed=attempt % 2 == 1)
        except AdbTimeout:
            output = "ERROR: the dump timed out"
        start = output.find("<?xml")
        # A failed dump leaves the previous file in place, so only trust XML after a clean "dumped to".
        report = output if start < 0 else output[:start]
        if start >= 0 and "dumped to" in report and "ERROR" not in report:
            phone.last_dump = output[start:]
            phone.entering_video_feed = False
            return phone.last_dump
        last_output = report if report.strip() else "dump file is not XML"
        if attempt < attempts - 1:
            if _never_idle(report):
                _pause_video(phone)
            time.sleep(retry_delay * (2 ** attempt))
    raise ScreenUnreadable(f"UI not recognised: could not read the screen of phone {phone.serial} "
                           f"({last_output.strip() or 'no output from uiautomator'})")


def _never_idle(report: str) -> bool:
    return "idle state" in report or "timed out" in report


def _pause_video(phone: Phone) -> None:
    """A playing video keeps the screen from ever idling: tap the video itself (found by its content-desc on the
    last screen read, never by position alone) to pause it, as real farms do before dumping. A feed the script has
    just opened has no such screen yet: there the video fills the screen, and a tap on its centre pauses it ([FZ]
    UIHelper taps the centre before every dump), once: a second tap would play it again."""
    if phone.entering_video_feed:
        phone.entering_video_feed = False
        phone.tap(*phone.screen_centre())
        return
    if not phone.last_dump:
        return
    try:
        nodes = parse(phone.last_dump)
    except ScreenUnreadable:
        return
    watcher = phone.watcher  # the run's selectors and locale; outside a run, every app's shipped selectors
    choices = [(watcher.selectors, watcher.locale)] if watcher else [(load_selectors(app), None) for app in shipped_apps()]
    for selectors, locale in choices:
        # Only over a playing video: its like control is on screen too (a gallery tile may also read "Video").
        if not any(find_element(selectors, name, nodes, locale) for name in ("like_button", "liked_button")):
            continue
        video = find_element(selectors, "video_surface", nodes, locale)
        if video is not None:
            phone.tap(*video.node.center)
            return


def parse(xml: str) -> list[UiNode]:
    try:
        root = ElementTree.fromstring(xml.encode("utf-8"))
    except ElementTree.ParseError as error:
        raise ScreenUnreadable(f"UI not recognised: the screen dump is not valid XML ({error})") from error
    nodes = []
    # uiautomator writes <node class=...>; an Appium page source names each element by its class.
    for element in root.iter():
        if element.tag == "hierarchy":
            continue
        match = _BOUNDS.fullmatch(element.get("bounds", ""))
        bounds = tuple(int(value) for value in match.groups()) if match else (0, 0, 0, 0)
        nodes.append(UiNode(text=element.get("text", ""), content_desc=element.get("content-desc", ""),
                            resource_id=element.get("resource-id", ""), class_name=element.get("class") or element.tag,
                            clickable=element.get("clickable") == "true", bounds=bounds))
    return nodes


def read_screen(phone: Phone) -> list[UiNode]:
    return parse(dump_xml(phone))


def find(nodes: Iterable[UiNode], *labels: str, resource_ids: Iterable[str] = (),
         include_text_fields: bool = True) -> UiNode | None:
    """By exact text, then content-desc (case-insensitive), then resource-id suffix.

    Resource ids come last because these apps obfuscate and rename them between versions.
    """
    nodes = [node for node in nodes if include_text_fields or not node.is_text_field]
    wanted = [label.casefold() for label in labels]
    for label in wanted:
        for node in nodes:
            if node.text.casefold() == label:
                return node
    for label in wanted:
        for node in nodes:
            if node.content_desc.casefold() == label:
                return node
    for resource_id in resource_ids:
        for node in nodes:
            if node.resource_id == resource_id or node.resource_id.endswith(":id/" + resource_id):
                return node
    return None


# ---------------------------------------------------------------- finders

def labelled(*labels: str, include_text_fields: bool = True) -> Finder[UiNode]:
    """Any node with one of the labels (see find)."""
    return lambda nodes: find(nodes, *labels, include_text_fields=include_text_fields)


def button(*labels: str) -> Finder[UiNode]:
    """A clickable node with one of the labels; a text field that merely contains the label does not count."""
    return lambda nodes: find([node for node in nodes if node.clickable], *labels, include_text_fields=False)


def text_field() -> Finder[UiNode]:
    return lambda nodes: next((node for node in nodes if node.is_text_field), None)


def showing(*labels: str) -> Finder[list[UiNode]]:
    """The whole screen, once one of the labels is on it."""
    return lambda nodes: nodes if find(nodes, *labels) else None


def without(*labels: str) -> Finder[list[UiNode]]:
    """The whole screen, once none of the labels is on it."""
    return lambda nodes: None if find(nodes, *labels) else nodes
