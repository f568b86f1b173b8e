"""A real `python -m api` process for tests: free ports, readiness loop that fails loudly, HTTP helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Optional

import requests
from prefect.client.orchestration import SyncPrefectClient

from api.supervision.procfs import descendants
from simulator.farm import SimulatedFarm
from contract.names import RECORDED_TAG
from tests import prefect_template
from tests.harness import free_port, start_adb_server, until

REPO = Path(__file__).resolve().parent.parent
FINAL = (2, 3)
OWNED_TOKEN = "owned-service-token-0123456789"  # the API token of test_destructive.py's service


def tomorrow() -> str:
    """A start time that keeps a task pending for the whole test: for tests that need no run."""
    return (datetime.now().astimezone() + timedelta(days=1)).isoformat()


class TaskClient:
    """The task API's helpers over `call(method, path, **requests_kwargs) -> (status, body)`."""

    def call(self, method: str, path: str, **kwargs) -> tuple[int, dict]:
        raise NotImplementedError

    def ok(self, method: str, path: str, **kwargs):
        status, body = self.call(method, path, **kwargs)
        assert (status, body["code"]) == (200, 0), body
        return body["data"]

    def create(self, serials: Iterable[str], targets: Iterable[str] = ("alice",), **extra) -> list[int]:
        body = {"serials": list(serials), "script_name": "follow",
                "script_config": {"target_users": list(targets)}, **extra}
        return self.ok("POST", "/task", json=body)["task_ids"]

    def health_read(self, serials: Iterable[str], timeout: float = 30) -> None:
        """Wait for the phones' first health reading by their PC's worker: a fault counted in a phone's
        commands (disconnect_after_commands) is then met by the task, not by the reading."""
        wanted = set(serials)
        until(lambda: wanted <= {d["serial"] for d in self.ok("GET", "/device")["devices"] if d["health"]}, timeout,
              f"the first health reading of {sorted(wanted)}", interval=0.5)

    def task(self, task_id: int) -> dict:
        return self.ok("GET", f"/task/{task_id}")

    def wait_for(self, task_id: int, statuses: Iterable[int] = FINAL, timeout: float = 60) -> dict:
        statuses = tuple(statuses)
        # Asked every 0.1 s: a look reads the service's index, not Prefect's database.
        return until(lambda: self.task(task_id), timeout,
                     lambda task: f"task {task_id} still {task['status_text']} after {timeout} s: {task}",
                     accept=lambda task: task["status"] in statuses)


