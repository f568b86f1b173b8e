"""Prefect's flow-run events, followed in a thread of their own: which runs changed and to what, in batches."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from prefect.events import Event
from prefect.events.clients import PrefectEventSubscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from api.loop import Loop

log = logging.getLogger(__name__)
RUN_RESOURCE = "prefect.flow-run."


@dataclass(frozen=True)
class RunStateSeen:
    """The state a run's newest event in a burst names (the labels Prefect puts on its flow-run
    state events); state_type is None if the event did not say."""

    flow_run_id: str
    state_type: Optional[str]
    state_name: Optional[str] = None
    message: Optional[str] = None
    timestamp: Optional[datetime] = None


def state_seen(event: Event) -> RunStateSeen:
    labels = event.resource
    flow_run_id = labels.id.removeprefix(RUN_RESOURCE)
    try:
        timestamp = datetime.fromisoformat(labels.get("prefect.state-timestamp") or "")
    except ValueError:
        return RunStateSeen(flow_run_id, None)
    return RunStateSeen(flow_run_id, labels.get("prefect.state-type") or None, labels.get("prefect.state-name") or None,
                        labels.get("prefect.state-message") or None, timestamp)


def run_state_event(event: Event) -> Optional[RunStateSeen]:
    """What a run's state event says; None for any other event (a run's pull step, another
    resource's): those tell nothing of a state, and reading the run again for them cost Prefect a
    query a run (its pull step's event)."""
    if not event.resource.id.startswith(RUN_RESOURCE) or not event.resource.get("prefect.state-type"):
        return None
    return state_seen(event)


def newer(seen: RunStateSeen, kept: Optional[RunStateSeen]) -> bool:
    return kept is None or seen.timestamp is None or kept.timestamp is None or seen.timestamp >= kept.timestamp


class RunEventFeed(Loop):
    """Calls `on_changed(states_seen)` for runs whose state changed (one call per burst, the newest
    event of each run), and `on_connected()` each time the stream is (re)opened, since events may
    have been missed before."""

    def __init__(self, api_url: str, auth_string: Optional[str], *,
                 on_changed: Callable[[list[RunStateSeen]], None], on_connected: Callable[[], None],
                 batch_seconds: float = 0.05, retry_seconds: float = 2.0):
        # Each round follows the stream until stopped; a round that ends early is followed by another.
        super().__init__("run-events", retry_seconds)
        self.api_url = api_url
        self.auth_string = auth_string
        self.on_changed = on_changed
        self.on_connected = on_connected
        self.batch_seconds = batch_seconds
        self.retry_seconds = retry_seconds
        self._changed: dict[str, RunStateSeen] = {}
        self._wake_batch: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_lock = threading.Lock()  # a stop never misses the event loop being started
        self.connected = threading.Event()

    def start(self) -> None:
        super().start()
        self.wake()  # the first round at once, not after `interval`

    def interrupt(self) -> None:
        with self._loop_lock:
            loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        except RuntimeError:  # that round's event loop is already closed
            pass

    def run_once(self) -> None:
        try:
            asyncio.run(self._follow())
        except asyncio.CancelledError:
            pass

    async def _follow(self) -> None:
        with self._loop_lock:
            if self.stopping:
                return
            self._loop = asyncio.get_running_loop()
        self._wake_batch = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._listen())
            group.create_task(self._hand_over())

    async def _listen(self) -> None:
        event_filter = EventFilter(event=EventNameFilter(prefix=[RUN_RESOURCE]))
        # The subscriber reads the server's address and login from Prefect's settings, here and as it connects.
        login = {PREFECT_API_URL: self.api_url, PREFECT_API_AUTH_STRING: self.auth_string}
        while True:
            try:
                with temporary_settings(login):
                    async with PrefectEventSubscriber(filter=event_filter, reconnection_attempts=2) as events:
                        await asyncio.to_thread(self.on_connected)
                        self.connected.set()
                        async for event in events:
                            seen = run_state_event(event)
                            if seen is not None:
                                if newer(seen, self._changed.get(seen.flow_run_id)):
                                    self._changed[seen.flow_run_id] = seen
                                self._wake_batch.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server restarts or refuses: reads go on from the copy
                log.warning("Prefect's event stream lost (%s); following it again in %s s", error, self.retry_seconds)
            self.connected.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _hand_over(self) -> None:
        while True:
            await self._wake_batch.wait()
            await asyncio.sleep(self.batch_seconds)  # gather the burst
            self._wake_batch.clear()
            changed, self._changed = list(self._changed.values()), {}
            try:
                await asyncio.to_thread(self.on_changed, changed)
            except Exception as error:
                log.warning("could not read %d changed runs (%s); the next reconcile will", len(changed), error)
