"""A Prefect process worker that forks each flow run from a warm forkserver instead of starting two interpreters."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any, Optional, Sequence

import anyio
import anyio.abc
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.flows import Flow
from prefect.states import Cancelled
from prefect.runner._hook_runner import HookRunner  # internal
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

from devices.adb import AdbServer
from devices.health import read_health_if_idle
from devices.selectors import SelectorFileError, load_every_app
from worker import forked_run, prefect_compat
from worker.cached_reads import CachedReads
from worker.deployment_guard import DeploymentGuard, DeploymentRefused
from worker.executors import Executors
from contract.names import WORK_POOL
from worker.fork_starter import ForkStarter
from worker.heartbeat import beat_forever
from worker.queue_polling import QueuePolling
from worker.queue_turns import PollScope, QueueTurns
from worker.run_limit import RunLimit
from worker.run_objects import RunObjects
from worker.phone_health import HealthGuards, HealthReadings
from worker.served_phones import ServedPhones
from flows.settings import WorkerSettings
from worker.unrecorded_ends import UnrecordedEnds
from worker.wakeup import Wakeup

# Everything marked "internal" here and in the other worker modules is private to Prefect: each is an
# entry of worker.prefect_compat.REGISTRY, with the canary an upgrade of Prefect must re-check.
FARM_FLOW_MODULES = ("flows.run_task", "flows.read_accounts")
FORKSERVER_ENTRY = "worker.forkserver"  # named, not imported: its import installs the patches


class FastProcessWorker(QueuePolling, ProcessWorker):
    """Prefect's ProcessWorker, but each flow run is forked from a forkserver that has imported Prefect
    and the flow modules once, instead of starting two new interpreters that import them again."""

    # It serves "process" pools with the stock job template; it is found as "fast-process", so the
    # stock worker keeps the "process" key of Prefect's worker registry.
    type = "process"

    @classmethod
    def __dispatch_key__(cls) -> str:
        return "fast-process"

    def __init__(self, *args: Any, preload: Sequence[str] = FARM_FLOW_MODULES,
                 served_phones: Optional[ServedPhones] = None, limit: Optional[int] = None, **kwargs: Any):
        prefect_compat.require_version()
        # Prefect makes its limiter only when given a limit; this one is resized before every poll.
        super().__init__(*args, limit=limit or 1, **kwargs)
        self.run_limit = RunLimit(limit)
        self.served_phones = served_phones
        self._preload = list(preload)
        self._flow_modules: list = []
        self._context = multiprocessing.get_context("forkserver")
        # Every run gets the read end; the write end never leaves this process, so it closes when
        # the worker dies, however it dies, and the runs stop (worker_guard.die_when_closed).
        self._worker_alive, self._alive_writer = self._context.Pipe(duplex=False)
        self.unrecorded = UnrecordedEnds()
        self._polling = asyncio.Lock()
        self._executors = Executors()
        self._hooks = HookRunner(resolve_flow=self._preloaded_flow)  # internal
        self._running: set = set()
        self._ended_in_prefect: set = set()  # running here, and Prefect has taken their final state
        self._let_go: set = set()  # of those, the runs that wrote it themselves: their phone is free
        self.wakeup = Wakeup(self.get_and_submit_flow_runs, running_here=lambda run_id: run_id in self._running,
                             on_own_end=self._own_end)
        # prefect.yaml as this checkout has it, read before any run; a worker of another pool (the
        # tests' own flows) runs that pool's deployments, as Prefect's worker does.
        self.guard = DeploymentGuard() if kwargs.get("work_pool_name") == WORK_POOL else None
        self._pool_refusal: Optional[str] = None
        self.turns = QueueTurns(lambda run_id: run_id in self._submitting_flow_run_ids
                                or (run_id in self._running and run_id not in self._let_go))
        self.poll_scope = PollScope()

    def _own_end(self, run_id: Any, let_go: bool) -> None:
        self._ended_in_prefect.add(run_id)
        if let_go:
            self._let_go.add(run_id)

    async def setup(self) -> None:
        await super().setup()
        self._client = CachedReads(self._client)  # internal: the client every worker call goes through
        await self._executors.current()  # the first run does not wait for it
        await anyio.to_thread.run_sync(self._start_forkserver)
        if self.served_phones is not None:
            await self.refresh_served_queues()  # before the first poll: until then it would take any queue's runs

    async def teardown(self, *exc_info: Any) -> None:
        try:
            await super().teardown(*exc_info)  # the runs' task group first: nothing uses the context after
        finally:
            await self._executors.close()

    def _start_forkserver(self) -> None:
        # Imported here too: an import error fails here, loudly, and hooks find their flow (see below).
        self._flow_modules = [importlib.import_module(name) for name in self._preload]
        # multiprocessing re-runs the main script or module (this one, or Prefect's CLI) in every
        # child it starts, unless the main module looks like none: the runs need nothing from it.
        main_module = sys.modules["__main__"]
        main_module.__spec__ = None
        main_module.__dict__.pop("__file__", None)
        # The forkserver's entry last: it records whether the preload before it started a thread,
        # and installs the Prefect patches every fork inherits.
        self._context.set_forkserver_preload([*self._preload, FORKSERVER_ENTRY])
        probe = self._context.Process(target=forked_run.probe, args=(self._preload,), name="forkserver-probe")
        probe.start()
        probe.join()
        if probe.exitcode != 0:
            raise RuntimeError(f"the forkserver's preload failed (probe exit code {probe.exitcode}; see stderr)")

    async def _preloaded_flow(self, flow_run: FlowRun) -> Flow:
        """Cancellation and crash hooks run here in the worker, as Prefect runs them, on the flow
        object of the preloaded module (Prefect would run the pull steps in this process to find it)."""
        async with get_client() as client:
            name = (await client.read_flow(flow_run.flow_id)).name
        for module in self._flow_modules:
            for value in vars(module).values():
                if isinstance(value, Flow) and value.name == name:
                    return value
        raise LookupError(f"flow {name!r} is in none of the preloaded modules {self._preload}")

    async def _propose_submitting_state(self, flow_run: FlowRun) -> None:  # internal
        # Prefect 3.9's worker writes Pending, then Submitting (a Pending state of another name, for
        # the UI), then starts the process: a server write on every run's way to Running, while the
        # fork takes milliseconds. Runs go Pending -> Running, as before Prefect 3.9.
        return None

    async def _give_worker_labels_to_flow_run(self, flow_run_id: Any) -> None:  # internal
        # Off the run's way to Running (a server call, 0.24 s median under load): the labels name the
        # worker and so the PC (api/supervision/silent_pcs.py), which nothing needs before it runs.
        self._runs_task_group.start_soon(self._label, flow_run_id)

    async def _label(self, flow_run_id: Any) -> None:
        try:
            await super()._give_worker_labels_to_flow_run(flow_run_id)
        except Exception as error:  # the run goes on; the dead-PC rule then goes by its phone's PC
            self._logger.warning("could not label flow run %s with this worker (%s)", flow_run_id, error)

    async def run(self, flow_run: FlowRun, configuration: ProcessJobConfiguration,
                  task_status: Optional[anyio.abc.TaskStatus[int]] = None) -> ProcessWorkerResult:
        objects = await self._checked_objects(flow_run)
        self.unrecorded.started(flow_run.id)
        self._running.add(flow_run.id)
        try:
            return await self._run(flow_run, configuration, task_status, objects)
        finally:  # if Prefect did not take the run's end (a full disk), it is settled later
            # Even when its end event came: Prefect publishes a state's event before the write commits.
            self.unrecorded.ended(flow_run.id)
            try:
                # Before the phone's next run (a stopped process exits 0 too); a run whose final
                # state Prefect's events have shown already needs no read on the phone's idle path.
                if flow_run.id not in self._ended_in_prefect:
                    await self._end_stop(flow_run.id)
            finally:
                let_go = flow_run.id in self._let_go
                self._running.discard(flow_run.id)
                self._ended_in_prefect.discard(flow_run.id)
                self._let_go.discard(flow_run.id)
                # A run that let go of its phone made its poll at its end event (Wakeup). Any other's
                # slot of --limit is given back when this returns: without this poll the next run
                # would wait for the timer's.
                if not let_go:
                    self.wakeup.wake()

    async def _end_stop(self, flow_run_id: Any) -> None:
        """Prefect records a stopped run's end after its cancellation hooks, seconds after its process
        ended, and meanwhile the run still looks started: the phone's next run would seem to overlap
        it. Cancelled is written at once (Prefect keeps a run's first end time)."""
        try:
            run = await self._client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.is_cancelling():
                await self._client.set_flow_run_state(flow_run_id, Cancelled(message=run.state.message), force=True)
        except Exception as error:  # Prefect's own cancellation still ends it, later
            self._logger.warning("could not record the end of stopped flow run %s (%s)", flow_run_id, error)

    async def _checked_objects(self, flow_run: FlowRun) -> RunObjects:
        if self.guard is None:
            return await self._objects(flow_run)
        try:
            if flow_run.deployment_id is None:
                self.guard.check_run(None, None)
            objects = await self._objects(flow_run)
            self.guard.check_run(objects.flow.name, objects.deployment)
            return objects
        except DeploymentRefused as refused:
            # Raised before the run started: Prefect sets it Crashed with this reason and logs it.
            print(f"flow run {flow_run.id}: {refused}", flush=True)
            if flow_run.deployment_id is not None:
                self._client.forget(flow_run.deployment_id)  # once restored, the next run reads it again
            raise

    async def _objects(self, flow_run: FlowRun) -> RunObjects:
        # Read for the run's configuration a moment ago: these come from CachedReads.
        return RunObjects(flow_run, await self._client.read_deployment(flow_run.deployment_id),
                          await self._client.read_flow(flow_run.flow_id), self._work_pool)  # internal: _work_pool

    async def _run(self, flow_run: FlowRun, configuration: ProcessJobConfiguration,
                   task_status: Optional[anyio.abc.TaskStatus[int]], objects: RunObjects) -> ProcessWorkerResult:
        if configuration._command_configured:  # internal; a custom command must be exec'ed: Prefect's way
            return await super().run(flow_run, configuration, task_status)
        task_status = task_status or anyio.TASK_STATUS_IGNORED
        # The rest mirrors ProcessWorker.run, with the fork starter in place of the workspace starter.
        workdir = configuration.working_dir
        with contextlib.nullcontext(workdir) if workdir else tempfile.TemporaryDirectory(suffix="prefect") as directory:
            executors = await self._executors.current()
            starter = ForkStarter(self._context, self._worker_alive, Path(directory).resolve(), configuration.env,
                                  configuration.stream_output, executors.control_channel, objects)
            executor = executors.create_executor(flow_run, starter, propose_submitting=False, hook_runner=self._hooks)
            execution = None

            async def execute(*, task_status: anyio.abc.TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
                nonlocal execution
                execution = await executor.submit(task_status=task_status)

            async with anyio.create_task_group() as group:
                handle = await group.start(execute)
                task_status.started(handle.pid)
        if execution is None or execution.status_code is None:
            raise RuntimeError("Failed to start flow run process.")
        return ProcessWorkerResult(status_code=execution.status_code, identifier=str(execution.handle.pid))


# --- entry ---------------------------------------------------------------------------------------


async def _serve(worker: FastProcessWorker, heartbeat: Optional[Path] = None) -> None:
    """`prefect worker start` without the CLI: the first SIGTERM/SIGINT stops the worker (its runs
    are killed and end Crashed, as with the stock worker); a second one kills it at once."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if task.cancelling():
            os.kill(os.getpid(), signal.SIGKILL)
        print(f"Stopping worker {worker.name!r}...", flush=True)
        task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    helpers = [asyncio.create_task(worker.unrecorded.settle_forever()),
               asyncio.create_task(worker.wakeup.run())]
    if worker.served_phones is not None:
        helpers.append(asyncio.create_task(worker.keep_serving_own_phones()))
    if heartbeat is not None:
        helpers.append(asyncio.create_task(beat_forever(heartbeat)))
    try:
        await worker.start(printer=lambda *a, **k: print(*a, **k, flush=True))
    except asyncio.CancelledError:
        print(f"Worker {worker.name!r} stopped!", flush=True)
    finally:
        for helper in helpers:
            helper.cancel()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.fast_worker", description=(
        "Serve a Prefect process work pool, forking flow runs from a warm forkserver. Polls when "
        "Prefect's event stream says a run was scheduled or ended, and every PREFECT_WORKER_QUERY_SECONDS; "
        "needs PREFECT_API_URL, as `prefect worker start` does."))
    parser.add_argument("--pool", required=True, help="the work pool (type process) to serve")
    parser.add_argument("--name", help="the worker's name in Prefect")
    parser.add_argument("--limit", type=int, help="flow runs at once, at most (the pool's concurrency limit and, with "
                                                  "--pc, this PC's phones bound them too, followed while it runs)")
    parser.add_argument("--work-queue", action="append", help="serve only this queue (repeatable)")
    parser.add_argument("--pc", help="serve only the queues of the phones this PC's adb server sees "
                                     "(PHONEFARM_ADB_HOST/PORT), reported to the farm under this name")
    parser.add_argument("--preload", action="append",
                        help=f"module with the deployments' flows (repeatable; default: {' '.join(FARM_FLOW_MODULES)})")
    parser.add_argument("--heartbeat", type=Path, help="touch this file every second while the event loop turns")
    args = parser.parse_args(argv)
    settings = WorkerSettings()
    try:
        load_every_app(settings.selectors_dir)  # an operator's selector file is data validated at start-up
    except SelectorFileError as error:
        parser.exit(2, f"worker not started: wrong selector file {error}\n")
    prefect_compat.install()
    served = None
    if args.pc:
        server = AdbServer(settings.adb_host, settings.adb_port)
        guards = HealthGuards(settings.guard_min_battery_percent, settings.guard_max_temperature_c,
                              settings.guard_min_free_storage_mb)
        served = ServedPhones(args.pc, server, silence_seconds=settings.pc_silence_seconds,
                              health=HealthReadings(partial(read_health_if_idle, server, locks_dir=settings.phone_locks_dir),
                                                    guards, settings.health_interval_seconds))
    worker = FastProcessWorker(work_pool_name=args.pool, name=args.name, limit=args.limit,
                               work_queues=args.work_queue, preload=args.preload or FARM_FLOW_MODULES,
                               served_phones=served)
    asyncio.run(_serve(worker, args.heartbeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
