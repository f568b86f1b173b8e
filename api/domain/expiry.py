"""Queue timeouts: a task that has not started within its expire_after minutes ends failed, its run cancelled."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from api.domain.mirror import RunMirror
from api.gateways.index import TaskTable
from api.gateways.prefect import OrchestratorUnavailable, RunGone, RunQueries, RunWrites

log = logging.getLogger(__name__)
MAX_EXPIRE_AFTER = 7 * 24 * 60.0  # minutes: a week
EXPIRED = "expired: "  # how the remark of an expired task begins, in its Cancelled run's message


def expired_remark(minutes: float) -> str:
    return f"{EXPIRED}not started within {minutes:g} minutes"


def expiry_time(minutes: Optional[float], start: datetime) -> Optional[datetime]:
    """When a task that is to start at `start` expires; None (or 0 minutes): never."""
    return start + timedelta(minutes=minutes) if minutes else None


class QueueTimeouts:
    """Each pass ends the tasks past their time that no worker has taken. A run is first taken as a
    worker takes one (Pending, under Prefect's rules), so a worker that took it in the same instant
    keeps it and the phone; a run taken here never reaches a phone and is cancelled at once."""

    def __init__(self, table: TaskTable, runs: RunQueries, writes: RunWrites, mirror: RunMirror,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.table = table
        self.runs = runs
        self.writes = writes
        self.mirror = mirror
        self.now = now

    def check(self) -> None:
        """The run creator's chore: a failure here is logged and tried at its next pass, and never
        holds up the creation of runs."""
        try:
            self.expire_due()
        except Exception as error:
            log.warning("queue timeouts not checked this pass: %s", error)

    def expire_due(self) -> int:
        """End every task past its queue timeout; how many ended."""
        rows = self.table.expired_pending(self.now())
        ended = [row for row in rows if row.flow_run_id is None and self.table.stop_uncreated(
            row.id, expired_remark(row.expire_after or 0))]  # its run is created Cancelled
        with_runs = [row for row in (self.table.get(r.id) for r in rows if r not in ended) if row and row.flow_run_id]
        current = self.runs.read_runs([row.flow_run_id for row in with_runs])
        cancelled = []
        for row in with_runs:
            run = current.get(row.flow_run_id)
            if run is None or run.state_type not in ("SCHEDULED", "PAUSED"):
                continue  # started (or ended) since the copy was taken: Prefect's word wins
            with contextlib.suppress(RunGone):  # deleted meanwhile
                if self.writes.claim(row.flow_run_id):
                    self._cancel_claimed(row.flow_run_id, expired_remark(row.expire_after or 0))
                    cancelled.append(row.flow_run_id)
        for row in ended + [r for r in with_runs if r.flow_run_id in cancelled]:
            log.warning("task %s %s", row.id, expired_remark(row.expire_after or 0))
        self.mirror.refresh(cancelled)
        return len(ended) + len(cancelled)

    def _cancel_claimed(self, flow_run_id: str, remark: str) -> None:
        try:
            self.writes.cancel(flow_run_id, remark)
        except OrchestratorUnavailable:
            # A Pending run no worker runs would hold its phone's queue: give it back if Prefect lets us.
            with contextlib.suppress(OrchestratorUnavailable):
                self.writes.requeue(flow_run_id, "not expired: Prefect did not answer; tried again")
            raise
