"""What the simulator tests share: reading a phone's UI dump over adb, and tapping a node by its text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

TIKTOK = "com.zhiliaoapp.musically"
INSTAGRAM = "com.instagram.android"


def launch(device, package: str) -> None:
    device.shell(["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"])


def dump(device) -> list[dict[str, str]]:
    """Every node's attributes, from `uiautomator dump --compressed` over the real adb server."""
    answer = device.shell("uiautomator dump --compressed /sdcard/d.xml")
    assert "dumped" in answer, answer
    xml = device.sync.read_bytes("/sdcard/d.xml").decode("utf-8")
    return [dict(node.attrib) for node in ElementTree.fromstring(xml).iter("node")]


def texts(nodes: list[dict[str, str]]) -> set[str]:
    return {node["text"] for node in nodes if node["text"]} | {node["content-desc"] for node in nodes
                                                               if node["content-desc"]}


def tap_text(device, nodes: list[dict[str, str]], text: str) -> None:
    """Tap the topmost node showing `text`, or whose resource-id ends in `:id/<text>`."""
    node = [node for node in nodes if text in (node["text"], node["content-desc"])
            or node["resource-id"].endswith(f":id/{text}")][-1]
    left, top, right, bottom = map(int, re.findall(r"\d+", node["bounds"]))
    device.shell(["input", "tap", str((left + right) // 2), str((top + bottom) // 2)])
