"""Prefect's flow-run executor contexts, kept for the worker's life instead of opened for each run."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Optional

from prefect.runner._flow_run_executor import FlowRunExecutorContext  # internal


class ExecutorContext(FlowRunExecutorContext):  # internal
    """Prefect's executor context, telling when its cancellation observer gave up for good (its event
    stream and its polling both failed): its runs can no longer be stopped by a cancel."""

    observer_failed = False

    def _handle_cancellation_observer_failure(self, flow_run_ids: set) -> None:
        super()._handle_cancellation_observer_failure(flow_run_ids)
        self.observer_failed = True


class Executors:
    """One executor context for every run, as Prefect's Runner keeps one. ProcessWorker opens one a
    run: a client, an event emitter, a control listener and a cancellation observer's event stream for
    each, closed before the run's slot is given back (0.66 s median after Completed, measured). A new
    one once its observer gave up (a long outage), so later runs can be stopped again; the old one
    stays open for its runs (closing it kills them). Each is entered and exited in a task of its own:
    the task group inside must be."""

    def __init__(self) -> None:
        self._current: Optional[ExecutorContext] = None
        self._hosts: list[tuple[asyncio.Task, asyncio.Event]] = []
        self._opening = asyncio.Lock()

    async def current(self) -> ExecutorContext:
        async with self._opening:
            if self._current is None or self._current.observer_failed:
                ready: asyncio.Future = asyncio.get_running_loop().create_future()
                done = asyncio.Event()
                host = asyncio.create_task(self._host(ready, done), name="flow-run-executor-context")
                self._hosts.append((host, done))
                self._current = await ready
            return self._current

    async def _host(self, ready: asyncio.Future, done: asyncio.Event) -> None:
        try:
            async with ExecutorContext() as context:
                ready.set_result(context)
                await done.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise

    async def close(self) -> None:
        """After the runs' task group: whatever process a context still holds is killed, as Prefect's is."""
        for _, done in self._hosts:
            done.set()
        for host, _ in self._hosts:
            with contextlib.suppress(Exception):
                await host
        self._hosts.clear()
        self._current = None
