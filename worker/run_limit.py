"""How many flow runs this PC's worker runs at once: the plan's device limit, this PC's phones, and an operator's lower cap."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import anyio


def run_limit(cap: Optional[int], pool_limit: Optional[int], phones: Optional[int]) -> Union[int, float]:
    """The least of what bounds this PC's runs (None: no bound of that kind); at least 1, since a
    worker with no phone fetches nothing anyway, and math.inf when nothing bounds it.
    `pool_limit` is the work pool's concurrency limit, which the API PC sets to its plan's device
    limit (farm-wide, so no PC can use more); `phones` are the phones this PC serves, one run each;
    `cap` is the operator's (`--limit`, PHONEFARM_WORKER_LIMIT), which can only lower the others."""
    bounds = [bound for bound in (cap, pool_limit, phones) if bound is not None]
    return max(1, min(bounds)) if bounds else math.inf


class RunLimit:
    """The worker's limiter, sized before each poll: the plan can change on the API PC (a restart
    with another one) and phones come and go, without this worker restarting."""

    def __init__(self, cap: Optional[int]):
        self.cap = cap
        self.limit: Optional[Union[int, float]] = None  # None until the pool was read

    def follow(self, limiter: anyio.CapacityLimiter, pool: Any, served_queues: Optional[set[str]],
               exiting: int = 0) -> Optional[str]:
        """Resize `limiter` to what bounds the runs now (`pool`: the work pool as last read;
        `served_queues`: this PC's phones' queues, or None for a worker that serves any queue;
        `exiting`: runs whose end Prefect took, their process still exiting, which count for nothing).
        Says what changed, once; runs already started keep their slots, a lower limit holds new ones back."""
        if pool is None:  # not read yet: the worker submits nothing before its first sync reads it
            return None
        pool_limit = pool.concurrency_limit
        phones = len(served_queues) if served_queues is not None else None
        limit = run_limit(self.cap, pool_limit, phones)
        limiter.total_tokens = limit + exiting
        if limit == self.limit:
            return None
        self.limit = limit
        change = (f"at most {limit} flow runs at once: the work pool's limit (the plan's device limit) "
                  f"{_bound(pool_limit)}, this PC's phones {_bound(phones)}, --limit {_bound(self.cap)}")
        print(change, flush=True)
        return change


def _bound(value: Optional[int]) -> str:
    return "none" if value is None else str(value)
