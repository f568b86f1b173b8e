"""Spintax: `{a|b|{c|d}}` becomes one option per task, picked at random, innermost first.

One pass with a stack: linear in the text (the old search-and-splice loop was quadratic: a 1 MiB
caption took ~65 s per task). Braces that do not pair up stay as they are."""

from __future__ import annotations

import random

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
