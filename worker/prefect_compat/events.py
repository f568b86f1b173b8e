"""A flow run's events sent in short POST /events requests instead of over a websocket held for the run's life."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.events.worker import ProcessPoolForwardingEventsClient


class EventPoster:
    """The queue Prefect's forwarding events client puts each of a run's events in: it posts the event.

    On SQLite, Prefect's server lets 100 requests in at once, and an open websocket counts as one for as long as it
    stays open: with Prefect's websocket client, 93 runs at once held every slot and the server answered nothing
    more (docs/decisions/0025). A POST holds a slot for milliseconds, and the orchestration client retries it as it
    does every other call. `put` runs on the EventsWorker's own thread, so waiting for the answer blocks nothing
    else; the client is made on first use, in the run's process (never before a fork)."""

    def __init__(self) -> None:
        self._client = None

    def put(self, item: tuple) -> None:
        _kind, event = item
        if self._client is None:
            # Settings of its own ({} is no settings, but not the context's None) make it a client of its
            # own: get_client would otherwise hand back the flow engine's client (the EventsWorker's thread
            # copied the run's context), closed once the run ends, and an event posted after that failed
            # ("cannot be started again after closing") and never reached Prefect.
            self._client = get_client(httpx_settings={}, sync_client=True)
            self._client.__enter__()
        self._client.request("POST", "/events", json=[event.model_dump(mode="json")]).raise_for_status()


# EventsWorker.instance() builds its client from this (type, kwargs) pair when one is set; Prefect's forwarding
# client is one of the kinds `emit_event` sends through (a client class of the farm's own would be ignored).
OVERRIDE = (ProcessPoolForwardingEventsClient, (("event_queue", EventPoster()),))
