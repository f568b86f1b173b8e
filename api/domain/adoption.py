"""Runs started in the Prefect UI become tasks: in their phone's queue, with a task id of their own."""

from __future__ import annotations

import logging
import random
from datetime import datetime

from api.domain.errors import ApiError
from api.domain.requests import TaskRequest
from api.domain.tasks import TaskService
from api.gateways.index import TaskTable
from api.gateways.prefect import RunQueries, RunWrites
from api.gateways.runs import Run
from contract.names import device_queue

log = logging.getLogger(__name__)
MOVED_TAG = "moved-to-phone-queue"


class UiRunAdoption:
    def __init__(self, tasks: TaskService, table: TaskTable, runs: RunQueries, writes: RunWrites, rng: random.Random):
        self.tasks, self.table, self.runs, self.writes = tasks, table, runs, writes
        self.rng = rng

    def adopt_new_runs(self) -> None:
        for run in self.runs.unindexed_runs():
            if MOVED_TAG not in run.tags and not self.table.knows_flow_run(str(run.id)):
                self.adopt(run)

    def adopt(self, run: Run) -> None:
        """A UI run gets a task id; one outside its phone's queue is re-created inside it, through
        the same validation and fan-out as an API request, or failed with the reason."""
        params = run.parameters
        serial = params.get("serial")
        if serial and run.work_queue_name == device_queue(serial):
            self.tasks.adopt_in_place(run)
            return
        if run.state_type != "SCHEDULED":
            log.warning("run %s started outside its phone's queue; indexing it as it is", run.id)
            self.tasks.adopt_in_place(run)
            return
        username = params.get("username")
        request = TaskRequest(
            serials=None if username else [serial] if serial else None,
            usernames=[username] if username else None,
            script_name=params.get("script_name"),
            script_config=params.get("script_config") if isinstance(params.get("script_config"), dict) else None,
            start_time=run.expected_start_time.isoformat() if run.expected_start_time else None,
        )
        try:
            ids = self.tasks.create(request, datetime.now().astimezone(), self.rng, source="ui")
        except ApiError as refused:
            self.writes.fail(run.id, f"Not started: {refused.message}")
        else:
            self.writes.cancel(run.id, f"Moved to phone {serial}'s queue as task(s) {', '.join(map(str, ids))}")
        self.writes.rename(str(run.id), name=run.name, tags=[MOVED_TAG])
