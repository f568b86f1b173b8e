"""Runs whose process ended but whose end Prefect never recorded (its database was full, or it was
down): the worker that ran them compares what Prefect says with what it runs, and settles them."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Optional
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Crashed, Scheduled, State

log = logging.getLogger(__name__)

ENDED_UNRECORDED = ("its process ended but the Prefect server could not record how (was its disk full?); "
                    "retry it if it should run again")
NEVER_STARTED = "Back in the queue: its process ended before the Prefect server recorded its start"
STOPPED = "Stopped through the API"


def settled_state(run: FlowRun, ended_at: datetime) -> Optional[State]:
    """What a run should say now that its process is gone; None if Prefect already says the truth.
    A state written after the process ended is someone else's (a retry, a stop): it stands."""
    state = run.state
    if state is None or state.timestamp > ended_at:
        return None
    if state.type == StateType.RUNNING:
        return Crashed(message=ENDED_UNRECORDED)
    if state.type == StateType.PENDING:  # the flow never began: the phone was not touched
        return Scheduled(message=NEVER_STARTED)
    if state.type == StateType.CANCELLING:
        return Cancelled(message=STOPPED)
    return None


class UnrecordedEnds:
    """The worker tells it when a run's process starts and ends; every `interval` it reads the
    ended runs older than `grace` (the run's own final write and the worker's crash report come
    first) and forces the state their process could not write. Kept until Prefect takes it."""

    def __init__(self, grace: float = 10.0, interval: float = 5.0, clock_margin: float = 1.0):
        self.grace = grace
        self.interval = interval
        # A state stamped by another clock (the server's, another PC's) within this margin is not newer.
        self.clock_margin = timedelta(seconds=clock_margin)
        self._ended: dict[UUID, tuple[float, datetime]] = {}

    @property
    def pending(self) -> set[UUID]:
        return set(self._ended)

    def started(self, run_id: UUID) -> None:
        self._ended.pop(run_id, None)

    def ended(self, run_id: UUID) -> None:
        self._ended[run_id] = (time.monotonic(), datetime.now(timezone.utc) + self.clock_margin)

    async def settle_due(self) -> int:
        due = [(run_id, at) for run_id, (seen, at) in self._ended.items() if time.monotonic() - seen >= self.grace]
        settled = 0
        if not due:
            return settled
        async with get_client() as client:
            for run_id, ended_at in due:
                try:
                    state = settled_state(await client.read_flow_run(run_id), ended_at)
                    if state is not None:
                        await client.set_flow_run_state(run_id, state, force=True)
                        log.warning("flow run %s: its process had ended; now %s (%s)", run_id, state.type.value,
                                    state.message)
                        settled += 1
                except ObjectNotFound:
                    pass  # deleted meanwhile: nothing to settle
                except Exception as error:  # the server still refuses: try again next round
                    log.warning("flow run %s ended unrecorded; settling it failed (%s); will retry", run_id, error)
                    continue
                if self._ended.get(run_id, (None, ended_at))[1] == ended_at:
                    self._ended.pop(run_id, None)
        return settled

    async def settle_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.settle_due()
