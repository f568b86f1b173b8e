"""The farm under measurement: the service, its adb server and simulated phones, started and stopped here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import requests
from prefect.client.orchestration import SyncPrefectClient

from api.supervision.procfs import argv_of, descendants, parent_of, private_mb, pss_mb, rss_mb, start_ticks
from tests.harness import AdbServerHandle, free_port, start_adb_server

REPO_DIR = Path(__file__).resolve().parent.parent
BUDGETS = Path(__file__).resolve().parent / "budgets.yaml"  # PHONEFARM_ACTION_BUDGETS_FILE of every farm it starts
READY_TIMEOUT = 240


class ApiError(RuntimeError):
    pass


@dataclass
class Api:
    """A session on the task API that counts every 5xx it sees, whoever asked."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, *, timeout: float = 120, **kwargs) -> tuple[dict, float]:
        """Returns (data, seconds); raises ApiError on a non-success envelope."""
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base_url + path, timeout=timeout, **kwargs)
        except requests.RequestException as error:
            self.transport_errors.append(f"{method} {path}: {error}")
            raise ApiError(f"{method} {path}: {error}") from error
        elapsed = time.perf_counter() - started
        if response.status_code >= 500:
            self.server_errors.append(f"{method} {path} -> {response.status_code} {response.text[:300]}")
        try:
            body = response.json()
        except ValueError:
            raise ApiError(f"{method} {path} -> {response.status_code}, not JSON: {response.text[:300]}") from None
        if response.status_code != 200 or body.get("code") != 0:
            raise ApiError(f"{method} {path} -> {response.status_code} {body}")
        return body["data"], elapsed

    def get(self, path: str, **kwargs) -> tuple[dict, float]:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, payload: dict, **kwargs) -> tuple[dict, float]:
        return self.call("POST", path, json=payload, **kwargs)


# ---------------------------------------------------------------- processes


def process_tree(root_pid: int) -> dict[int, int]:
    """pid -> ppid of root_pid and all its descendants."""
    if parent_of(root_pid) is None:
        return {}
    return {root_pid: parent_of(root_pid) or 0, **{pid: parent_of(pid) or 0 for pid in descendants(root_pid)}}


def command_line(pid: int) -> str:
    return b" ".join(argv_of(pid)).decode(errors="replace").strip()


def role_of(pid: int, tree: dict[int, int], roles: dict[int, str]) -> str:
    """Name a process of the launcher's tree by what it runs, or by its parent for flow runs."""
    if pid in roles:
        return roles[pid]
    cmd = command_line(pid)
    if "server start" in cmd:
        return "prefect server"
    if "prefect worker start" in cmd or "worker.fast_worker" in cmd:
        return "worker"
    if " nodaemon server" in cmd:
        return "adb server"
    if "simulator" in cmd:
        return "simulator"
    if "prefect deploy" in cmd:
        return "deploy"
    parent_cmd = command_line(tree.get(pid, 0))
    if "prefect worker start" in parent_cmd:
        return "flow-run processes"
    if "forkserver" in cmd:  # the fast worker's forkserver, and the runs forked from it
        return "flow-run processes" if "forkserver" in parent_cmd else "forkserver"
    return "other: " + cmd[:60]


def memory_snapshot(launcher_pid: int, extra_roles: dict[int, str]) -> dict[str, dict]:
    """RSS per role: the launcher's tree plus processes started here (adb server, simulator)."""
    tree = process_tree(launcher_pid)
    roles = {launcher_pid: "launcher", **extra_roles}
    snapshot: dict[str, dict] = {}
    for pid in [*tree, *extra_roles]:
        role = role_of(pid, tree, roles)
        entry = snapshot.setdefault(role, {"rss_mb": 0.0, "pss_mb": 0.0, "private_mb": 0.0, "count": 0})
        entry["rss_mb"] = round(entry["rss_mb"] + rss_mb(pid), 1)
        entry["private_mb"] = round(entry["private_mb"] + private_mb(pid), 1)
        entry["pss_mb"] = round(entry["pss_mb"] + pss_mb(pid), 1)
        entry["count"] += 1
    return snapshot


@dataclass
class Farm:
    """The service, its adb server and the simulator, all started here; stop() leaves nothing behind."""

    data_dir: Path
    api: Api
    service: subprocess.Popen
    adb: AdbServerHandle
    prefect_port: int = 0
    simulator: Optional[subprocess.Popen] = None
    known_tree: dict[int, Optional[str]] = field(default_factory=dict)

    @contextmanager
    def prefect(self) -> Iterator[SyncPrefectClient]:
        """A client of the farm's own Prefect server, with the login the service made for it."""
        auth = (self.data_dir / "prefect" / "auth-string").read_text().strip()
        with SyncPrefectClient(f"http://127.0.0.1:{self.prefect_port}/api", auth_string=auth) as client:
            yield client

    def remember_tree(self) -> None:
        """Keep the pids (and start times) of the launcher's tree to find orphans after stopping."""
        for pid in process_tree(self.service.pid):
            self.known_tree.setdefault(pid, start_ticks(pid))

    def extra_roles(self) -> dict[int, str]:
        roles = {self.adb.process.pid: "adb server"}
        if self.simulator:
            roles[self.simulator.pid] = "simulator"
        return roles

    def stop(self) -> list[str]:
        """SIGTERM the service and wait, then the simulator and adb; returns what had to be killed."""
        self.remember_tree()
        killed = []
        if self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
            try:
                self.service.wait(timeout=60)
            except subprocess.TimeoutExpired:
                killed.append(f"launcher {self.service.pid} did not stop within 60 s after SIGTERM")
                self.service.kill()
                self.service.wait(timeout=10)
        if self.simulator and self.simulator.poll() is None:
            self.simulator.send_signal(signal.SIGTERM)
            try:
                self.simulator.wait(timeout=15)
            except subprocess.TimeoutExpired:
                killed.append(f"simulator {self.simulator.pid} ignored SIGTERM")
                self.simulator.kill()
                self.simulator.wait(timeout=10)
        self.adb.stop()
        killed.extend(self._kill_orphans())
        return killed

    def _kill_orphans(self) -> list[str]:
        time.sleep(1)  # children get SIGTERM from PDEATHSIG; give them a moment to go by themselves
        orphans = []
        for pid, ticks in self.known_tree.items():
            if ticks is not None and start_ticks(pid) == ticks:
                orphans.append(f"orphan {pid} ({command_line(pid)[:80]}) killed")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return orphans


