"""A phone's queue hands this worker its next run only once the previous one is done here, and is asked only then."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Optional, TypeVar
from uuid import UUID

Run = TypeVar("Run")
# Prefect marks a queue not polled for 60 s NOT_READY (its UI, an event each way): a phone's queue is
# asked at least this often even while the phone is busy.
EVERY_QUEUE_SECONDS = 30.0


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

    def busy(self, queues: Iterable[str]) -> set[str]:
        """The queues whose phone has a run in flight here: a fetch would find nothing of theirs to start."""
        return {queue for queue in queues if (holder := self._holders.get(queue)) is not None and self._in_flight(holder)}


class PollScope:
    """Which of this PC's queues a poll asks Prefect for. The server looks each named queue up, so a
    poll of ten costs it about twice a poll of one (bench/README.md): a phone busy with a run has
    nothing to start until that run ends, and that end makes a poll of its own. Every queue is asked
    every EVERY_QUEUE_SECONDS anyway, so Prefect keeps them all READY."""

    def __init__(self, every_queue_seconds: float = EVERY_QUEUE_SECONDS):
        self.every_queue_seconds = every_queue_seconds
        self._all_asked_at: Optional[float] = None

    def queues(self, served: Iterable[str], busy: set[str], now: float) -> list[str]:
        served = sorted(served)
        if self._all_asked_at is None or now - self._all_asked_at >= self.every_queue_seconds:
            self._all_asked_at = now
            return served
        return [queue for queue in served if queue not in busy]


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
