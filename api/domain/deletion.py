"""Deleting tasks: hidden at once, their flow runs purged from Prefect once they hold no phone."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from api.gateways.index import TaskRow, TaskTable
from api.gateways.prefect import FINAL_STATE_TYPES, RunGone, RunQueries, RunWrites
from api.gateways.runs import Run

log = logging.getLogger(__name__)
READ_CHUNK = 200  # Prefect's most runs per read
STOPPED = "Stopped through the API"
# Far longer than a flow-run process takes to start on a busy PC (~15 s seen under load).
ABANDONED_STOP_AFTER = timedelta(seconds=60)
# A worker ends a started run's stop within seconds (it kills the process, the run ends Cancelled).
RACED_STOP_AFTER = timedelta(seconds=15)
RECHECK_DELETIONS_FOR = timedelta(minutes=5)
# States in which a run holds no phone and no process: its flow run can be deleted at once.
IDLE_STATE_TYPES = (*FINAL_STATE_TYPES, "SCHEDULED")


class TaskDeletion:
    """Mixed into TaskService, which gives `stop_run` and `require_prefect`."""

    table: TaskTable
    runs: RunQueries
    writes: RunWrites

    def stop_run(self, run: Run) -> None:
        raise NotImplementedError

    def require_prefect(self) -> None:
        raise NotImplementedError

    def delete(self, task_ids: list[int]) -> dict:
        """Hidden at once, all in one write; a run still holding its phone is stopped and purged once
        it has ended. Refused while Prefect is known to be down. Once hidden, the deletion is done:
        whatever fails in the purge (Prefect stops answering, the disk fills up) is left to the
        keeper's next round. An error answer ("nothing was changed") would be false then: the
        chaos run, seed 7, found it twice."""
        self.require_prefect()
        rows = {task_id: self.table.get(task_id) for task_id in dict.fromkeys(task_ids)}
        deleted = [row for row in rows.values() if row is not None]
        self.table.mark_deleted([row.id for row in deleted])
        try:
            self.purge(deleted)
        except Exception as error:  # noqa: BLE001 - any failure here: the keeper purges them later
            log.warning("tasks %s deleted; their runs are purged on a later round (%r)",
                        [row.id for row in deleted], error)
        return {"deleted_count": len(deleted), "not_found": [task_id for task_id, row in rows.items() if row is None]}

    def purge(self, rows: list[TaskRow]) -> None:
        """Runs that hold no phone (ended, or still waiting to start) are deleted from Prefect in bulk;
        a started one is stopped first and deleted on a later round, once it has ended: deleting a
        running flow run would free its phone while its process still drives it."""
        runs: dict[str, Run] = {}
        attached = [row.flow_run_id for row in rows if row.flow_run_id]
        for start in range(0, len(attached), READ_CHUNK):
            runs.update(self.runs.read_runs(attached[start:start + READ_CHUNK]))
        # A row without its run is still being created; it is purged on a later round.
        idle = [row for row in rows if row.flow_run_id and (
            row.flow_run_id not in runs or runs[row.flow_run_id].state_type in IDLE_STATE_TYPES)]
        deleted = self.writes.delete_runs([row.flow_run_id for row in idle if row.flow_run_id in runs])
        for row in idle:
            # Only what Prefect says it deleted (or never had): the rest is tried again next round.
            if row.flow_run_id in deleted or row.flow_run_id not in runs:
                self.table.mark_purged(row.id)
        for row in rows:
            run = runs.get(row.flow_run_id)
            if run is None or run.state_type in IDLE_STATE_TYPES or run.state_type == "CANCELLING":
                continue
            try:
                self.stop_run(run)
            except RunGone:  # a concurrent purge deleted it first
                self.table.mark_purged(row.id)

    def finish_abandoned_stops(self) -> None:
        """Stops nothing will ever end, found by how long they have been Cancelling. A task stopped
        in the seconds its process started (Prefect 3.9: the process finds Cancelling before its
        first step, never runs the script, and exits with the run left Cancelling): no start time;
        it ends Cancelled, as the worker would have ended it. A stop that raced the run's end and
        lost its repair (stop_run's check failed under load): its real end is put back."""
        for run in self.runs.lasting_stops(RACED_STOP_AFTER):
            if run.start_time is not None:
                self.restore_raced_end(run.id)
            elif run.state.timestamp < datetime.now(timezone.utc) - ABANDONED_STOP_AFTER:
                log.warning("run %s stayed Cancelling after its process exited; marking it Cancelled", run.id)
                self.writes.cancel(run.id, STOPPED)

    def restore_raced_end(self, flow_run_id) -> bool:
        """A run that had ended before our (forced) Cancelling has no process left to finish the
        stop, and would stay Cancelling for ever: its real end is put back."""
        states = self.runs.states(flow_run_id)
        if len(states) > 1 and states[-1].type == "CANCELLING" and states[-2].final:
            self.writes.restore(flow_run_id, states[-2])
            return True
        return False

    def purge_pending_deletions(self) -> None:
        # A run created while its task was being deleted can outlive the purge (a creation sent
        # again under the same key after the purge): recent deletions are checked once more.
        since = datetime.now(timezone.utc) - RECHECK_DELETIONS_FOR
        recent = {row.flow_run_id: row.id for row in self.table.recently_purged(since)}
        ids = list(recent)
        for start in range(0, len(ids), READ_CHUNK):
            survivors = self.runs.read_runs(ids[start:start + READ_CHUNK])
            self.table.mark_unpurged(recent[flow_run_id] for flow_run_id in survivors)
        self.purge(self.table.unpurged_deletions())
