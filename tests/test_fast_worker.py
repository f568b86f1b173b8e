"""flows.fast_worker: the Prefect internals it is pinned to, and end-to-end runs on a Prefect server of
its own (a run and its logs, start latency, cancel, crash, the worker's death and stop, the preload)."""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
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


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed run can wait a moment for its forkserver to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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

    def __init__(self, api: str):
        self.api = api
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs):
        for attempt in range(20):  # SQLite answers 503 "database is locked" under load: retry, as Prefect's client does
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
def prefect(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    out = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=clean_env(PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false"),
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    out.close()
    api = Prefect(f"http://127.0.0.1:{port}/api")

    def healthy() -> bool:
        assert server.poll() is None, (home / "server.log").read_text()
        try:
            return api.http.get(f"{api.api}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, 90, lambda: (home / "server.log").read_text()[-3000:])
        yield api
    finally:
        stop(server)


class Worker:
    """`python -m flows.fast_worker` serving one pool, its output in a file."""

    def __init__(self, api: str, pool: str, directory: Path):
        self.log = directory / f"{pool}-worker.log"
        out = open(self.log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.fast_worker", "--pool", pool, "--limit", "4", "--name", f"{pool}-worker",
             "--preload", "tests.fast_worker_flows"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(directory / "worker-home"),
                          PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="1"),
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

    def start(pool: str) -> tuple[Worker, dict[str, str]]:
        deployments = prefect.create_pool(pool)
        started.append(Worker(prefect.api, pool, directory))
        return started[-1], deployments

    yield start
    for worker in started:
        stop(worker.process)


@pytest.fixture(scope="module")
def farm_pool(workers):
    """The worker most tests share."""
    return workers("fast")


def report_of(path: Path, timeout: float = 60) -> dict:
    """What a test flow wrote about its process, once its code runs."""
    return wait_until(lambda: path.exists() and json.loads(path.read_text()), timeout, lambda: f"no {path}")


# --- Prefect internals (private modules and attributes) the worker relies on ---------------------


def test_prefect_is_the_version_the_worker_is_pinned_to():
    import prefect

    from flows.fast_worker import PREFECT_VERSION

    assert prefect.__version__ == PREFECT_VERSION == "3.9.1", "re-check every test below before moving the pin"


def test_prefect_internals_the_worker_uses_are_there():
    import atexit
    import threading

    import prefect.flow_engine
    from prefect.context import refresh_global_settings_context
    from prefect.runner._control_channel import ControlChannel
    from prefect.runner._flow_run_executor import FlowRunExecutor, FlowRunExecutorContext, ProcessStarter
    from prefect.runner._hook_runner import HookRunner
    from prefect.runner._process_manager import ProcessHandle, ProcessTerminationScope
    from prefect.runner._workspace_resolver import PreparedWorkspace, prepare_workspace_for_flow_run
    from prefect.runner._workspace_starter import workspace_environment
    from prefect.workers.process import ProcessJobConfiguration, ProcessWorker

    from flows.fast_worker import _Forked, _SessionScope

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
    assert all(hasattr(_SessionScope, name) for name in protocol)
    forked = _Forked(os.getpid())
    handle = ProcessHandle(forked, termination_scope=_SessionScope())
    assert (handle.pid, handle.returncode, handle.is_alive()) == (os.getpid(), None, True)
    forked.returncode = -9
    assert handle.returncode == -9
    # What the child runs: the pull steps, the workspace's PYTHONPATH, the engine's runtime entrypoint.
    assert inspect.iscoroutinefunction(prepare_workspace_for_flow_run)
    assert parameters(prepare_workspace_for_flow_run) == ["flow_run_id", "workspace_root"]
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
    # The interpreter's exit steps the child runs before multiprocessing's os._exit.
    assert callable(threading._shutdown) and callable(atexit._run_exitfuncs)


def test_the_worker_registers_as_fast_process_and_leaves_process_to_the_stock_worker():
    from prefect.utilities.dispatch import lookup_type
    from prefect.workers.base import BaseWorker
    from prefect.workers.process import ProcessWorker

    from flows.fast_worker import FastProcessWorker

    assert lookup_type(BaseWorker, "fast-process") is FastProcessWorker
    assert lookup_type(BaseWorker, "process") is ProcessWorker
    assert FastProcessWorker.type == "process"  # it serves process pools without a type mismatch


def test_the_worker_refuses_another_prefect_version(monkeypatch):
    import prefect

    from flows.fast_worker import FastProcessWorker

    monkeypatch.setattr(prefect, "__version__", "3.9.2")
    with pytest.raises(RuntimeError, match="relies on Prefect 3.9.1 internals"):
        FastProcessWorker(work_pool_name="unused")


def test_the_preload_probe_fails_where_nothing_was_preloaded():
    from flows import forked_run

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
    messages = lambda: [log["message"] for log in prefect.logs(run_id)]  # noqa: E731
    wait_until(lambda: "message: hello from a fork" in messages(), 15, messages)
    assert "Running 1 deployment pull step(s)" in messages()
    facts = json.loads(report.read_text())
    assert facts["cwd"] == str(REPO)  # set_working_directory ran in the run's process
    # Forked by the forkserver (not the worker), which had imported the flows' module and
    # flows.forked_run (and with it Prefect's flow engine) before the fork: nothing was re-imported.
    forkserver = facts["ppid"]
    assert forkserver != worker.process.pid and forkserver != facts["pid"]
    assert b"multiprocessing.forkserver" in Path(f"/proc/{forkserver}/cmdline").read_bytes()
    assert facts["flows_preloaded_in"] == facts["forked_run_loaded_in"] == forkserver
    assert run["infrastructure_pid"].endswith(str(facts["pid"]))


def test_create_to_running_is_measured(prefect, farm_pool):
    """Printed, not asserted (run with -s): from creating a run to Running and to the flow's first line."""
    _, deployments = farm_pool
    to_running, to_first_line = [], []
    for number in range(5):
        run_id = prefect.create_run(deployments["log_flow"], message=f"latency {number}")
        run = prefect.wait_final(run_id)
        assert run["state_type"] == "COMPLETED", run["state"]
        created = datetime.fromisoformat(run["created"])
        to_running.append((datetime.fromisoformat(run["start_time"]) - created).total_seconds())
        first = wait_until(lambda: [log for log in prefect.logs(run_id) if log["message"].startswith("message:")],
                           15, lambda: f"no flow log for {run_id}")[0]
        to_first_line.append((datetime.fromisoformat(first["timestamp"]) - created).total_seconds())
    print(f"\nfast worker, 1-s polling: create->running {[round(s, 2) for s in to_running]} "
          f"(median {statistics.median(to_running):.2f} s); create->first flow log line median "
          f"{statistics.median(to_first_line):.2f} s")


def test_cancelling_a_running_run_kills_its_process(prefect, farm_pool, tmp_path):
    _, deployments = farm_pool
    report = tmp_path / "report.json"
    run_id = prefect.create_run(deployments["sleep_flow"], seconds=120, report=str(report))
    pid = report_of(report)["pid"]
    started = time.monotonic()
    prefect.cancel(run_id)
    run = prefect.wait_final(run_id, timeout=45)
    assert run["state_type"] == "CANCELLED", run["state"]
    wait_until(lambda: not running(pid), 10, lambda: f"run process {pid} still running after its cancel")
    print(f"\ncancel -> Cancelled and process gone in {time.monotonic() - started:.1f} s")


def test_a_killed_run_is_crashed(prefect, farm_pool, tmp_path):
    _, deployments = farm_pool
    report = tmp_path / "report.json"
    run_id = prefect.create_run(deployments["sleep_flow"], seconds=120, report=str(report))
    os.kill(report_of(report)["pid"], signal.SIGKILL)
    run = prefect.wait_final(run_id, timeout=30)
    assert run["state_type"] == "CRASHED", run["state"]
    assert "-9" in run["state"]["message"]


def test_runs_die_with_their_worker(prefect, workers, tmp_path):
    worker, deployments = workers("fast-killed")
    reports = [tmp_path / f"report-{n}.json" for n in range(2)]
    for report in reports:
        prefect.create_run(deployments["sleep_flow"], seconds=120, report=str(report))
    pids = [report_of(report)["pid"] for report in reports]
    forkserver = report_of(reports[0])["ppid"]
    killed = time.monotonic()
    os.kill(worker.process.pid, signal.SIGKILL)
    wait_until(lambda: not any(running(pid) for pid in pids), 5,
               lambda: f"runs {[pid for pid in pids if running(pid)]} outlived their worker")
    print(f"\nworker SIGKILLed: its runs were gone {time.monotonic() - killed:.2f} s later")
    wait_until(lambda: not running(forkserver), 10, lambda: f"forkserver {forkserver} outlived its worker")


def test_sigterm_stops_the_worker_and_its_runs(prefect, workers, tmp_path):
    worker, deployments = workers("fast-stopped")
    report = tmp_path / "report.json"
    run_id = prefect.create_run(deployments["sleep_flow"], seconds=120, report=str(report))
    pid = report_of(report)["pid"]
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(45) == 0, worker.output()
    assert "stopped!" in worker.output()
    assert not running(pid)
    # As with the stock worker, a run its worker stopped is Crashed.
    assert prefect.wait_final(run_id, timeout=30)["state_type"] == "CRASHED"


def test_a_worker_whose_preload_fails_does_not_start(prefect, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flows.fast_worker", "--pool", "never-served", "--preload", "no_such_flows_module"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env=clean_env(PREFECT_API_URL=prefect.api, PREFECT_HOME=str(tmp_path / "home")),
    )
    assert result.returncode != 0
    assert "No module named 'no_such_flows_module'" in result.stdout + result.stderr
