"""Spintax: `{a|b|{c|d}}` becomes one option per task, picked at random, innermost first."""

from __future__ import annotations

import random
import re

_INNERMOST = re.compile(r"\{([^{}]*)\}")


def spin(text: str, rng: random.Random) -> str:
    while True:
        match = _INNERMOST.search(text)
        if match is None:
            return text
        choice = rng.choice(match.group(1).split("|"))
        text = text[: match.start()] + choice + text[match.end():]
