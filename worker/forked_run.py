"""The run side of worker.fast_worker: preloaded by its forkserver, it runs each flow run in a fork."""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import sys
import threading
from multiprocessing.connection import Connection

import anyio
import prefect.deployments.steps.pull  # noqa: F401  (the pull steps' module, preloaded)
import prefect.flow_engine  # internal: _main
from prefect.context import refresh_global_settings_context
from prefect.runner._workspace_starter import workspace_environment  # internal

from worker import prefect_compat
from worker.run_objects import RunObjects, prepare_run_workspace, remember_related
from flows.worker_guard import die_when_closed, die_with_worker

# What every run would import after the fork otherwise (anyio's asyncio backend for the pull steps,
# idna for httpx, rich's emoji table for console logs, the task engine and its concurrency helpers,
# graphviz through the engine's visualization module): imported once, here; only a saving if absent.
AFTER_FORK_MODULES = (
    "anyio._backends._asyncio", "encodings.idna", "rich._emoji_codes", "prefect.task_engine",
    "prefect._internal.states", "prefect.concurrency._asyncio", "prefect.concurrency._sync",
    "prefect.concurrency._events", "prefect.concurrency.services", "prefect.utilities.visualization",
)
for _name in AFTER_FORK_MODULES:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)
# In a forked run these describe the forkserver, which imports this module (worker.forkserver) last of its preload.
LOADED_IN = os.getpid()
THREADS_AT_LOAD = threading.active_count()


def run(objects: RunObjects, env: dict[str, str], workspace_root: str, stream_output: bool,
        worker_alive: Connection) -> None:
    """What Prefect's `_workspace_supervisor` and `python -m prefect.engine` do for a run, in a fork,
    with what the worker already read of the run. Internal Prefect calls: prepare_workspace,
    workspace_environment, flow_engine._main, the event emitter's cache (worker.run_objects)."""
    # Keep the garbage collector of a long run off the objects it shares with the forkserver (a
    # collection writes to each object it visits, and so copies its page).
    gc.freeze()
    os.setsid()  # a session of its own, as with the stock worker: a cancel reaches what the run started
    # No orphan drives a phone: stop when the worker dies (only it holds the pipe's other end), and
    # when the forkserver dies (the worker then sees this run exit and reports it Crashed).
    die_when_closed(worker_alive)
    die_with_worker(parent=LOADED_IN if LOADED_IN != os.getpid() else None)
    if not stream_output:  # as the stock worker does with stream_output false
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    os.environ.clear()
    os.environ.update(env)
    refresh_global_settings_context()  # the run's settings, for every thread (contexts don't cross threads)
    os.chdir(workspace_root)
    code = 1
    try:
        # The deployment's pull steps (set_working_directory): they chdir this process.
        remember_related(objects)
        workspace = anyio.run(prepare_run_workspace, objects, workspace_root)
        paths = workspace_environment(workspace)["PYTHONPATH"]
        os.environ["PYTHONPATH"] = paths
        sys.path[:0] = [p for p in paths.split(os.pathsep) if p and p not in sys.path]
        entrypoint = preloaded_entrypoint(workspace.runtime_entrypoint)
        os.environ["PREFECT__FLOW_ENTRYPOINT"] = entrypoint
        code = prefect.flow_engine._main([entrypoint])
    finally:
        # What an interpreter does on exit (multiprocessing ends forks with os._exit): drain
        # Prefect's log and event workers, join threads, then run the atexit handlers.
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    sys.exit(code)


def preloaded_entrypoint(entrypoint: str) -> str:
    """"flows/run_task.py:run_task" as "flows.run_task:run_task" when that module is preloaded: Prefect
    then takes the module the forkserver imported instead of executing the file again in every run."""
    path, _, name = entrypoint.rpartition(":")
    module = path.removesuffix(".py").replace("/", ".")
    if path.endswith(".py") and not os.path.isabs(path) and module in sys.modules:
        return f"{module}:{name}"
    return entrypoint


def probe(expected: list[str]) -> None:
    """A first fork: fails unless the forkserver really preloaded everything and started no thread
    (multiprocessing ignores preload ImportErrors, and a fork copies no thread but its locks)."""
    problems = [f"{name} was not preloaded" for name in expected if name not in sys.modules]
    if LOADED_IN == os.getpid():
        problems.append(f"{__name__} was imported in the fork, not the forkserver")
    if prefect_compat.installed() != set(prefect_compat.WORKER_GROUPS):
        problems.append(f"the Prefect patches were not installed (only {sorted(prefect_compat.installed())})")
    if THREADS_AT_LOAD != 1:
        problems.append(f"the preload started {THREADS_AT_LOAD - 1} thread(s)")
    if problems:
        sys.exit("worker.fast_worker forkserver: " + "; ".join(problems))