class Service(TaskClient):
    def __init__(self, data_dir: Path, adb_port: int, *, plan: str = "Pro", extra_args: Iterable[str] = (),
                 env: Optional[dict[str, str]] = None, token: Optional[str] = None,
                 prefect_template: Optional[prefect_template.Template] = None):
        self.data_dir = data_dir
        self.prefect_template = prefect_template  # a migrated Prefect database to start from
        self.adb_port = adb_port
        self.plan = plan
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.token = token
        self.port = free_port()
        self.prefect_port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self._launching: Optional[threading.Thread] = None
        self._launch_error: Optional[Exception] = None
        self.http = requests.Session()
        if token:
            self.extra_env["PHONEFARM_API_TOKEN"] = token
            self.http.headers["Authorization"] = f"Bearer {token}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def prefect_auth(self) -> str:
        """The auth string the service made for its Prefect server (the UI login too)."""
        return (self.data_dir / "prefect" / "auth-string").read_text().strip()

    def prefect(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.prefect_api, auth_string=self.prefect_auth)

    def prefect_get(self, path: str) -> dict:
        user, _, password = self.prefect_auth.partition(":")
        return requests.get(f"{self.prefect_api}{path}", auth=(user, password), timeout=10).json()

    def _env(self) -> dict[str, str]:
        # The service must not pick up a developer's Prefect profile or farm settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_", "ANDROID_ADB"))}
        env["PHONEFARM_WORKER_LIMIT"] = "6"
        # Longer than a test's short unplug (0.5 s); a range, so a retry's log shows the draw.
        env["PHONEFARM_AUTO_RETRY_DELAY_MIN_SECONDS"] = "1.5"
        env["PHONEFARM_AUTO_RETRY_DELAY_MAX_SECONDS"] = "2.5"
        env["PHONEFARM_RETRY_LIMIT"] = "1"  # the default (3) is checked in test_settings.py
        env["PHONEFARM_ACTION_BUDGETS_FILE"] = str(REPO / "tests" / "generous_budgets.yaml")
        if self.prefect_template:
            env.update(prefect_template.SERVICE_ENV)
        return {**env, **self.extra_env}

    def start(self, timeout: float = 120) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start `python -m api`, once the session's migrated Prefect database is there to copy (in a
        thread: tests that need no service go on meanwhile); wait_ready() waits for it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._launching = threading.Thread(target=self._launch, daemon=True, name="launch-service")
        self._launching.start()

    def _launched(self) -> None:
        if self._launching:
            self._launching.join()
            self._launching = None
        if self.process is None:
            raise RuntimeError(f"the service was not launched: {self._launch_error!r}") from self._launch_error

    def _launch(self) -> None:
        try:
            if self.prefect_template:
                prefect_template.copy_into(self.prefect_template.database(), self.data_dir)
            self._popen()
        except Exception as error:  # told by _launched(), in the test's thread
            self._launch_error = error

    def _popen(self) -> None:
        out = open(self.data_dir / "service.out", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--prefect-port", str(self.prefect_port), "--adb-port", str(self.adb_port), "--plan", self.plan, *self.extra_args],
            cwd=REPO, env=self._env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        out.close()

    def wait_ready(self, timeout: float = 120) -> None:
        self._launched()
        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited with {self.process.returncode}:\n{self.logs()}")
            try:
                return self.http.get(f"{self.base}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        try:
            until(answering, timeout, "the service's health", interval=0.25)
        except AssertionError:
            self.stop()
            raise RuntimeError(f"service did not answer within {timeout} s:\n{self.logs()}") from None

    def logs(self) -> str:
        parts = []
        for path in [self.data_dir / "service.out", *sorted((self.data_dir / "logs").glob("*.log"))]:
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop it with `sig`; a service that does not stop in time is killed, and that is an error."""
        if self._launching:
            self._launching.join()
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the service did not stop within {timeout} s of signal {sig}:\n{self.logs()}") from None

    # HTTP ----------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs) -> tuple[int, dict]:
        response = self.http.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        return response.status_code, response.json()

    def match_accounts(self, serials: Iterable[str], timeout: float = 60) -> dict[str, dict]:
        """POST /account/match, then wait until the index has recorded what each phone's read found."""
        serials = list(serials)
        return self.wait_matched(self.ok("POST", "/account/match", json={"serials": serials})["matching"], timeout)

    def wait_matched(self, matching: list[dict], timeout: float = 60) -> dict[str, dict]:
        """Wait until the index has recorded what each read-accounts run of a match found."""
        serials = [m["serial"] for m in matching]
        def recorded(run: dict) -> bool:
            if RECORDED_TAG in run["tags"]:
                return True
            assert run["state_type"] not in ("FAILED", "CRASHED", "CANCELLED"), run["state"]
            return False
        deadline = time.monotonic() + timeout  # for them all
        for run_id in (m["flow_run_id"] for m in matching):
            until(lambda run_id=run_id: self.prefect_get(f"/flow_runs/{run_id}"), max(deadline - time.monotonic(), 0),
                  lambda run, run_id=run_id: f"account read {run_id} not recorded: {run['state']}", interval=0.2,
                  accept=recorded)
        return {a["username"]: a for a in self.ok("GET", "/account")["accounts"] if a["serial"] in serials}


class WorkerPc(Service):
    """`python -m api --role worker`: a PC with phones only (its own adb server, this test's
    simulated phones on it), working for the API PC's Prefect server."""

    def __init__(self, name: str, data_dir: Path, api: Service, phones: int):
        self.name = name
        self.api = api
        self.adb = start_adb_server(data_dir)
        super().__init__(data_dir, self.adb.server.port, extra_args=["--role", "worker", "--pc-name", name],
                         env={"PHONEFARM_PREFECT_API_URL": api.prefect_api,
                              "PHONEFARM_PREFECT_AUTH_STRING": api.prefect_auth,
                              # every PC of a farm judges silence alike
                              **{k: v for k, v in api.extra_env.items() if k == "PHONEFARM_PC_SILENCE_SECONDS"}})
        self.farm = SimulatedFarm(self.adb.server, phones, auto_reconnect=True)

    def wait_ready(self, timeout: float = 120) -> None:
        """Ready once the API lists its phones under its name (its worker reports them)."""
        self._launched()
        def listed() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker PC {self.name} exited with {self.process.returncode}:\n{self.logs()}")
            phones = {d["serial"]: d["state"] for d in self.api.ok("GET", "/device")["devices"] if d["pc"] == self.name}
            return phones == {serial: "device" for serial in self.farm.phones}
        try:
            until(listed, timeout, "the worker PC's phones listed", interval=0.5)
        except AssertionError:
            raise RuntimeError(f"the API does not list worker PC {self.name}'s phones after {timeout} s:\n"
                               f"{self.logs()}") from None

    def kill(self) -> None:
        """SIGKILL every process of this PC at once (a power cut); its phones stay attached."""
        everyone = [self.process.pid, *descendants(self.process.pid)]
        for pid in everyone:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def close(self) -> None:
        self.stop()
        self.farm.stop()
        self.adb.stop()


def task_rows(service: TaskClient) -> list[tuple]:
    """Every task as (id, serial, status, remark, flow run, created), by id."""
    tasks = service.ok("GET", "/task", params={"page_size": 100})["tasks"]
    return sorted((t["id"], t["serial"], t["status"], t["remark"], t["flow_run_id"], t["created_at"]) for t in tasks)


def stats_and_totals(service) -> tuple[dict, dict, int]:
    stats = service.ok("GET", "/task/stats")
    totals = {
        text: service.ok("GET", "/task", params={"status": code, "page_size": 1})["total"]
        for code, text in enumerate(["pending", "running", "completed", "failed"])
    }
    return stats, totals, service.ok("GET", "/task", params={"page_size": 1})["total"]


def assert_stats_match_listings(service, timeout: float = 60) -> dict:
    """Real runs still move between states: compare at a moment when stats do not change."""
    def read() -> tuple[dict, dict, int, bool]:
        stats, totals, total = stats_and_totals(service)
        return stats, totals, total, stats == service.ok("GET", "/task/stats")

    def matching(read: tuple) -> bool:
        stats, totals, total, settled = read
        return settled and {k: stats[k] for k in totals} == totals and stats["total"] == total
    stats, *_ = until(read, timeout, lambda read: f"stats {read[0]} != listings {read[1]} (total {read[2]})",
                      interval=0.5, accept=matching)
    return stats
