"""What bounds recurring plans: how often one fires, how many there are, and what each firing must
pass that an HTTP write passes in the middleware (room on disk, a licence with API access), plus a
farm-wide rate of fired tasks."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

from api.domain.plans import Plan
from api.gateways.disk import DiskSpace

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class PlanLimits:
    min_repeat_seconds: int = 60
    max_plans: int = 100
    max_fired_tasks_per_minute: int = 600


DEFAULT_PLAN_LIMITS = PlanLimits()


class FiringGate:
    """A firing is no request, so no middleware sees it: the same refusals are made here."""

    def __init__(self, disk: Optional[DiskSpace] = None, licence: Optional[Plan] = None,
                 per_minute: int = DEFAULT_PLAN_LIMITS.max_fired_tasks_per_minute,
                 clock: Callable[[], float] = time.monotonic):
        self.disk = disk
        self.licence = licence
        self.per_minute = per_minute
        self.clock = clock
        self._fired: deque[tuple[float, int]] = deque()  # (when, how many tasks) within the window
        self._lock = threading.Lock()

    def refusal(self) -> Optional[str]:
        """Why no firing may store anything now, or None."""
        if self.licence is not None and not self.licence.api_enabled:
            return f"the {self.licence.name} plan has no API access, so its plans do not fire; upgrade to Pro, Team or Business"
        if self.disk is not None and self.disk.full():
            return (f"the disk under the data directory has {self.disk.free_mb():.0f} MB free, less than "
                    f"PHONEFARM_MIN_FREE_DISK_MB ({self.disk.min_free_mb} MB)")
        return None

    def take(self, count: int) -> Optional[str]:
        """Count `count` tasks against the farm's rate; the reason when they would exceed it (then not counted)."""
        now = self.clock()
        with self._lock:
            while self._fired and self._fired[0][0] <= now - WINDOW_SECONDS:
                self._fired.popleft()
            recent = sum(n for _, n in self._fired)
            if recent + count > self.per_minute:
                return (f"plans fired {recent} tasks in the last minute and this firing would add {count}; the farm "
                        f"takes at most {self.per_minute} a minute from plans (PHONEFARM_MAX_FIRED_TASKS_PER_MINUTE)")
            self._fired.append((now, count))
            return None
