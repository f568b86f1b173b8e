"""A simulated phone that shows recorded screens (docs/recorded-screens.md): their dump, screenshot, app and locale."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from simulator import screenshot
from simulator.display import Node, Screen
from simulator.phone import SimulatedPhone

# The attributes `uiautomator dump` writes, in its order; an Appium page source's own (displayed,
# a11y-important...) are dropped, and its missing resource-id is written empty.
_NODE_ATTRIBUTES = ("index", "text", "resource-id", "class", "package", "content-desc", "checkable", "checked",
                    "clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable", "password",
                    "selected", "bounds")
_FLAGS = {"checkable", "checked", "clickable", "focusable", "focused", "scrollable", "long-clickable", "password",
          "selected"}
_DEFAULTS = {"index": "0", "enabled": "true", "bounds": "[0,0][0,0]"}
_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")
_SELECTORS = {"text": "text", "content-desc": "content_desc", "resource-id": "resource_id"}


@dataclass
class Recording:
    name: str
    xml: str  # as `uiautomator dump` writes it: the recorded file itself when it is one
    nodes: list[Node]  # parents first, as on screen
    png: bytes | None = None
    meta: dict = field(default_factory=dict)  # screen.json

    @classmethod
    def load(cls, path: Path) -> "Recording":
        """A recording folder (screen.xml, and screen.png and screen.json when there), or a bare dump file."""
        folder = path.is_dir()
        xml, nodes = as_uiautomator_dump((path / "screen.xml" if folder else path).read_text(encoding="utf-8"))
        png = path / "screen.png"
        meta = path / "screen.json"
        return cls(path.name if folder else path.stem, xml, nodes,
                   png.read_bytes() if folder and png.is_file() else None,
                   json.loads(meta.read_text(encoding="utf-8")) if folder and meta.is_file() else {})


def as_uiautomator_dump(source: str) -> tuple[str, list[Node]]:
    """A dump in either format as `uiautomator dump` writes it (a <node> dump unchanged), and its elements."""
    root = ElementTree.fromstring(source.encode("utf-8"))
    nodes = [_node(dict(element.attrib), element.tag) for element in root.iter() if element is not root]
    if any(child.tag == "node" for child in root):
        return source, nodes

    def converted(element) -> str:
        attributes = dict(element.attrib)
        attributes.setdefault("class", element.tag)
        values = {name: attributes.get(name, _DEFAULTS.get(name, "false" if name in _FLAGS else ""))
                  for name in _NODE_ATTRIBUTES}
        inner = "".join(converted(child) for child in element)
        opening = "<node " + " ".join(f"{name}={quoteattr(values[name])}" for name in _NODE_ATTRIBUTES)
        return opening + (f">{inner}</node>" if inner else " />")

    body = "".join(converted(child) for child in root)
    return (f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
            f"<hierarchy rotation={quoteattr(root.get('rotation', '0'))}>{body}</hierarchy>"), nodes


def _node(attributes: dict[str, str], tag: str) -> Node:
    match = _BOUNDS.fullmatch(attributes.get("bounds", ""))
    return Node(text=attributes.get("text", ""), resource_id=attributes.get("resource-id", ""),
                class_name=attributes.get("class") or tag, content_desc=attributes.get("content-desc", ""),
                clickable=attributes.get("clickable") == "true", focused=attributes.get("focused") == "true",
                bounds=tuple(int(value) for value in match.groups()) if match else (0, 0, 0, 0))


def load_recordings(path: Path) -> list[Recording]:
    """One recording (a folder with screen.xml, or a dump file), or every one in a folder, by name."""
    path = Path(path)
    if path.is_file() or (path / "screen.xml").is_file():
        return [Recording.load(path)]
    entries = sorted(entry for entry in path.iterdir()
                     if (entry.is_dir() and (entry / "screen.xml").is_file()) or entry.suffix == ".xml")
    if not entries:
        raise ValueError(f"no recorded screen in {path}")
    return [Recording.load(entry) for entry in entries]


class ReplayPhone(SimulatedPhone):
    """Answers `uiautomator dump`, `screencap`, `getprop` and `dumpsys package` from recordings, the first
    shown first; logs every tap and BACK; a tap on an element named in the shown recording's transitions
    (screen.json) shows the recording it names. Its simulated apps never show."""

    def __init__(self, recordings: list[Recording], name: str = "replay1"):
        first = recordings[0]
        package = first.meta.get("package") or _package(first.xml)
        super().__init__(name, model=first.meta.get("model") or "Pixel 7 (replay)",
                         installed_packages=(package,) if package else ())
        self.recordings = {recording.name: recording for recording in recordings}
        self.current = first
        self.taps: list[tuple[int, int, str, Node | None]] = []  # (x, y, recording shown, element hit); BACK is (-1, -1)

    @classmethod
    def from_path(cls, path: Path, **options) -> "ReplayPhone":
        return cls(load_recordings(Path(path)), **options)

    @classmethod
    def from_files(cls, paths: list[Path], **options) -> "ReplayPhone":
        return cls([Recording.load(Path(path)) for path in paths], **options)

    @property
    def screen(self) -> Screen:
        return self._screen

    @screen.setter
    def screen(self, screen: Screen) -> None:
        pass  # a recording shows what it shows: launching an app or a link changes nothing

    def show(self, name: str) -> None:
        with self.lock:
            self.current = self.recordings[name]

    def properties(self) -> dict[str, str]:
        locale = self.current.meta.get("locale") or "en-US"
        return {**super().properties(), "persist.sys.locale": locale.replace("_", "-")}

    def package_version(self, package: str) -> str | None:
        meta = self.current.meta
        return meta.get("version") if package == (meta.get("package") or _package(self.current.xml)) else None

    def window_xml(self) -> str:
        return self.current.xml

    def screenshot_png(self) -> bytes:
        if self.current.png is None:
            self.current.png = screenshot.render_png([Node(), *self.current.nodes], app=True)
        return self.current.png

    def dump_delay(self) -> float:
        return 0.0

    def tap(self, x: int, y: int) -> None:
        hit = _element_at(self.current.nodes, x, y)
        self.taps.append((x, y, self.current.name, hit))
        for transition in self.current.meta.get("transitions", []) if hit else ():
            wanted = {key: value for key, value in transition.items() if key in _SELECTORS}
            if wanted and transition.get("to") in self.recordings \
                    and all(getattr(hit, _SELECTORS[key]) == value for key, value in wanted.items()):
                self.show(transition["to"])
                return

    def press_back(self) -> None:
        self.taps.append((-1, -1, self.current.name, None))


def _package(xml: str) -> str:
    found = re.search(r'package="([^"]+)"', xml)
    return found.group(1) if found else ""


def _element_at(nodes: list[Node], x: int, y: int) -> Node | None:
    """The innermost clickable element under the point, else the innermost of any, as a tap lands."""
    under = [node for node in nodes if node.contains(x, y)]
    clickable = [node for node in under if node.clickable]
    return (clickable or under or [None])[-1]
