"""Background upkeep of the index: adopt runs started from the Prefect UI, purge deleted tasks."""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timedelta

from prefect.client.schemas.objects import FlowRun

from api.bodies import CreateTaskBody
from api.errors import ApiError
from api.orchestrator import OrchestratorUnavailable, device_queue
from api.tasks import TaskService, run_name
from flows.tags import FARM_TAG

log = logging.getLogger(__name__)
MOVED_TAG = "moved-to-phone-queue"
# Far longer than a flow-run process takes to start on a busy PC (~15 s seen under load).
ABANDONED_STOP_AFTER = timedelta(seconds=60)


class Keeper:
    def __init__(self, tasks: TaskService, interval_seconds: float):
        self.tasks = tasks
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="index-keeper", daemon=True)
        self._rng = random.Random()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except OrchestratorUnavailable:
                pass  # the API already answers 50301; try again on the next round
            except Exception:
                log.exception("index upkeep failed; will try again")

    def run_once(self) -> None:
        for run in self.tasks.orchestrator.unindexed_runs():
            if MOVED_TAG not in run.tags and not self.tasks.index.knows_flow_run(str(run.id)):
                self.adopt(run)
        self.finish_abandoned_stops()
        self.tasks.purge_pending_deletions()

    def finish_abandoned_stops(self) -> None:
        """A task stopped in the seconds its process started would stay running (and a deleted one
        in Prefect) for ever: end its run Cancelled, as the worker would have."""
        orchestrator = self.tasks.orchestrator
        for run in orchestrator.abandoned_stops(ABANDONED_STOP_AFTER):
            log.warning("run %s stayed Cancelling after its process exited; marking it Cancelled", run.id)
            orchestrator.cancel(str(run.id), "Stopped through the API")

    def adopt(self, run: FlowRun) -> None:
        """A UI run gets a task id; one outside its phone's queue is re-created inside it."""
        params = run.parameters
        serial = params.get("serial")
        orchestrator = self.tasks.orchestrator
        if serial and run.work_queue_name == device_queue(serial):
            self.tasks.adopt_in_place(run)
            return
        if run.state_type is None or run.state_type.value != "SCHEDULED":
            log.warning("run %s started outside its phone's queue; indexing it as it is", run.id)
            self.tasks.adopt_in_place(run)
            return
        username = params.get("username")
        body = CreateTaskBody(
            serials=None if username else [serial] if serial else None,
            usernames=[username] if username else None,
            script_name=params.get("script_name"),
            script_config=params.get("script_config") if isinstance(params.get("script_config"), dict) else None,
            start_time=run.expected_start_time.isoformat() if run.expected_start_time else None,
        )
        try:
            ids = self.tasks.create(body, datetime.now().astimezone(), self._rng, source="ui")
        except ApiError as refused:
            orchestrator.fail(str(run.id), f"Not started: {refused.message}")
        else:
            orchestrator.cancel(
                str(run.id), f"Moved to phone {serial}'s queue as task(s) {', '.join(map(str, ids))}"
            )
        orchestrator.rename(str(run.id), name=run.name, tags=[MOVED_TAG])
