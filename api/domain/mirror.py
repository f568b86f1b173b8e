"""The index's copy of run states: refreshed when Prefect's events say a run changed, reconciled after any gap."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Optional

from api.gateways.index import RunState, TaskRow, TaskTable
from api.gateways.prefect import RunGone, RunQueries
from api.gateways.prefect_events import RunStateSeen
from api.gateways.runs import Run

log = logging.getLogger(__name__)
READ_CHUNK = 200  # Prefect's most runs per read
# States Prefect changes without the API asking (the worker, the engine, its own services).
MOVING_STATE_TYPES = ("PENDING", "RUNNING", "CANCELLING", "PAUSED")


def scheduled(flow_run_id: str, start: datetime) -> RunState:
    """A run as it is created; no timestamp, so the first state Prefect reports replaces it."""
    return RunState(flow_run_id, "SCHEDULED", "Scheduled", None, None, expected_start_time=start)


class RunMirror:
    def __init__(self, table: TaskTable, runs: RunQueries, *,
                 moving_every: float = 10.0, everything_every: float = 600.0):
        self.table = table
        self.runs = runs
        self.moving_every = moving_every
        self.everything_every = everything_every
        self._last_moving = self._last_everything = time.monotonic()
        self._lock = threading.Lock()
        self._unknown: set[str] = set()  # runs events named that were no task then
        self._unknown_lock = threading.Lock()
        # Told when Prefect's events name runs that are no task of ours (yet): a run started in the
        # Prefect UI, an account read that ended.
        self.on_unknown_runs: list[Callable[[], None]] = []
        # Told the (task, state) of runs the copy has just seen fail (account marks).
        self.on_failed: list[Callable[[list[tuple[TaskRow, RunState]]], None]] = []

    def record(self, runs: Iterable[Run]) -> None:
        runs = list(runs)
        failed = [run for run in runs if run.state.state_type == "FAILED"] if self.on_failed else []
        before = self.table.by_flow_run_ids([run.id for run in failed]) if failed else {}
        self.table.record_states(run.state for run in runs)
        # Told once per end: a run read again (reconciling) is not a new failure.
        new = [(row, run.state) for run in failed if (row := before.get(run.id)) is not None
               and (row.run.state_type, row.run.state_name, row.run.timestamp)
               != (run.state.state_type, run.state.state_name, run.state.timestamp)]
        for tell in self.on_failed if new else ():
            tell(new)

    def take_events(self, seen: list[RunStateSeen]) -> None:
        """What Prefect's events say of runs. A run that moved (Pending, Running, Cancelling,
        Paused) is copied from its event, and so is a new run's first Scheduled state (its start
        time is the one the API asked for). An end or a later Scheduled state is read from Prefect,
        whole: the end time, the tags (automatic retries), a new start time. Three of a run's four
        events then cost Prefect no filter query, on the server the phones wait for."""
        states = [RunState(s.flow_run_id, s.state_type, s.state_name, s.message, s.timestamp)
                  for s in seen if s.state_type in (*MOVING_STATE_TYPES, "SCHEDULED") and s.timestamp is not None]
        # Ends first: a phone's next run must not show started while its stopped one still shows running.
        ends = {s.flow_run_id for s in seen if s.state_type not in (*MOVING_STATE_TYPES, "SCHEDULED", None)}
        self.refresh(ends, defer_unknown=True)
        taken = self.table.record_seen(states)
        self.refresh([s.flow_run_id for s in seen if s.flow_run_id not in taken | ends], defer_unknown=True)

    def refresh(self, flow_run_ids: Iterable[str], defer_unknown: bool = False) -> None:
        """Read these runs from Prefect and keep what it says; a run Prefect no longer has was
        deleted there (the Prefect UI): so is its task. Runs that are no task are told to
        on_unknown_runs; with `defer_unknown`, only if they are still none at the next upkeep (an
        event can come before the API has written down the run it just created)."""
        ids = list(dict.fromkeys(flow_run_ids))
        for start in range(0, len(ids), READ_CHUNK):
            # Others are not tasks (account reads, UI runs not adopted yet).
            chunk = ids[start:start + READ_CHUNK]
            known = self.table.by_flow_run_ids(chunk)
            if len(known) < len(chunk):
                if defer_unknown:
                    with self._unknown_lock:
                        self._unknown.update(set(chunk) - known.keys())
                else:
                    self._tell_unknown()
            if not known:
                continue
            runs = self.runs.read_runs(list(known))
            self.record(runs.values())
            for flow_run_id in known.keys() - runs.keys():
                try:  # asked again on its own before the task goes with it
                    self.record([self.runs.read_run(flow_run_id)])
                    continue
                except RunGone:
                    pass
                row = known[flow_run_id]
                log.info("task %s: its flow run was deleted in Prefect", row.id)
                self.table.mark_deleted([row.id])
                self.table.mark_purged(row.id)

    def _tell_unknown(self) -> None:
        for tell in self.on_unknown_runs:
            tell()

    def _settle_unknown(self) -> None:
        with self._unknown_lock:
            unknown, self._unknown = list(self._unknown), set()
        if unknown:
            self.refresh(unknown)

    def reconcile_moving(self, now: Optional[datetime] = None) -> None:
        """Runs that may have changed without an event reaching us: running ones, ones due to start."""
        now = now or datetime.now(timezone.utc)
        self.refresh(self.table.flow_runs_to_check(MOVING_STATE_TYPES, due_before=now + timedelta(seconds=30)))

    def reconcile_everything(self) -> None:
        """After a gap in the event stream (a restart, a lost connection): every live task's run."""
        with self._lock:
            self._last_everything = time.monotonic()
            self.refresh(self.table.live_flow_runs())

    def upkeep(self) -> None:
        """A chore for the keeper: the safety net under the event stream, at a slow pace."""
        self._settle_unknown()
        now = time.monotonic()
        if now - self._last_everything >= self.everything_every:
            self.reconcile_everything()
            self._last_moving = now
        elif now - self._last_moving >= self.moving_every:
            self._last_moving = now
            self.reconcile_moving()
