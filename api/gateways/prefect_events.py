"""Prefect's flow-run events, followed in a thread of their own: which runs changed, in batches."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable, Optional

from prefect.events.clients import PrefectEventSubscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

log = logging.getLogger(__name__)
RUN_RESOURCE = "prefect.flow-run."


class RunEventFeed:
    """Calls `on_changed(flow_run_ids)` for runs whose state changed (one call per burst), and
    `on_connected()` each time the stream is (re)opened, since events may have been missed before."""

    def __init__(self, api_url: str, auth_string: Optional[str], *,
                 on_changed: Callable[[list[str]], None], on_connected: Callable[[], None],
                 batch_seconds: float = 0.05, retry_seconds: float = 2.0):
        self.api_url = api_url
        self.auth_string = auth_string
        self.on_changed = on_changed
        self.on_connected = on_connected
        self.batch_seconds = batch_seconds
        self.retry_seconds = retry_seconds
        self._changed: set[str] = set()
        self._wake: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread = threading.Thread(target=self._run, name="run-events", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(self._loop)])
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._follow())
        except asyncio.CancelledError:
            pass

    async def _follow(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
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
                            resource = event.resource.id
                            if resource.startswith(RUN_RESOURCE):
                                self._changed.add(resource.removeprefix(RUN_RESOURCE))
                                self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server restarts or refuses: reads go on from the copy
                log.warning("Prefect's event stream lost (%s); following it again in %s s", error, self.retry_seconds)
            self.connected.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _hand_over(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.batch_seconds)  # gather the burst
            self._wake.clear()
            changed, self._changed = list(self._changed), set()
            try:
                await asyncio.to_thread(self.on_changed, changed)
            except Exception as error:
                log.warning("could not read %d changed runs (%s); the next reconcile will", len(changed), error)
