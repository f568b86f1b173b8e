"""worker.fast_worker: the Prefect internals it is pinned to, and runs of its own flows on the session's
Prefect server (a run and its logs from the preloaded forkserver, a crash, a failing preload). The farm's
tests cover the rest with this worker: cancel (stop), the worker's death and a service stop."""

from __future__ import annotations

import inspect
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
FLOWS = "tests/fast_worker_flows.py"


def wait_until(condition: Callable[[], object], timeout: float, what: Callable[[], str]):
    """Poll `condition` until it returns something truthy; fail with `what()` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {what()}")
        time.sleep(0.05)


def clean_env(**extra: str) -> dict[str, str]:
    """No developer profile or farm setting leaks into the server or the workers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM its process group, then SIGKILL whatever is left of it."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


class Prefect:
    """The REST calls the tests need, on a server started for this module."""

    def __init__(self, api: str, auth: str):
        self.api = api
        self.auth = auth
        self.http = requests.Session()
        self.http.auth = tuple(auth.split(":", 1))

    def call(self, method: str, path: str, **kwargs):
        for _attempt in range(20):  # SQLite answers 503 "database is locked" under load: retry, as Prefect's client does
            response = self.http.request(method, f"{self.api}{path}", timeout=30, **kwargs)
            if response.status_code != 503:
                break
            time.sleep(0.5)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    def create_pool(self, name: str) -> dict[str, str]:
        """A throw-away process pool, with the two test flows deployed on it the way prefect.yaml
        deploys the farm's flows: an entrypoint in this checkout and a set_working_directory pull step."""
        from prefect.workers.process import ProcessWorker

        self.call("POST", "/work_pools/", json={
            "name": name, "type": "process", "base_job_template": ProcessWorker.get_default_base_job_template()})
        deployments = {}
        for flow_name, function in [("fast-worker-sleep", "sleep_flow"), ("fast-worker-log", "log_flow")]:
            flow_id = self.call("POST", "/flows/", json={"name": flow_name})["id"]
            deployments[function] = self.call("POST", "/deployments/", json={
                "name": name, "flow_id": flow_id, "entrypoint": f"{FLOWS}:{function}", "work_pool_name": name,
                "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}],
            })["id"]
        return deployments

    def create_run(self, deployment_id: str, **parameters) -> str:
        return self.call("POST", f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters})["id"]

    def run(self, run_id: str) -> dict:
        return self.call("GET", f"/flow_runs/{run_id}")

    def wait_final(self, run_id: str, timeout: float = 60) -> dict:
        return wait_until(lambda: (run := self.run(run_id))["state_type"] in FINAL and run, timeout,
                          lambda: f"run {run_id} still {self.run(run_id)['state_name']}")

    def logs(self, run_id: str) -> list[dict]:
        return self.call("POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC"})

    def cancel(self, run_id: str) -> None:
        self.call("POST", f"/flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLING", "name": "Cancelling"}})


@pytest.fixture(scope="module")
def prefect(service):
    """The session's Prefect server (it wants its auth string); pools and flows of these tests' own."""
    return Prefect(service.prefect_api, service.prefect_auth)


class Worker:
    """`python -m worker.fast_worker` serving one pool, its output in a file."""

    def __init__(self, prefect: Prefect, pool: str, directory: Path, query_seconds: float = 1):
        self.log = directory / f"{pool}-worker.log"
        out = open(self.log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.fast_worker", "--pool", pool, "--limit", "4", "--name", f"{pool}-worker",
             "--preload", "tests.fast_worker_flows"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=clean_env(PREFECT_API_URL=prefect.api, PREFECT_API_AUTH_STRING=prefect.auth,
                          PREFECT_HOME=str(directory / "worker-home"),
                          PREFECT_WORKER_QUERY_SECONDS=str(query_seconds), PREFECT_WORKER_PREFETCH_SECONDS="1"),
        )
        out.close()
        wait_until(self._started, 90, self.output)

    def _started(self) -> bool:
        assert self.process.poll() is None, f"worker exited with {self.process.returncode}:\n{self.output()}"
        return "started!" in self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture(scope="module")
