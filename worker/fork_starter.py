"""Starting a flow run as a fork of the forkserver, behind Prefect's ProcessStarter contract."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Optional

import anyio
import anyio.abc
from prefect.client.schemas.objects import FlowRun
from prefect.runner._process_manager import ProcessHandle  # internal
from prefect.settings import get_current_settings
from prefect.utilities.processutils import sanitize_subprocess_env

from worker import forked_run
from worker.run_objects import RunObjects


# Process.start() polls every running child, reading its exit status from the pipe _reap reads:
# two readers at once could split one status and leave the other EOF (exit code 255).
_PIPE_READER = threading.Lock()


def _start(process: Any) -> None:
    with _PIPE_READER:
        process.start()


def _reap(process: Any) -> int:
    with _PIPE_READER:
        code = process.exitcode
        process.close()
        return code


@dataclass
class Forked:
    """What Prefect's ProcessHandle reads of a process: its pid, and its exit code once it exited."""

    pid: int
    returncode: Optional[int] = None


class SessionScope:
    """Prefect's ProcessTerminationScope for a child that leads its own session: signal the whole
    group, or the child alone if it has not called setsid yet."""

    wait_after_graceful_kill = True

    def is_alive(self, pid: int) -> bool:
        try:
            self._signal(pid, 0)
            return True
        except ProcessLookupError:
            return False

    def _signal(self, pid: int, signum: int) -> None:
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            os.kill(pid, signum)

    def graceful_kill(self, pid: int) -> None:
        self._signal(pid, signal.SIGTERM)

    def hard_kill(self, pid: int) -> None:
        self._signal(pid, signal.SIGKILL)

    def close(self) -> None:
        pass


@dataclass
class ForkStarter:
    """Prefect's ProcessStarter contract: start the run's process, hand over its handle, return once
    it exited. Its environment is built as Prefect's EngineCommandStarter builds it."""

    context: Any
    worker_alive: Connection
    workspace_root: Path
    env: dict
    stream_output: bool
    control_channel: Any  # internal: prefect.runner._control_channel.ControlChannel
    objects: RunObjects  # what the worker read of the run, so the run does not read it again

    async def start(self, flow_run: FlowRun, task_status: anyio.abc.TaskStatus = anyio.TASK_STATUS_IGNORED) -> None:
        control: dict[str, str] = {}
        try:  # the channel tells the child "this SIGTERM is a cancel", so it ends Cancelled, not Crashed
            port, token = self.control_channel.register(flow_run.id)
            control = {"PREFECT__CONTROL_PORT": str(port), "PREFECT__CONTROL_TOKEN": token}
        except RuntimeError:
            pass  # no loopback listener: Prefect falls back to kill-only cancellation
        env = {
            **os.environ, **get_current_settings().to_environment_variables(exclude_unset=True), **self.env,
            "PREFECT__FLOW_RUN_ID": str(flow_run.id),
            "PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false",  # the worker runs them, as in Prefect
            # The worker checked the server's API version; Prefect's setting for its runs not to ask again.
            "PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED": "false",
            **control,
        }
        process = self.context.Process(target=forked_run.run, name=f"flow-run-{flow_run.id}", args=(
            replace(self.objects, flow_run=flow_run), sanitize_subprocess_env(env), str(self.workspace_root), self.stream_output, self.worker_alive))
        try:
            await anyio.to_thread.run_sync(_start, process)
        except BaseException:
            if control:
                self.control_channel.unregister(flow_run.id)
            raise
        forked = Forked(process.pid)
        task_status.started(ProcessHandle(forked, termination_scope=SessionScope()))
        # The forkserver reaps the child and writes its exit status to this pipe.
        await anyio.wait_readable(process.sentinel)
        forked.returncode = await anyio.to_thread.run_sync(_reap, process)
