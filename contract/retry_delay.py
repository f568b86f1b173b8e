"""The pause before an automatic re-run: a range of seconds, one value drawn at random for each re-run."""

from __future__ import annotations

import random

LONGEST_SECONDS = 3600.0
DEFAULT = "5-60"  # the original product's: a random 5 to 60 s before each automatic retry


def delay_range(text: str) -> tuple[float, float]:
    """"5-60" -> (5.0, 60.0); "5" -> (5.0, 5.0). ValueError naming the rule otherwise."""
    low, separator, high = str(text).strip().partition("-")
    try:
        bounds = (float(low), float(high) if separator else float(low))
    except ValueError:
        raise ValueError(f"an automatic retry's delay is seconds or a range of seconds like {DEFAULT}, not {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1] <= LONGEST_SECONDS:
        raise ValueError(f"an automatic retry's delay range must lie within 0-{LONGEST_SECONDS:g} s, low first: {text!r}")
    return bounds


def normalized(text: str) -> str:
    """The range as the settings keep it and hand on to the flow's process."""
    low, high = delay_range(text)
    return f"{low:g}-{high:g}"


def draw(text: str, rng: random.Random) -> float:
    return rng.uniform(*delay_range(text))