def log_tails(data_dir: Path, chars: int = 1500) -> str:
    parts = []
    for path in sorted([data_dir / "service.log", *(data_dir / "logs").glob("*.log")]):
        if path.exists():
            parts.append(f"----- {path.name} (tail) -----\n{path.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts)


def wait_for_health(farm: Farm, timeout: float) -> float:
    """Seconds until /health says Prefect is up; fails loudly with the logs if it never does."""
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        if farm.service.poll() is not None:
            raise RuntimeError(f"service exited with code {farm.service.returncode} during start-up\n"
                               f"{log_tails(farm.data_dir)}")
        # Straight through requests: refused connections while it starts are not errors worth counting.
        try:
            data = requests.get(farm.api.base_url + "/health", timeout=5).json().get("data") or {}
            if data.get("prefect") == "up":
                return time.monotonic() - started
            last = str(data)
        except (requests.RequestException, ValueError) as error:
            last = str(error)
        time.sleep(0.5)
    raise RuntimeError(f"service not healthy within {timeout:.0f} s (last: {last})\n{log_tails(farm.data_dir)}")


def wait_for_phones(api: Api, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    serials: list[str] = []
    while time.monotonic() < deadline:
        try:
            data, _ = api.get("/device")
            serials = sorted(d["serial"] for d in data["devices"] if d.get("state", "device") == "device")
        except ApiError:
            pass
        if len(serials) >= count:
            return serials[:count]
        time.sleep(0.5)
    raise RuntimeError(f"only {len(serials)} of {count} phones showed up in GET /device within {timeout:.0f} s")


# Prefect's database in every farm this run starts (benchmark.py --database).
DATABASE = {"name": "sqlite"}


def use_database(name: str) -> None:
    DATABASE["name"] = name


@contextmanager
def running_farm(data_dir: Path, phones: int, profile_load_seconds: float, *, worker: str = "fast",
                 env: Optional[dict[str, str]] = None) -> Iterator[tuple[Farm, dict]]:
    """Start adb, the service, then the simulator; always stop them all, even on errors or Ctrl-C.
    worker "stock": Prefect's process worker (the stock set-up)."""
    timings: dict[str, float] = {}
    adb = start_adb_server(data_dir)
    api_port, prefect_port = free_port(), free_port()
    argv = [sys.executable, "-m", "api", "--data-dir", str(data_dir), "--port", str(api_port),
            "--prefect-port", str(prefect_port), "--adb-port", str(adb.server.port), "--simulate", "0"]
    with open(data_dir / "service.log", "ab") as out:
        # Its own session: a Ctrl-C in this terminal reaches only us, and we stop it in order.
        service = subprocess.Popen(argv, cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env={**os.environ, "PHONEFARM_WORKER": worker, "PHONEFARM_DATABASE": DATABASE["name"],
                                        # The shipped budgets hold the 11th follow of an hour on a phone.
                                        "PHONEFARM_ACTION_BUDGETS_FILE": str(BUDGETS),
                                        **(env or {})})
    farm = Farm(data_dir, Api(f"http://127.0.0.1:{api_port}/api/v1"), service, adb, prefect_port)
    try:
        timings["service_ready_s"] = round(wait_for_health(farm, READY_TIMEOUT), 1)
        farm.remember_tree()
        with open(data_dir / "simulator.log", "ab") as out:
            farm.simulator = subprocess.Popen(
                [sys.executable, "-m", "simulator", "--count", str(phones),
                 "--adb-port", str(adb.server.port), "--profile-load-seconds", str(profile_load_seconds)],
                cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        timings["simulator_started_at"] = time.monotonic()
        yield farm, timings
    finally:
        for line in farm.stop():
            print("cleanup:", line, file=sys.stderr)


class MemorySampler:
    """Samples RSS in the background; keeps the sample with the most flow-run processes."""

    def __init__(self, farm: Farm, every: float = 2.0):
        self.farm = farm
        self.every = every
        self.busiest: dict = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="memory-sampler")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            snapshot = memory_snapshot(self.farm.service.pid, self.farm.extra_roles())
            self.farm.remember_tree()
            self.samples += 1
            runs = snapshot.get("flow-run processes", {}).get("count", 0)
            if runs >= self.busiest.get("flow-run processes", {}).get("count", 0):
                self.busiest = snapshot

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)



def error_lines(data_dir: Path, limit: int = 40) -> list[str]:
    """ERROR/Traceback/locked lines of the service's logs: the evidence for anything slow or failing."""
    found = []
    for path in sorted((data_dir / "logs").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(word in line for word in ("ERROR", "Traceback", "database is locked", "Crash")):
                found.append(f"{path.name}: {line[:300]}")
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])
