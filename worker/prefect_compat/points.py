"""A touch point of Prefect's internals: what it is, why it is touched, and the canary it was written against."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Optional

# The values install() replaced, by target: canaries read what Prefect wrote, not the replacement.
ORIGINALS: dict[str, Any] = {}


@dataclass(frozen=True)
class TouchPoint:
    """`how` is one of: replaced (install() sets it), overridden (a worker subclass's method),
    subclassed, implemented (a protocol), wrapped, called, read, written, imported.
    The canary: `params`, the parameter names of the target (and of its replacement), and `source`,
    tuples of (dotted path, snippet, ...) whose snippets that path's source holds in that order."""

    target: str
    how: str
    where: str  # the worker module that touches it
    reason: str
    params: Optional[tuple[str, ...]] = None
    source: tuple[tuple[str, ...], ...] = ()
    replacement: Any = None
    group: str = ""  # install()'s group, for replaced ones
    instance: bool = False  # an attribute the class's instances get (in __init__, setup): its canary is its source

    @property
    def name(self) -> str:
        return self.target.rpartition(".")[2]

    def parent(self) -> Any:
        return resolve(self.target.rpartition(".")[0])

    def original(self) -> Any:
        return original(self.target)

    def problems(self) -> list[str]:
        """What of the canary the installed Prefect no longer matches; empty if all."""
        try:
            target = self.parent() if self.instance else self.original()
        except (ImportError, AttributeError) as error:
            return [f"{self.target}: gone ({error!r})"]
        found = []
        if self.params is not None:
            for what, value in [("", target), (" (its replacement)", self.replacement)]:
                if what and not callable(value):
                    continue
                if parameters(value) != list(self.params):
                    found.append(f"{self.target}{what}: parameters {parameters(value)}, not {list(self.params)}")
        for path, *snippets in self.source:
            text, at = source_of(path), 0
            for snippet in snippets:
                at = text.find(snippet, at)
                if at < 0:
                    found.append(f"{self.target}: {path} no longer holds {snippet!r} (in this order: {snippets})")
                    break
                at += len(snippet)
        return found


def resolve(path: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            if cut == 1:
                raise
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ImportError(path)


def original(path: str) -> Any:
    """What Prefect has at `path`, even once install() replaced it."""
    return ORIGINALS[path] if path in ORIGINALS else resolve(path)


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def source_of(path: str) -> str:
    return inspect.getsource(inspect.unwrap(original(path)))
