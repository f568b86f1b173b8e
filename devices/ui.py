"""Reading the screen through uiautomator: dump with retries, parse nodes, find, wait and tap."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

import adbutils

from devices.errors import DeviceError

DUMP_PATH = "/data/local/tmp/uidump.xml"
_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")
T = TypeVar("T")
# The most recent screen dump per phone serial, saved with the screenshot when a script fails.
_last_dumps: dict[str, str] = {}


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


def dump_xml(phone: adbutils.AdbDevice, *, attempts: int = 4, retry_delay: float = 0.15) -> str:
    """uiautomator dump, retried: screens that never idle make it fail now and then.

    A short delay is enough: uiautomator has already waited for idle before it gave up.
    """
    last_output = ""
    for attempt in range(attempts):
        # Every other attempt uses --compressed, which skips waiting for the screen to idle on some builds.
        flags = "--compressed " if attempt % 2 else ""
        # One shell round trip instead of dump + sync pull; only constants go into this command line.
        output = phone.shell(f"uiautomator dump {flags}{DUMP_PATH} && cat {DUMP_PATH}", timeout=30)
        start = output.find("<?xml")
        # A failed dump leaves the previous file in place, so only trust XML after a clean "dumped to".
        report = output if start < 0 else output[:start]
        if start >= 0 and "dumped to" in report and "ERROR" not in report:
            xml = output[start:]
            _last_dumps[phone.serial] = xml
            return xml
        last_output = report if report.strip() else "dump file is not XML"
        time.sleep(retry_delay)
    raise DeviceError(f"UI not recognised: could not read the screen of phone {phone.serial} "
                      f"({last_output.strip() or 'no output from uiautomator'})", transient=True)


def last_dump(serial: str) -> str | None:
    return _last_dumps.get(serial)


def forget_last_dump(serial: str) -> None:
    """Called when a task starts, so a failure never shows the screen of an earlier task."""
    _last_dumps.pop(serial, None)


def parse(xml: str) -> list[UiNode]:
    try:
        root = ElementTree.fromstring(xml.encode("utf-8"))
    except ElementTree.ParseError as error:
        raise DeviceError(f"UI not recognised: the screen dump is not valid XML ({error})", transient=True)
    nodes = []
    for element in root.iter("node"):
        match = _BOUNDS.fullmatch(element.get("bounds", ""))
        bounds = tuple(int(value) for value in match.groups()) if match else (0, 0, 0, 0)
        nodes.append(UiNode(text=element.get("text", ""), content_desc=element.get("content-desc", ""),
                            resource_id=element.get("resource-id", ""), class_name=element.get("class", ""),
                            clickable=element.get("clickable") == "true", bounds=bounds))
    return nodes


def read_screen(phone: adbutils.AdbDevice) -> list[UiNode]:
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


def wait_for(phone: adbutils.AdbDevice, predicate: Callable[[list[UiNode]], T | None], *,
             timeout: float, interval: float = 0.3, what: str) -> T:
    """Re-read the screen until predicate returns something; `what` names it for the operator."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate(read_screen(phone))
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise DeviceError(f"UI not recognised: {what}")
        time.sleep(interval)


def tap(phone: adbutils.AdbDevice, node: UiNode) -> None:
    x, y = node.center
    phone.shell(["input", "tap", str(x), str(y)])
