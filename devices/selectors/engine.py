"""Loads and validates the selector files (pydantic, errors with file and line) and matches their alternatives."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED = Path(__file__).parent
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u00ad"))
_APOSTROPHES = dict.fromkeys(map(ord, "\u2018\u2019\u201b\u02bc\u2032\uff07`\u00b4"), "'")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, casefold, one apostrophe, no invisible marks, collapsed whitespace: how every label is compared."""
    text = unicodedata.normalize("NFKC", text or "").translate(_INVISIBLE).translate(_APOSTROPHES)
    return _SPACES.sub(" ", text.replace("\u2026", "...")).strip().casefold()


class SelectorFileError(ValueError):
    """A selector file the loader refuses; the message names the file and the line at fault."""


# ---------------------------------------------------------------- the file schema (an edge: pydantic)

class AlternativeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Literal["text", "desc", "any", "id"] = "any"
    match: Literal["exact", "prefix", "contains"] = "exact"
    labels: dict[str, list[str] | str] = Field(default_factory=dict)  # locale -> label(s); "*" for locale-free
    source: str  # [TK], [GL], [T31]..., or "simulator" for strings no real app was seen showing
    unverified: bool = False
    clickable: Optional[bool] = None

    @model_validator(mode="after")
    def _labels_present(self):
        if not self.labels:
            raise ValueError("an alternative needs labels")
        if self.source.strip("[]") in {"simulator", "guess"} and not self.unverified:
            raise ValueError("a string from the simulator or a guess must say unverified: true")
        return self


class InterruptionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remark: str
    recognise: list[AlternativeModel] = Field(min_length=1)
    also: list[AlternativeModel] = Field(default_factory=list)  # when given, one of these must show too
    dismiss: list[AlternativeModel] = Field(default_factory=list)
    back_key: bool = False
    blocking: Optional[Literal["banned", "needs_attention", "rate_limited"]] = None

    @model_validator(mode="after")
    def _has_exit(self):
        if not self.blocking and not self.dismiss and not self.back_key:
            raise ValueError("a dismissible interruption needs dismiss alternatives or back_key: true")
        return self


class ScreenModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)


class SelectorFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app: str
    packages: list[str] = Field(default_factory=list)
    elements: dict[str, list[AlternativeModel]] = Field(default_factory=dict)
    screens: dict[str, ScreenModel] = Field(default_factory=dict)
    interruptions: dict[str, InterruptionModel] = Field(default_factory=dict)


# ---------------------------------------------------------------- inside: dataclasses

@dataclass(frozen=True)
class Alternative:
    field: str
    match: str
    labels: dict[str, tuple[str, ...]]
    source: str
    unverified: bool
    clickable: Optional[bool]

    def describe(self, locale: str, label: str) -> str:
        return f"{self.field} {self.match} {label!r} ({locale}, {self.source})"


@dataclass(frozen=True)
class Interruption:
    name: str
    remark: str
    recognise: tuple[Alternative, ...]
    also: tuple[Alternative, ...]
    dismiss: tuple[Alternative, ...]
    back_key: bool
    blocking: Optional[str]


@dataclass
class Selectors:
    app: str
    packages: list[str]
    elements: dict[str, tuple[Alternative, ...]]
    screens: dict[str, dict[str, list[str]]]
    interruptions: dict[str, Interruption]


@dataclass(frozen=True)
class Match:
    node: object  # a ui.UiNode (or anything with text, content_desc, resource_id, clickable, bounds)
    alternative: Alternative
    locale: str
    label: str
    by: str  # "text", "desc" or "id"
    element: str = ""  # the element's name in the selector file, when looked up by name


def _alternative(model: AlternativeModel) -> Alternative:
    labels = {locale: tuple([value] if isinstance(value, str) else value) for locale, value in model.labels.items()}
    return Alternative(model.field, model.match, labels, model.source, model.unverified, model.clickable)


def _line_of(node: yaml.Node, path: tuple) -> int:
    """The 1-based line of the YAML node a pydantic error path points at (the deepest one that exists)."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            child = next((value for name, value in node.value if name.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _read(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SelectorFileError(f"{path}:{mark.line + 1 if mark else '?'}: not valid YAML ({error})") from None
    try:
        SelectorFileModel.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(key) for key in first["loc"])
        raise SelectorFileError(f"{path}:{_line_of(tree, first['loc']) if tree else 1}: {where}: {first['msg']}") from None
    return data


@functools.lru_cache(maxsize=16)  # read once per process: the worker's forkserver loads them before any fork
def load_selectors(app: str, *folders: Path | str) -> Selectors:
    """The shipped file of the app, then the same-named file of each operator folder merged over it (per element,
    per screen, per interruption: an operator's alternatives come first, then the shipped ones)."""
    files = [SHIPPED / f"{app}.yaml"] + [Path(folder) / f"{app}.yaml" for folder in folders]
    merged = SelectorFileModel(app=app)
    for path in files:
        if not path.exists():
            if path.parent == SHIPPED:
                raise SelectorFileError(f"{path}: no selector file for app {app}")
            continue
        model = SelectorFileModel.model_validate(_read(path))
        if model.app != app:
            raise SelectorFileError(f"{path}:1: app is {model.app!r}, expected {app!r}")
        merged.packages = model.packages or merged.packages
        for name, alternatives in model.elements.items():
            merged.elements[name] = alternatives + merged.elements.get(name, [])
        merged.screens.update(model.screens)
        merged.interruptions.update(model.interruptions)
    return Selectors(
        app=app, packages=merged.packages,
        elements={name: tuple(map(_alternative, alts)) for name, alts in merged.elements.items()},
        screens={name: screen.model_dump() for name, screen in merged.screens.items()},
        interruptions={name: Interruption(name, model.remark, tuple(map(_alternative, model.recognise)),
                                          tuple(map(_alternative, model.also)), tuple(map(_alternative, model.dismiss)),
                                          model.back_key, model.blocking)
                       for name, model in merged.interruptions.items()})


def shipped_apps() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in SHIPPED.glob("*.yaml")))


