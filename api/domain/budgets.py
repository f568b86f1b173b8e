"""Action budgets: how many follows, unfollows, likes, comments and posts an account may make per hour and per day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ACTIONS = ("follow", "unfollow", "like", "comment", "post")
WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
PLATFORMS = ("tiktok", "instagram")
SHIPPED = Path(__file__).with_name("action_budgets.yaml")
MAX_BUDGET = 100_000  # an override above this is a typo, not a budget

Limits = Mapping[tuple[str, str], int]  # (action, window) -> actions allowed in that window


class BudgetFileError(ValueError):
    """The budgets file is not what start-up accepts: says which entry and why."""


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hour: int = Field(ge=0, le=MAX_BUDGET)
    day: int = Field(ge=0, le=MAX_BUDGET)


class _Platform(BaseModel):
    model_config = ConfigDict(extra="forbid")
    follow: _Window
    unfollow: _Window
    like: _Window
    comment: _Window
    post: _Window


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tiktok: _Platform
    instagram: _Platform


def load_defaults(path: Path = SHIPPED) -> dict[str, dict[tuple[str, str], int]]:
    """The per-platform defaults; raises BudgetFileError naming the bad entry (checked at start-up)."""
    try:
        parsed = _File.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise BudgetFileError(f"{path}: {error}") from error
    except ValidationError as error:
        first = error.errors()[0]
        raise BudgetFileError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from error
    return {platform: {(action, window): getattr(getattr(getattr(parsed, platform), action), window)
                       for action in ACTIONS for window in WINDOWS} for platform in PLATFORMS}


def override_key(action: str, window: str) -> str:
    return f"{action}_per_{window}"


OVERRIDE_KEYS = {override_key(a, w): (a, w) for a in ACTIONS for w in WINDOWS}


def limits_for(defaults: Mapping[str, Limits], platform: str, overrides: Mapping[str, Optional[int]]) -> dict:
    """The account's limits: its platform's defaults, each replaced by the account's own number when it has one."""
    limits = dict(defaults[platform])
    for key, value in overrides.items():
        if value is not None:
            limits[OVERRIDE_KEYS[key]] = value
    return limits


@dataclass(frozen=True)
class Spent:
    at: datetime
    action: str
    count: int


@dataclass(frozen=True)
class Wait:
    action: str
    window: str
    used: int
    limit: int
    frees_at: Optional[datetime]  # None: the limit is below what the task needs, only raising it frees it

    def remark(self) -> str:
        plural = {"follow": "follows", "unfollow": "unfollows", "like": "likes", "comment": "comments", "post": "posts"}
        when = f"frees at {self.frees_at:%H:%M} UTC" if self.frees_at else "frees when the budget is raised"
        return f"waiting: {plural[self.action]} {self.used}/{self.limit} this {self.window}, {when}"


def needs(script: str, config: Mapping) -> dict[str, int]:
    """What a task spends at least, known before it runs: one of its action, or one of each a warm-up may do."""
    if script in ("follow", "unfollow", "comment", "post"):
        return {script: 1}
    if script == "warmup":
        chances = {"like": "like_probable", "follow": ("floow_probable", "follow_probable"), "comment": "comment_probable"}
        return {action: 1 for action, keys in chances.items()
                if any(float(config.get(k) or 0) > 0 for k in ((keys,) if isinstance(keys, str) else keys))}
    return {}


_WARMUP = re.compile(r"liked (\d+), followed (\d+), bookmarked \d+, commented (\d+)")


def spent_by(script: str, summary: Optional[str]) -> dict[str, int]:
    """What a finished task did, read from its script's summary (devices/*.py return values)."""
    text = summary or ""
    if script == "warmup":
        found = _WARMUP.search(text)
        return {a: int(n) for a, n in zip(("like", "follow", "comment"), found.groups()) if int(n)} if found else {}
    if script == "follow":
        return {"follow": 1} if text.startswith("now following") else {}
    if script == "unfollow":
        return {"unfollow": 1} if text.startswith("unfollowed") else {}
    if script in ("post", "comment"):
        return {script: 1}
    return {}


def first_wait(limits: Limits, history: Iterable[Spent], wanted: Mapping[str, int], now: datetime) -> Optional[Wait]:
    """The budget a task wanting `wanted` would exceed now (the one freeing last), or None when it may run."""
    history = sorted((s for s in history if s.count > 0), key=lambda s: s.at)
    waits = []
    for (action, window), limit in limits.items():
        want = wanted.get(action, 0)
        if not want:
            continue
        since = now - WINDOWS[window]
        inside = [s for s in history if s.action == action and s.at > since]
        used = sum(s.count for s in inside)
        excess = used + want - limit
        if excess <= 0:
            continue
        frees_at = None
        for spent in inside:  # oldest first: each leaves the window one `window` after it happened
            excess -= spent.count
            if excess <= 0:
                frees_at = spent.at + WINDOWS[window]
                break
        waits.append(Wait(action, window, used, limit, frees_at))
    never = datetime.max.replace(tzinfo=now.tzinfo)
    return max(waits, key=lambda w: w.frees_at or never, default=None)
