"""worker.fast_worker's runs of its own flows on the session's Prefect server (a run and its logs from the
preloaded forkserver, a crash, a failing preload). The Prefect internals it is pinned to are checked without a
server (tests/unit/test_prefect_compat.py); the farm's tests cover the rest with this worker: cancel (stop),
the worker's death and a service stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.harness import until

REPO = Path(__file__).resolve().parent.parent
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
FLOWS = "tests/fast_worker_flows.py"


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
        for flow_name, function in [("fast-worker-sleep", "sleep_flow"), ("fast-worker-log", "log_flow"),
                                    ("fast-worker-slow-exit", "slow_exit_flow")]:
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
        return until(lambda: self.run(run_id), timeout, lambda run: f"run {run_id} still {run['state_name']} after {timeout} s",
                     interval=0.05, accept=lambda run: run["state_type"] in FINAL)

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

    def __init__(self, prefect: Prefect, pool: str, directory: Path, query_seconds: float = 1, limit: int = 4):
        self.log = directory / f"{pool}-worker.log"
        out = open(self.log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.fast_worker", "--pool", pool, "--limit", str(limit), "--name", f"{pool}-worker",
             "--preload", "tests.fast_worker_flows"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=clean_env(PREFECT_API_URL=prefect.api, PREFECT_API_AUTH_STRING=prefect.auth,
                          PREFECT_HOME=str(directory / "worker-home"),
                          PREFECT_WORKER_QUERY_SECONDS=str(query_seconds), PREFECT_WORKER_PREFETCH_SECONDS="1"),
        )
        out.close()
        try:
            until(self._started, 90, lambda _: f"worker not started after 90 s:\n{self.output()}", interval=0.05)
        except BaseException:
            stop(self.process)  # a worker that never started is nobody's to stop later
            raise

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

    def start(pool: str, query_seconds: float = 1, limit: int = 4) -> tuple[Worker, dict[str, str]]:
        deployments = prefect.create_pool(pool)
        started.append(Worker(prefect, pool, directory, query_seconds, limit))
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
    return until(lambda: path.exists() and json.loads(path.read_text()), timeout, lambda _: f"no {path} after {timeout} s",
                 interval=0.05)


# --- end to end ------------------------------------------------------------------------------------


def test_a_run_completes_with_its_logs_and_pull_step_and_comes_from_the_preloaded_forkserver(
        prefect, farm_pool, tmp_path):
    worker, deployments = farm_pool
    report = tmp_path / "report.json"
    event = f"phonefarm.test.hello-{uuid.uuid4().hex[:8]}"
    run_id = prefect.create_run(deployments["log_flow"], message="hello from a fork", report=str(report), event=event)
    run = prefect.wait_final(run_id)
    assert run["state_type"] == "COMPLETED", (run["state"], worker.output())
    # Pending -> Running: no Submitting write on the run's way (FastProcessWorker._propose_submitting_state).
    states = prefect.call("GET", "/flow_run_states/", params={"flow_run_id": run_id})
    assert [s["name"] for s in sorted(states, key=lambda s: s["timestamp"])] == ["Scheduled", "Pending", "Running", "Completed"]
    messages = lambda: [log["message"] for log in prefect.logs(run_id)]  # noqa: E731
    until(messages, 15, lambda last: f"no hello from the fork: {last}", interval=0.05,
          accept=lambda lines: "message: hello from a fork" in lines)
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
    # The run's events go by POST /events, not over a websocket that would hold one of the SQLite server's
    # 100 request slots for the run's whole life; they arrive.
    assert facts["events_client"] == "ProcessPoolForwardingEventsClient -> EventPoster"
    until(lambda: prefect.call("POST", "/events/filter", json={"filter": {"event": {"name": [event]}}})["events"], 15,
          lambda last: f"the run's event {event} never reached Prefect: {last}\n{worker.output()}", interval=0.1)


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


def test_the_next_run_starts_while_the_previous_runs_process_still_exits(prefect, workers, tmp_path):
    """A run that wrote its own end (Completed) has let go of its phone: with --limit 1 and the same queue,
    the next run starts on that end's event, not once the process has exited (here 4 s later)."""
    worker, deployments = workers(f"exit-{uuid.uuid4().hex[:8]}", query_seconds=120, limit=1)
    exited = tmp_path / "first-exited"
    first = prefect.create_run(deployments["slow_exit_flow"], exit_seconds=4, exited=str(exited))
    assert prefect.wait_final(first, timeout=30)["state_type"] == "COMPLETED", worker.output()
    second = prefect.create_run(deployments["log_flow"], message="second")
    run = prefect.wait_final(second, timeout=30)
    assert run["state_type"] == "COMPLETED", worker.output()
    first_exit = float(until(lambda: exited.exists() and exited.read_text(), 30, lambda _: "the first run never exited"))
    assert datetime.fromisoformat(run["start_time"]).timestamp() < first_exit, (run["start_time"], first_exit)


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