def workers(prefect, tmp_path_factory):
    """Starts workers on pools of their own; stops them (and so their runs) at the end."""
    directory = tmp_path_factory.mktemp("workers")
    started: list[Worker] = []

    def start(pool: str, query_seconds: float = 1) -> tuple[Worker, dict[str, str]]:
        deployments = prefect.create_pool(pool)
        started.append(Worker(prefect, pool, directory, query_seconds))
        return started[-1], deployments

    yield start
    for worker in started:
        stop(worker.process)


@pytest.fixture(scope="module")
def farm_pool(workers):
    """The worker most tests share."""
    return workers(f"fast-{uuid.uuid4().hex[:8]}")


def report_of(path: Path, timeout: float = 60) -> dict:
    """What a test flow wrote about its process, once its code runs."""
    return wait_until(lambda: path.exists() and json.loads(path.read_text()), timeout, lambda: f"no {path}")


# --- Prefect internals (private modules and attributes) the worker relies on ---------------------


def test_prefect_is_the_version_the_worker_is_pinned_to():
    import prefect

    from worker.fast_worker import PREFECT_VERSION

    assert prefect.__version__ == PREFECT_VERSION == "3.9.1", "re-check every test below before moving the pin"


def test_prefect_internals_the_worker_uses_are_there():
    import atexit
    import threading

    import prefect.flow_engine
    from prefect import _flow_run_suspension
    from prefect.context import refresh_global_settings_context
    from prefect.flow_engine import BaseFlowRunEngine
    from prefect.runner._control_channel import ControlChannel
    from prefect.runner._flow_run_executor import FlowRunExecutor, FlowRunExecutorContext, ProcessStarter
    from prefect.runner._hook_runner import HookRunner
    from prefect.runner._process_manager import ProcessHandle, ProcessTerminationScope
    from prefect.events import related
    from prefect.runner._workspace_resolver import PreparedWorkspace, prepare_workspace, prepare_workspace_for_flow_run
    from prefect.runner._workspace_starter import workspace_environment
    from prefect.workers.base import BaseJobConfiguration, BaseWorker
    from prefect.workers.process import ProcessJobConfiguration, ProcessWorker

    from worker import forked_run
    from worker.fork_starter import Forked, SessionScope

    def parameters(function) -> list[str]:
        return list(inspect.signature(function).parameters)

    # The executor context: its control channel, and an executor built from a starter and a hook runner.
    assert "self.control_channel = ControlChannel()" in inspect.getsource(FlowRunExecutorContext.__aenter__)
    assert parameters(FlowRunExecutorContext.create_executor) == [
        "self", "flow_run", "starter", "resolve_flow", "propose_submitting", "hook_runner"]
    assert parameters(ProcessStarter.start) == ["self", "flow_run", "task_status"]
    # The executor reads the handle's exit code once the starter returned; a crash is a non-zero one.
    assert "exit_code = handle.returncode" in inspect.getsource(FlowRunExecutor.submit)
    assert parameters(ControlChannel.register) == ["self", "flow_run_id"]
    assert parameters(ControlChannel.unregister) == ["self", "flow_run_id"]
    assert parameters(HookRunner) == ["resolve_flow"]
    # A ProcessHandle over the worker's own stand-in for a process, and its termination scope.
    protocol = {name for name in [*vars(ProcessTerminationScope), *ProcessTerminationScope.__annotations__]
                if not name.startswith("_")}
    assert protocol == {"wait_after_graceful_kill", "is_alive", "graceful_kill", "hard_kill", "close"}
    assert all(hasattr(SessionScope, name) for name in protocol)
    forked = Forked(os.getpid())
    handle = ProcessHandle(forked, termination_scope=SessionScope())
    assert (handle.pid, handle.returncode, handle.is_alive()) == (os.getpid(), None, True)
    forked.returncode = -9
    assert handle.returncode == -9
    # What the child runs: the pull steps, the workspace's PYTHONPATH, the engine's runtime entrypoint.
    # The child is handed the run and deployment the worker read (worker.run_objects): Prefect's own
    # entry reads both, then prepares the workspace with them.
    assert inspect.iscoroutinefunction(prepare_workspace)
    assert parameters(prepare_workspace) == ["client", "flow_run", "deployment", "workspace_root"]
    assert "return await prepare_workspace(client, flow_run, deployment, workspace_root)" in inspect.getsource(
        prepare_workspace_for_flow_run)
    # ...and fills the cache the event emitter reads a run's flow, deployment, queue and pool from.
    getter = inspect.getsource(related._get_and_cache_related_object)
    assert 'cache_key = f"{kind}.{obj_id}"' in getter and "entry, _ = cache[cache_key]" in getter
    emitter = inspect.getsource(related.related_resources_from_run_context)
    for kind, key in [("flow", "flow_run.flow_id"), ("deployment", "flow_run.deployment_id"),
                      ("work-queue", "flow_run.work_queue_id"), ("work-pool", "flow_run.work_pool_name")]:
        assert f'kind="{kind}"' in emitter and f"obj_id={key}," in emitter
    assert "cache=RESOURCE_CACHE" in emitter and isinstance(related.RESOURCE_CACHE, dict)
    workspace = PreparedWorkspace(workspace_root=REPO, working_directory=REPO, runtime_entrypoint=f"{FLOWS}:log_flow",
                                  environment={}, sys_path=[])
    assert workspace_environment(workspace)["PYTHONPATH"].split(os.pathsep)[0] == str(REPO)
    assert parameters(prefect.flow_engine._main) == ["argv"]
    assert "PREFECT__FLOW_RUN_ID" in inspect.getsource(prefect.flow_engine._main)
    assert parameters(refresh_global_settings_context) == []
    # The worker side: the stock run() it mirrors, and how it tells a configured command.
    assert parameters(ProcessWorker.run) == ["self", "flow_run", "configuration", "task_status"]
    assert "_command_configured" in ProcessJobConfiguration.__private_attributes__
    assert "ctx.create_executor(" in inspect.getsource(ProcessWorker.run)
    # A PC's worker serves its phones' queues by setting the queues a worker polls; an empty set
    # would mean every queue (FastProcessWorker.get_and_submit_flow_runs then polls nothing).
    polls = inspect.getsource(BaseWorker._get_scheduled_flow_runs)
    assert "work_queue_names=list(self._work_queues)" in polls
    assert "self._work_queues: set[str]" in inspect.getsource(BaseWorker.__init__)
    # The run's suspension observer, replaced in the forkserver (worker.forked_run).
    assert parameters(forked_run._unobserved) == ["flow_run_id", "suspension_request", "polling_interval"]
    assert parameters(_flow_run_suspension.observe_flow_run_suspension) == parameters(forked_run._unobserved)
    assert "observe_flow_run_suspension(" in inspect.getsource(BaseFlowRunEngine.setup_flow_run_suspension_request)
    assert prefect.flow_engine.observe_flow_run_suspension is forked_run._unobserved
    # ...and the heartbeat thread, which Prefect joins after the final state (up to a second).
    assert parameters(forked_run.ORIGINAL_SEND_HEARTBEATS) == ["engine", "join_on_exit"]
    assert parameters(forked_run._no_heartbeats) == ["engine", "join_on_exit"]
    assert "with _send_heartbeats(self):" in inspect.getsource(prefect.flow_engine.FlowRunEngine.run_context)
    assert "thread.join(timeout=2)" in inspect.getsource(inspect.unwrap(forked_run.ORIGINAL_SEND_HEARTBEATS))
    assert prefect.flow_engine._send_heartbeats is forked_run._no_heartbeats
    # The fetched runs the worker filters (QueueTurns) before the base submits them; a run is
    # submitting until run() was entered, then running until it returns.
    assert parameters(BaseWorker._submit_scheduled_flow_runs) == ["self", "flow_run_response"]
    submit = inspect.getsource(BaseWorker._submit_run)
    assert submit.index("self._runs_task_group.start(") < submit.rindex("self._submitting_flow_run_ids.remove(flow_run.id)")
    assert "self._release_limit_slot(flow_run.id)" in inspect.getsource(BaseWorker._submit_run_and_capture_errors)
    # Submitting, skipped (FastProcessWorker._propose_submitting_state): proposed there, before run().
    capture = inspect.getsource(BaseWorker._submit_run_and_capture_errors)
    assert capture.index("await self._propose_submitting_state(flow_run)") < capture.index("await self.run(")
    assert parameters(BaseWorker._propose_submitting_state) == ["self", "flow_run"]
    # Every worker call goes through self._client, set in setup (wrapped in CachedReads after it);
    # a run's configuration reads its deployment and flow through the client it is given.
    assert "self._client = get_client()" in inspect.getsource(BaseWorker.setup)
    # The pool the worker polls, handed to its runs (worker.run_objects).
    assert "self._work_pool: Optional[WorkPool] = None" in inspect.getsource(BaseWorker.__init__)
    resolve = inspect.getsource(BaseJobConfiguration.resolve_for_flow_run)
    assert "await client.read_deployment(flow_run.deployment_id)" in resolve and "await client.read_flow(" in resolve
    assert "client=self.client," in inspect.getsource(BaseWorker._submit_run_and_capture_errors)
    # One executor context serves every run (FastProcessWorker.setup), as the Runner's does.
    assert "self._observer.add_in_flight_flow_run_id(flow_run_id)" in inspect.getsource(FlowRunExecutorContext.__aenter__)
    assert "self.control_channel.unregister(flow_run_id)" in inspect.getsource(FlowRunExecutorContext.__aenter__)
    # ...until its cancellation observer gives up; the worker then opens another for later runs
    # (worker.executors).
    assert "self._handle_cancellation_observer_failure(" in inspect.getsource(FlowRunExecutorContext.__aenter__)
    assert parameters(FlowRunExecutorContext._handle_cancellation_observer_failure) == ["self", "flow_run_ids"]
    # The interpreter's exit steps the child runs before multiprocessing's os._exit.
    assert callable(threading._shutdown) and callable(atexit._run_exitfuncs)


