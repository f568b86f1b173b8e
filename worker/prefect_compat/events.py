"""A process's Prefect events sent in short, batched POST /events requests instead of over a websocket held open."""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Optional

from prefect.client.orchestration import get_client
from prefect.events.worker import ProcessPoolForwardingEventsClient

log = logging.getLogger(__name__)

# Events are gathered this long before one POST sends them all: a run's pull step and its attempt's
# Pending and Running go together, and so do the worker's events of several runs.
BATCH_SECONDS = 0.5


class EventPoster:
    """The queue Prefect's forwarding events client puts each of a process's events in: it posts them.

    On SQLite, Prefect's server lets 100 requests in at once, and an open websocket counts as one for as long as it
    stays open: with Prefect's websocket client, 93 runs at once held every slot and the server answered nothing
    more (docs/decisions/0025). A POST holds a slot for milliseconds, and the orchestration client retries it as it
    does every other call. Each POST costs the server a request whatever it carries, so the events of half a second
    go in one. The last ones are sent when the process ends, after Prefect's events worker has handed over all it
    had; the client is made on first use, in the process that posts (never before a fork)."""

    def __init__(self, batch_seconds: float = BATCH_SECONDS) -> None:
        self._batch_seconds = batch_seconds
        self._client = None
        self._batch: list[dict] = []
        self._timer: Optional[threading.Timer] = None
        self._batch_lock = threading.Lock()
        self._posting = threading.Lock()  # one POST at a time: the server gets the events in their order
        # Called at exit after the hooks registered later, so after the EventsWorker's own drain (it registers
        # at its start, in the process that emits; this instance is made at import, before any). Prefect's
        # QueueService uses the same hook: the atexit module runs too late for threads still posting.
        threading._register_atexit(self.flush)  # type: ignore[attr-defined]

    def put(self, item: tuple) -> None:
        _kind, event = item
        with self._batch_lock:
            self._batch.append(event.model_dump(mode="json"))
            if self._timer is None:
                # In the context of the thread that emitted, as Prefect's worker posts: its settings.
                self._timer = threading.Timer(self._batch_seconds, contextvars.copy_context().run, (self.flush,))
                self._timer.daemon = True  # never waited for at exit: flush() runs then anyway
                self._timer.start()

    def flush(self) -> None:
        """Post what has been gathered, now."""
        with self._posting:
            with self._batch_lock:
                batch, self._batch = self._batch, []
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            if not batch:
                return
            try:
                self._post(batch)
            except Exception as error:  # as Prefect's events worker does with an event it cannot send
                log.warning("could not send %d event(s) to Prefect: %s", len(batch), error)

    def _post(self, batch: list[dict]) -> None:
        if self._client is None:
            # Settings of its own ({} is no settings, but not the context's None) make it a client of its
            # own: get_client would otherwise hand back the flow engine's client (the EventsWorker's thread
            # copied the run's context), closed once the run ends, and an event posted after that failed
            # ("cannot be started again after closing") and never reached Prefect.
            self._client = get_client(httpx_settings={}, sync_client=True)
            self._client.__enter__()
        self._client.request("POST", "/events", json=batch).raise_for_status()


# EventsWorker.instance() builds its client from this (type, kwargs) pair when one is set; Prefect's forwarding
# client is one of the kinds `emit_event` sends through (a client class of the farm's own would be ignored).
OVERRIDE = (ProcessPoolForwardingEventsClient, (("event_queue", EventPoster()),))
