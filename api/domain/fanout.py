"""Turn one create request into the tasks it stands for: per phone, per account, per target user."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from api.domain.errors import invalid
from api.gateways.index import Account
from contract.script_configs import FANNED_OUT_BY_TARGET, FollowConfig

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


def by_target(script_name: str, planned: list[PlannedTask], config: dict) -> list[PlannedTask]:
    """Follow and unfollow make one task per target user; every task carries its effective config."""
    if script_name not in FANNED_OUT_BY_TARGET:
        return [replace(p, script_config=config) for p in planned]
    targets = FollowConfig.model_validate(config).targets()
    per_target = [{**config, "target_users": [t], "target_user": ""} for t in dict.fromkeys(targets)]
    return [replace(p, script_config=c) for p in planned for c in per_target]