def test_prefect_clients_share_one_tls_context_once_told_to():
    """worker.prefect_tls replaces the `ssl` Prefect's client module builds each client's context with."""
    import certifi
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    from worker import prefect_tls

    for client_class in (PrefectClient, SyncPrefectClient):
        assert "ctx = ssl.create_default_context(cafile=cert_file)" in inspect.getsource(client_class.__init__)
    for module in prefect_tls.PREFECT_MODULES:
        assert "ssl.create_default_context(cafile=cert_file)" in inspect.getsource(module)
        assert module.ssl.__name__ == "ssl"
    prefect_tls.share_tls_contexts()
    before = prefect_tls.verifying_context.cache_info()
    PrefectClient("http://127.0.0.1:9/api")
    SyncPrefectClient("http://127.0.0.1:9/api")
    after = prefect_tls.verifying_context.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)  # built by share_tls_contexts
    assert prefect_tls.verifying_context(certifi.where()).verify_mode == ssl.CERT_REQUIRED
    # Only the verifying contexts are shared: the insecure path changes the one it is given.
    assert prefect_tls.SHARED_SSL.create_default_context() is not prefect_tls.SHARED_SSL.create_default_context()


def test_a_run_process_finds_what_the_worker_read_of_its_run_in_the_event_emitters_cache():
    """The first event of a task run names the run's flow, deployment, work queue and pool: in a
    forked run they come from what the worker handed over (worker.run_objects), not from the server."""
    import asyncio
    from datetime import datetime, timezone

    from prefect.client.schemas.objects import Flow, FlowRun
    from prefect.client.schemas.responses import DeploymentResponse
    from prefect.client.schemas.worker_channel import WorkPoolSnapshot
    from prefect.events import related

    from worker.run_objects import RunObjects, remember_related

    flow = Flow(name="run-task")
    deployment = DeploymentResponse(name="task", flow_id=flow.id, created=datetime.now(timezone.utc))
    pool = WorkPoolSnapshot(name="phone-farm", type="process", id=uuid.uuid4(), base_job_template={}, is_paused=False,
                            storage_configuration={}, default_queue_id=uuid.uuid4())
    run = FlowRun(flow_id=flow.id, deployment_id=deployment.id, work_queue_id=uuid.uuid4(), work_queue_name="device-1")
    remember_related(RunObjects(run, deployment, flow, pool))

    async def never(key):
        raise AssertionError(f"read {key} from the server")

    async def found(kind, key):
        entry = await related._get_and_cache_related_object(kind, kind, never, key, related.RESOURCE_CACHE)
        return entry["object"]

    # Keyed as the engine asks, with the run it read (which names its pool).
    assert asyncio.run(found("flow", run.flow_id)) is flow
    assert asyncio.run(found("deployment", run.deployment_id)) is deployment
    assert asyncio.run(found("work-pool", "phone-farm")) is pool
    queue = asyncio.run(found("work-queue", run.work_queue_id))
    assert (queue.id, queue.name, queue.work_pool_id) == (run.work_queue_id, "device-1", pool.id)


