"""Spintax: `{a|b|{c|d}}` becomes one option per task, picked at random, innermost first.

One pass with a stack: linear in the text (the old search-and-splice loop was quadratic: a 1 MiB
caption took ~65 s per task). Braces that do not pair up stay as they are."""

from __future__ import annotations

import random
from typing import Callable

MAX_DEPTH = 20  # deeper groups make no sense in a caption; they would only cost time


class SpintaxTooDeep(ValueError):
    pass


def spin(text: str, rng: random.Random) -> str:
    pieces: list[str] = []  # the text so far, groups already resolved
    opened: list[int] = []  # where each open group starts in `pieces`
    for char in text:
        if char == "{":
            if len(opened) == MAX_DEPTH:
                raise SpintaxTooDeep(f"spintax is nested deeper than {MAX_DEPTH} groups")
            opened.append(len(pieces))
            pieces.append(char)
        elif char == "}" and opened:
            start = opened.pop()
            options = "".join(pieces[start + 1:]).split("|")
            del pieces[start:]
            pieces.append(rng.choice(options))
        else:
            pieces.append(char)
    return "".join(pieces)


def longest(text: str, weight: Callable[[str], int] = lambda char: 1) -> int:
    """The weight of the heaviest text `spin` can make from `text` (characters by default; a weight
    per character gives another measure, such as its size in JSON): the same single pass, keeping each group's heaviest option."""
    # Per open group: [heaviest finished option, current option, the group as written].
    groups: list[list[int]] = [[0, 0, 0]]
    for char in text:
        if char == "{":
            if len(groups) > MAX_DEPTH:
                raise SpintaxTooDeep(f"spintax is nested deeper than {MAX_DEPTH} groups")
            groups.append([0, 0, weight(char)])
        elif char == "|" and len(groups) > 1:
            group = groups[-1]
            group[0], group[1], group[2] = max(group[0], group[1]), 0, group[2] + weight(char)
        elif char == "}" and len(groups) > 1:
            best = max(groups.pop()[:2])
            groups[-1][1] += best
            groups[-1][2] += best
        else:
            groups[-1][1] += weight(char)
            groups[-1][2] += weight(char)
    while len(groups) > 1:  # a group never closed stays as written
        written = groups.pop()[2]
        groups[-1][1] += written
        groups[-1][2] += written
    return groups[0][1]
