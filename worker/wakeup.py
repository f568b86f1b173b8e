"""Wake the worker when a flow run is scheduled or ends (Prefect's event stream), instead of waiting
for its next poll: a new task starts at once, and the poll can be slow, sparing the server."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable, Optional
from uuid import UUID

from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter

log = logging.getLogger(__name__)

# A run to start (created or put back in a queue), or a phone's slot that frees up.
WAKE_EVENTS = [f"prefect.flow-run.{state}" for state in (
    "Scheduled", "AwaitingRetry", "Completed", "Failed", "Crashed", "Cancelled")]
END_EVENTS = set(WAKE_EVENTS[2:])
# The ends a run's own engine writes, once the script has let go of its phone (flows.run_task returns
# its state after leaving devices.phone_lock): the phone's next run may start while the process exits.
# A stop's Cancelled or a Crashed is written by others while the process may still hold the phone.
LET_GO_EVENTS = {"prefect.flow-run.Completed", "prefect.flow-run.Failed"}
RUN_RESOURCE_PREFIX = "prefect.flow-run."


def own_run_ended(event_name: str, resource_id: str, running_here: Callable[[UUID], bool]) -> Optional[UUID]:
    """The run this event ends, if it is one this worker is running: its process's exit frees the slot."""
    if event_name not in END_EVENTS:
        return None
    try:
        run_id = UUID(resource_id.removeprefix(RUN_RESOURCE_PREFIX))
    except ValueError:
        return None
    return run_id if running_here(run_id) else None


def worth_a_poll(event_name: str, resource_id: str, running_here: Callable[[UUID], bool]) -> bool:
    """Whether this event is worth a poll: any run to start, the end of a run this worker is not
    running, or an end one of its runs wrote itself (its phone is free; the worker no longer counts it).
    A stop's or a crash's end is reported before the process exits, and until then the phone's turn is
    still taken: that poll would start nothing and delay the one the process's exit makes (one poll at
    a time), while costing the server a read."""
    return own_run_ended(event_name, resource_id, running_here) is None or event_name in LET_GO_EVENTS


class Wakeup:
    """Calls `poll` once per burst of events: events that arrive during a poll cause one more."""

    def __init__(self, poll: Callable[[], Awaitable[object]], retry_seconds: float = 5.0,
                 max_wait_seconds: float = 300.0, running_here: Callable[[UUID], bool] = lambda run_id: False,
                 on_own_end: Callable[[UUID, bool], None] = lambda run_id, let_go: None):
        self.poll = poll
        self.running_here = running_here  # its end wakes the worker itself (Wakeup.wake)
        # Told of each final state Prefect took for a run running here, and whether the run wrote it itself.
        self.on_own_end = on_own_end
        self.retry_seconds = retry_seconds
        self.max_wait_seconds = max_wait_seconds
        self._pending = asyncio.Event()

    def wake(self) -> None:
        """Poll soon: something the worker itself saw (a run's process ended) frees a slot."""
        self._pending.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._listen())
            group.create_task(self._poll_when_woken())

    async def _listen(self) -> None:
        event_filter = EventFilter(event=EventNameFilter(name=WAKE_EVENTS))
        while True:
            try:
                async with get_events_subscriber(filter=event_filter) as subscriber:
                    async for event in subscriber:
                        ended_here = own_run_ended(event.event, event.resource.id, self.running_here)
                        if ended_here is not None:
                            self.on_own_end(ended_here, event.event in LET_GO_EVENTS)
                        if worth_a_poll(event.event, event.resource.id, self.running_here):
                            self._pending.set()
                        self._wake_again_when_due(event.payload)
            except Exception as error:  # the server restarts, or refuses: the poll still runs meanwhile
                log.warning("event stream lost (%s); the worker polls until it is back", error)
            await asyncio.sleep(self.retry_seconds)

    def _wake_again_when_due(self, payload: dict) -> None:
        """A run scheduled a little later (an automatic retry's delay, a near start time) gets a
        poll when it is due, not at the next regular poll."""
        try:
            due = datetime.fromisoformat(payload["validated_state"]["state_details"]["scheduled_time"])
        except (KeyError, TypeError, ValueError):
            return
        delay = (due - datetime.now(timezone.utc)).total_seconds()
        if 0 < delay <= self.max_wait_seconds:
            asyncio.get_running_loop().call_later(delay, self._pending.set)

    async def _poll_when_woken(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self.poll()
            except Exception as error:
                log.warning("a poll on an event failed (%s); the next poll will tell", error)