def test_the_worker_registers_as_fast_process_and_leaves_process_to_the_stock_worker():
    from prefect.utilities.dispatch import lookup_type
    from prefect.workers.base import BaseWorker
    from prefect.workers.process import ProcessWorker

    from worker.fast_worker import FastProcessWorker

    assert lookup_type(BaseWorker, "fast-process") is FastProcessWorker
    assert lookup_type(BaseWorker, "process") is ProcessWorker
    assert FastProcessWorker.type == "process"  # it serves process pools without a type mismatch


def test_an_executor_context_whose_cancellation_observer_gave_up_is_replaced_for_later_runs(monkeypatch):
    import asyncio
    import logging

    from worker import executors

    given_up = executors.ExecutorContext()
    given_up._logger = logging.getLogger("test")  # set by __aenter__
    given_up._handle_cancellation_observer_failure({uuid.uuid4()})  # what the observer calls
    assert given_up.observer_failed

    events: list[tuple[str, int]] = []

    class Context:  # stands in for Prefect's: entered and exited in the same task, or anyio fails
        observer_failed = False

        async def __aenter__(self):
            self.task = asyncio.current_task()
            events.append(("entered", id(self)))
            return self

        async def __aexit__(self, *exc_info):
            assert asyncio.current_task() is self.task
            events.append(("exited", id(self)))

    monkeypatch.setattr(executors, "ExecutorContext", Context)

    async def scenario():
        contexts = executors.Executors()
        first = await contexts.current()
        assert await contexts.current() is first
        first.observer_failed = True
        second = await contexts.current()
        assert second is not first
        assert ("exited", id(first)) not in events  # its runs still need it
        await contexts.close()
        assert events == [("entered", id(first)), ("entered", id(second)),
                          ("exited", id(first)), ("exited", id(second))]

    asyncio.run(scenario())


