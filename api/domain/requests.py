"""What a create request asks for, as plain values: the REST layer and UI-run adoption both build it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class TaskRequest:
    serials: Optional[list[str]] = None
    usernames: Optional[list[str]] = None
    script_name: Optional[str] = None
    script_config: Optional[dict[str, Any]] = None
    enable_multi_account: bool = False
    start_time: Optional[str] = None
    min_interval: int = 0
    max_interval: int = 0
    callback_url: Optional[str] = None
    repeat: Optional[str] = None  # a recurring plan: "daily", "every 4 hours", a cron expression...
    expire_after: Optional[float] = None  # minutes a task may wait to start; None: the farm's default, 0: no limit
