"""Turn one create request into the tasks it stands for: per phone, per account, per target user."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Optional

from api.domain.errors import invalid
from api.gateways.index import Account
from contract.script_configs import FANNED_OUT_BY_POST, FANNED_OUT_BY_TARGET, CommentConfig, FollowConfig, post_url

DEFAULT_PLATFORM = "tiktok"


@dataclass(frozen=True)
class PlannedTask:
    serial: str
    username: Optional[str]
    platform: str
    script_config: dict


def by_phone(
    serials: list[str], known_serials: set[str], accounts: list[Account], *, multi_account: bool, platform_hint: Optional[str],
    max_accounts: int = 20,
) -> list[PlannedTask]:
    unknown = [s for s in serials if s not in known_serials]
    if unknown:
        raise invalid(f"Unknown serials: {', '.join(unknown)} (see GET /api/v1/device)", {"field": "serials"})
    planned = []
    for serial in dict.fromkeys(serials):
        if not multi_account:
            planned.append(PlannedTask(serial, None, platform_hint or DEFAULT_PLATFORM, {}))
            continue
        bound = [a for a in accounts if a.serial == serial and a.enabled]
        if not bound:
            raise invalid(
                f"Phone {serial} has no enabled account, so enable_multi_account creates no task for it",
                {"field": "serials"},
            )
        if len(bound) > max_accounts:
            raise invalid(f"Phone {serial} has {len(bound)} enabled accounts; a request fans out to at most "
                          f"{max_accounts} per phone (PHONEFARM_MAX_ACCOUNTS_PER_PHONE)", {"field": "serials"})
        planned.extend(PlannedTask(serial, a.username, a.platform, {}) for a in bound)
    return planned


def by_account(usernames: list[str], accounts: dict[str, Account]) -> list[PlannedTask]:
    names = [u.strip().lstrip("@") for u in usernames]
    unknown = [n for n in names if n not in accounts]
    if unknown:
        raise invalid(f"Unknown usernames: {', '.join(unknown)}", {"field": "usernames"})
    disabled = [n for n in names if not accounts[n].enabled]
    if disabled:
        raise invalid(f"Disabled accounts get no tasks: {', '.join(disabled)}", {"field": "usernames"})
    return [
        PlannedTask(accounts[n].serial, n, accounts[n].platform, {}) for n in dict.fromkeys(names)
    ]


def by_target(script_name: str, planned: list[PlannedTask], config: dict, *, platform_hint: Optional[str] = None,
              rng: Optional[random.Random] = None) -> list[PlannedTask]:
    """Follow and unfollow make one task per target user, comment one per target post; every task
    carries its effective config."""
    if script_name in FANNED_OUT_BY_POST:
        return by_post(planned, config, platform_hint, rng or random.Random())
    if script_name not in FANNED_OUT_BY_TARGET:
        return [replace(p, script_config=config) for p in planned]
    targets = FollowConfig.model_validate(config).targets()
    per_target = [{**config, "target_users": [t], "target_user": ""} for t in dict.fromkeys(targets)]
    return [replace(p, script_config=c) for p in planned for c in per_target]


def by_post(planned: list[PlannedTask], config: dict, platform_hint: Optional[str],
            rng: random.Random) -> list[PlannedTask]:
    """One task per phone (or account of the post's app) and post URL. A phone without accounts
    opens the post in its app; an account only gets the posts of its own platform. Each task's
    comment is fixed here: the n-th task takes the n-th line (sequential, cycling) or one at random."""
    parsed = CommentConfig.model_validate(config)
    urls = list(dict.fromkeys(parsed.targets()))
    lines = parsed.comments()
    if platform_hint:
        other = [url for url in urls if post_url(url)[0] != platform_hint]
        if other:
            raise invalid(f"{other[0]} is not a {platform_hint} post (script_config.platform is {platform_hint})",
                          {"field": "script_config.target_post_urls"})
    tasks: list[PlannedTask] = []
    served: set[str] = set()
    for task in planned:
        for url in urls:
            platform = post_url(url)[0]
            if task.username is not None and task.platform != platform:
                continue  # an account comments only in its own app
            served.add(url)
            line = lines[len(tasks) % len(lines)] if parsed.comment_order == "sequential" else rng.choice(lines)
            tasks.append(replace(task, platform=platform, script_config={
                **config, "target_post_urls": [url], "target_post_url": "", "comment_content": line}))
    missed = [url for url in urls if url not in served]
    if missed:
        raise invalid(f"No account of the requested phones or usernames is on {post_url(missed[0])[0]}, the app of "
                      f"{missed[0]}", {"field": "script_config.target_post_urls"})
    return tasks