def test_the_worker_refuses_another_prefect_version(monkeypatch):
    import prefect

    from worker.fast_worker import FastProcessWorker

    monkeypatch.setattr(prefect, "__version__", "3.9.2")
    with pytest.raises(RuntimeError, match="relies on Prefect 3.9.1 internals"):
        FastProcessWorker(work_pool_name="unused")


def test_a_preloaded_flow_file_is_named_as_its_module_which_prefect_imports_as_it_is():
    """Prefect 3.9's import_object takes "module:object" from sys.modules: the run reuses the fork's copy."""
    from prefect.utilities.importtools import import_object

    from flows import run_task
    from worker import forked_run

    assert forked_run.preloaded_entrypoint("flows/run_task.py:run_task") == "flows.run_task:run_task"
    assert forked_run.preloaded_entrypoint("elsewhere/not_loaded.py:f") == "elsewhere/not_loaded.py:f"
    assert forked_run.preloaded_entrypoint("/abs/flows/run_task.py:run_task") == "/abs/flows/run_task.py:run_task"
    assert import_object("flows.run_task:run_task") is run_task.run_task


def test_the_preload_probe_fails_where_nothing_was_preloaded():
    from worker import forked_run

    with pytest.raises(SystemExit, match="no.such.module was not preloaded.*imported in the fork, not the forkserver"):
        forked_run.probe(["no.such.module"])


