"""A phone's queue hands this worker its next run only once the previous one is done here."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar
from uuid import UUID

Run = TypeVar("Run")


class QueueTurns:
    """Prefect's fetch on PostgreSQL takes a queue's runs `FOR UPDATE SKIP LOCKED`: while a phone's
    next run is row-locked by its own Pending transition, a second fetch skips it and returns the run
    after it, past the queue's limit of 1 (measured: 6 of 10 phones had two runs at once in a 40-task
    burst). Each phone's queue is served by one worker, so that worker keeps the limit itself."""

    def __init__(self, in_flight: Callable[[UUID], bool]):
        self._in_flight = in_flight  # submitting or running in this worker
        self._holders: dict[str, UUID] = {}

    def admit(self, runs: Iterable[Run], *, queue_of: Callable[[Run], str], id_of: Callable[[Run], UUID]) -> list[Run]:
        """The runs whose queue has no other run in flight here, the earliest first as fetched."""
        admitted, taken = [], set()
        for run in runs:
            queue, run_id = queue_of(run), id_of(run)
            holder = self._holders.get(queue)
            if holder is not None and holder != run_id and (queue in taken or self._in_flight(holder)):
                continue  # stays Scheduled; the poll that follows its predecessor's end takes it
            self._holders[queue] = run_id
            taken.add(queue)
            admitted.append(run)
        return admitted