def load_every_app(*folders: Path | str) -> dict[str, Selectors]:
    """Every app's selectors with the operator folders merged in, as a process start validates them: an operator
    file that is wrong, or named after no app, is refused with its path (and line)."""
    apps = shipped_apps()
    for folder in map(Path, folders):
        for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else ():
            if path.stem not in apps or path.suffix != ".yaml":
                raise SelectorFileError(f"{path}:1: no app is called {path.stem!r} (selector files: "
                                        f"{', '.join(app + '.yaml' for app in apps)})")
    return {app: load_selectors(app, *map(Path, folders)) for app in apps}


# ---------------------------------------------------------------- matching

def _fits(value: str, label: str, how: str) -> bool:
    if not value:
        return False
    if how == "exact":
        return value == label
    if how == "prefix":
        return value.startswith(label)
    return label in value


def _locales(alternative: Alternative, locale: Optional[str]) -> list[str]:
    """The phone's locale first (then its language), then every other locale: a screen may not match the phone."""
    ordered = []
    if locale:
        ordered += [key for key in alternative.labels if key.lower() == locale.lower()]
        ordered += [key for key in alternative.labels if key.split("-")[0].lower() == locale.split("-")[0].lower()]
    ordered += list(alternative.labels)
    return list(dict.fromkeys(ordered))


def match_alternatives(nodes: Iterable, alternatives: Iterable[Alternative], locale: Optional[str] = None,
                       use_ids: bool = False) -> Optional[Match]:
    """The first node an alternative names by text or content-desc; ids only count when use_ids (a boost, never
    the reason to tap)."""
    nodes = list(nodes)
    prepared = [(node, normalise(node.text), normalise(node.content_desc)) for node in nodes]
    for alternative in alternatives:
        if alternative.field == "id" and not use_ids:
            continue
        for key in _locales(alternative, locale):
            for label in alternative.labels[key]:
                wanted = normalise(label)
                if alternative.match == "prefix" and label.endswith(" "):
                    wanted += " "  # "Follow " must not be the start of "Following"
                for node, text, desc in prepared:
                    if alternative.clickable is not None and node.clickable != alternative.clickable:
                        continue
                    if alternative.field == "id":
                        if node.resource_id == label or node.resource_id.endswith(":id/" + label):
                            return Match(node, alternative, key, label, "id")
                        continue
                    if alternative.field in ("text", "any") and _fits(text, wanted, alternative.match):
                        return Match(node, alternative, key, label, "text")
                    if alternative.field in ("desc", "any") and _fits(desc, wanted, alternative.match):
                        return Match(node, alternative, key, label, "desc")
    return None


def find_element(selectors: Selectors, name: str, nodes: Iterable, locale: Optional[str] = None) -> Optional[Match]:
    if name not in selectors.elements:
        raise KeyError(f"no element {name!r} in the {selectors.app} selectors")
    found = match_alternatives(nodes, selectors.elements[name], locale)
    return dataclasses.replace(found, element=name) if found else None


def match_interruption(selectors: Selectors, nodes: Iterable, locale: Optional[str] = None):
    """(interruption, the match that dismisses it or None) for the first catalogued interruption on the screen."""
    nodes = list(nodes)
    for interruption in selectors.interruptions.values():
        if not match_alternatives(nodes, interruption.recognise, locale):
            continue
        if interruption.also and not match_alternatives(nodes, interruption.also, locale):
            continue
        return interruption, match_alternatives(nodes, interruption.dismiss, locale)
    return None


def recognise_screen(selectors: Selectors, nodes: Iterable, locale: Optional[str] = None) -> str:
    nodes = list(nodes)
    found = {name: find_element(selectors, name, nodes, locale) is not None for name in selectors.elements}
    for name, rule in selectors.screens.items():
        if all(found.get(element) for element in rule["all"]) and \
                (not rule["any"] or any(found.get(element) for element in rule["any"])) and \
                not any(found.get(element) for element in rule["none"]):
            return name
    return "unknown"
