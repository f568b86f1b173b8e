"""Flows that tests/test_fast_worker.py deploys to a throw-away pool served by worker.fast_worker."""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time

from prefect import flow, get_run_logger
from prefect.events import emit_event
from prefect.events.worker import EventsWorker

# Imported by the worker's forkserver (preload), this is the forkserver's pid in every forked run:
# the run takes the preloaded module instead of executing this file again (forked_run.preloaded_entrypoint).
IMPORTED_IN = os.getpid()


def _report(path: str) -> None:
    """Where the run's process stands, written atomically for the test to wait on."""
    preloaded = sys.modules.get("tests.fast_worker_flows")
    forked_run = sys.modules.get("worker.forked_run")
    facts = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "cwd": os.getcwd(),
        "flows_preloaded_in": getattr(preloaded, "IMPORTED_IN", None),
        "forked_run_loaded_in": getattr(forked_run, "LOADED_IN", None),
        "flow_module": log_flow.fn.__module__ if __name__ == "tests.fast_worker_flows" else __name__,
        "executed_afresh": "fast_worker_flows" in sys.modules,
        "threads": [thread.name for thread in threading.enumerate()],
        "events_client": _events_client(),
    }
    with open(f"{path}.tmp", "w") as out:
        json.dump(facts, out)
    os.replace(f"{path}.tmp", path)


def _events_client() -> str:
    """The run's events client, and what it forwards events to when it is Prefect's forwarding client."""
    worker = EventsWorker.instance()
    queue = dict(worker.client_options).get("event_queue")
    return worker.client_type.__name__ + (f" -> {type(queue).__name__}" if queue is not None else "")


@flow(name="fast-worker-sleep", persist_result=False)
def sleep_flow(seconds: float, report: str = "") -> int:
    if report:
        _report(report)
    get_run_logger().info("sleeping %s s", seconds)
    time.sleep(seconds)
    return os.getpid()


@flow(name="fast-worker-log", persist_result=False)
def log_flow(message: str, report: str = "", event: str = "") -> str:
    if event:
        # Sent through the run's events client: which one it is goes into the report.
        emit_event(event, resource={"prefect.resource.id": f"phonefarm.test.{event}"})
    if report:
        _report(report)
    get_run_logger().info("message: %s", message)
    return message


@flow(name="fast-worker-slow-exit", persist_result=False)
def slow_exit_flow(exit_seconds: float, exited: str) -> None:
    """Ends at once, but its process takes `exit_seconds` to exit, and then writes when it did."""

    def exit_slowly() -> None:
        time.sleep(exit_seconds)
        with open(exited, "w") as out:
            out.write(str(time.time()))

    atexit.register(exit_slowly)
