"""Settle runs a gone worker left behind, so that every task says why it ended, whoever noticed first."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from prefect.client.schemas.objects import FlowRun, StateType

from api.gateways.prefect import Orchestrator, OrchestratorUnavailable, RunQuery
from contract.names import device_queue

log = logging.getLogger(__name__)

WORKER_DIED = "its worker process died while it ran on the phone; retry it if it should run again"
SERVICE_STOPPED = "the service stopped while it ran on the phone; retry it if it should run again"
STOPPED = "Stopped through the API"
REQUEUED = "Back in the queue: its worker stopped before it started"
# What a flow-run process writes itself when it is torn down with its worker (Prefect 3.9's
# engine turns the SystemExit or the termination signal into Crashed, or the worker reports an exit
# code): true, but less precise than the settling's message, which then replaces it.
_IMPRECISE_CRASH_MESSAGES = (
    "Execution was aborted by Python system exit call.",
    "Execution was aborted by an interrupt signal.",
    "Execution was aborted by a termination signal.",
    "Flow run infrastructure exited with non-zero status code",
    "Flow run process exited",
)


def is_imprecise(message: Optional[str]) -> bool:
    return any((message or "").startswith(prefix) for prefix in _IMPRECISE_CRASH_MESSAGES)


def settle(orchestrator: Orchestrator, message: str, serials: Optional[set[str]],
           worker_last_seen: Optional[datetime] = None) -> tuple[int, int]:
    """Runs left active by a worker that is gone (killed, or stopped with the service).
    A run that had started on its phone is marked Crashed with `message` and is never re-run by
    itself: it may have half-posted, so the operator decides (retry). A Pending run never touched
    its phone and goes back to its queue; a Cancelling one ends Cancelled. A run that its own
    process already marked Crashed since `worker_last_seen` gets `message` too, so the remark
    never depends on who noticed first. `serials` limits this to the queues of this PC's phones
    (other PCs' workers own the rest). Returns (crashed, requeued)."""
    queues = None if serials is None else {device_queue(s) for s in serials}
    mine = lambda run: queues is None or run.work_queue_name in queues  # noqa: E731
    crashed = requeued = 0
    for run in filter(mine, orchestrator.runs.active_runs()):
        if run.state_type == StateType.CANCELLING:
            orchestrator.writes.cancel(run.id, STOPPED)
        elif run.state_type == StateType.PENDING:
            orchestrator.writes.requeue(run.id, REQUEUED)
            requeued += 1
        elif orchestrator.writes.crash(run.id, message):  # refused if its own end came meanwhile
            crashed += 1
    if worker_last_seen is not None:
        for run in filter(mine, _crashed_since(orchestrator, worker_last_seen)):
            if is_imprecise(run.state.message):
                orchestrator.writes.reword_crash(run.id, message)
                crashed += 1
    return crashed, requeued


def _crashed_since(orchestrator: Orchestrator, moment: datetime) -> list[FlowRun]:
    runs = orchestrator.runs.page(RunQuery(state_types=("CRASHED",)), offset=0, limit=200)
    return [run for run in runs if run.state is not None and run.state.timestamp >= moment]


def settle_quietly(orchestrator: Orchestrator, message: str, serials: Optional[set[str]],
                   worker_last_seen: Optional[datetime] = None) -> None:
    """settle(), logged; a Prefect server that does not answer is retried on the next worker start."""
    try:
        crashed, requeued = settle(orchestrator, message, serials, worker_last_seen)
    except OrchestratorUnavailable:
        log.warning("could not settle interrupted runs: the Prefect server is unreachable")
        return
    if crashed or requeued:
        log.warning("%d interrupted run(s) marked crashed, %d re-queued (%s)", crashed, requeued, message)