# --- end to end ------------------------------------------------------------------------------------


def test_a_run_completes_with_its_logs_and_pull_step_and_comes_from_the_preloaded_forkserver(
        prefect, farm_pool, tmp_path):
    worker, deployments = farm_pool
    report = tmp_path / "report.json"
    run_id = prefect.create_run(deployments["log_flow"], message="hello from a fork", report=str(report))
    run = prefect.wait_final(run_id)
    assert run["state_type"] == "COMPLETED", (run["state"], worker.output())
    # Pending -> Running: no Submitting write on the run's way (FastProcessWorker._propose_submitting_state).
    states = prefect.call("GET", "/flow_run_states/", params={"flow_run_id": run_id})
    assert [s["name"] for s in sorted(states, key=lambda s: s["timestamp"])] == ["Scheduled", "Pending", "Running", "Completed"]
    messages = lambda: [log["message"] for log in prefect.logs(run_id)]  # noqa: E731
    wait_until(lambda: "message: hello from a fork" in messages(), 15, messages)
    assert "Running 1 deployment pull step(s)" in messages()
    facts = json.loads(report.read_text())
    assert facts["cwd"] == str(REPO)  # set_working_directory ran in the run's process
    # Forked by the forkserver (not the worker), which had imported the flows' module and
    # worker.forked_run (and with it Prefect's flow engine) before the fork: nothing was re-imported.
    forkserver = facts["ppid"]
    assert forkserver != worker.process.pid and forkserver != facts["pid"]
    assert b"multiprocessing.forkserver" in Path(f"/proc/{forkserver}/cmdline").read_bytes()
    assert facts["flows_preloaded_in"] == facts["forked_run_loaded_in"] == forkserver
    # The flow came from that preloaded module: its file was not executed again in the run.
    assert (facts["flow_module"], facts["executed_afresh"]) == ("tests.fast_worker_flows", False), facts
    assert run["infrastructure_pid"].endswith(str(facts["pid"]))
    # No thread of Prefect's suspension observer (an event stream of its own for each run), nor
    # its heartbeat thread (whose target is a contextvars.Context's run).
    assert not [name for name in facts["threads"] if "observer" in name or name.endswith("(run)")], facts["threads"]


def test_a_new_run_wakes_a_worker_that_polls_rarely(prefect, workers, tmp_path):
    """Prefect's event stream says a run was scheduled, or ended and freed a slot: the worker
    fetches at once instead of at its next poll, two minutes away."""
    worker, deployments = workers(f"wake-{uuid.uuid4().hex[:8]}", query_seconds=120)
    started = time.monotonic()
    first = prefect.create_run(deployments["log_flow"], message="first", report=str(tmp_path / "first.json"))
    assert prefect.wait_final(first, timeout=30)["state_type"] == "COMPLETED", worker.output()
    second = prefect.create_run(deployments["log_flow"], message="second", report=str(tmp_path / "second.json"))
    assert prefect.wait_final(second, timeout=30)["state_type"] == "COMPLETED", worker.output()
    assert time.monotonic() - started < 60, "the runs waited for the worker's poll"


def test_a_killed_run_is_crashed(prefect, farm_pool, tmp_path):
    _, deployments = farm_pool
    report = tmp_path / "report.json"
    run_id = prefect.create_run(deployments["sleep_flow"], seconds=120, report=str(report))
    os.kill(report_of(report)["pid"], signal.SIGKILL)
    run = prefect.wait_final(run_id, timeout=30)
    assert run["state_type"] == "CRASHED", run["state"]
    assert "-9" in run["state"]["message"]


def test_a_worker_whose_preload_fails_does_not_start(prefect, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "worker.fast_worker", "--pool", "never-served", "--preload", "no_such_flows_module"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env=clean_env(PREFECT_API_URL=prefect.api, PREFECT_API_AUTH_STRING=prefect.auth,
                      PREFECT_HOME=str(tmp_path / "home")),
    )
    assert result.returncode != 0
    assert "No module named 'no_such_flows_module'" in result.stdout + result.stderr
