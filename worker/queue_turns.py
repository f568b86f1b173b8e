"""A phone's queue hands this worker its next run only once the previous one is done here."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Optional, TypeVar
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


def due_now(runs: Iterable[Run], *, start_of: Callable[[Run], Optional[datetime]],
            now: datetime) -> tuple[list[Run], Optional[float]]:
    """The runs whose start time has come, and the seconds until the next of the others. Prefect's
    worker fetches runs due within its prefetch window and starts them at once, before their time."""
    due, waits = [], []
    for run in runs:
        start = start_of(run)
        if start is None or start <= now:
            due.append(run)
        else:
            waits.append((start - now).total_seconds())
    return due, min(waits, default=None)
