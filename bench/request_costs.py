"""The Prefect server's CPU per request, by kind, for the calls a farm run makes (a bare server on SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import httpx

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from tests.harness import free_port  # noqa: E402

REQUESTS = 60  # of each kind
QUEUES = 10  # one per phone, as the farm has


class Retrying(httpx.Client):
    """SQLite answers 503 (database is locked) now and then; the farm's clients retry, so does this."""

    def request(self, *args, **kwargs) -> httpx.Response:
        for _ in range(20):
            response = super().request(*args, **kwargs)
            if response.status_code != 503:
                return response
            time.sleep(0.2)
        return response


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    port = free_port()
    home = tempfile.mkdtemp(prefix="phonefarm-request-costs-")
    env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false", "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    with open(Path(home) / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        print_costs(measure(server.pid, Retrying(base_url=f"http://127.0.0.1:{port}/api", timeout=30)))
    finally:
        server.terminate()
        server.wait(30)
    return 0


def measure(pid: int, api: httpx.Client) -> dict[str, float]:
    for _ in range(120):
        try:
            if api.get("/health").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    time.sleep(8)  # the services' start-up work is over
    flow = api.post("/flows/", json={"name": "f"}).json()["id"]
    api.post("/work_pools/", json={"name": "p", "type": "process"})
    queues = [f"q{i}" for i in range(QUEUES)]
    for queue in queues:
        api.post("/work_pools/p/queues", json={"name": queue, "concurrency_limit": 1})
    deployment = api.post("/deployments/", json={"name": "d", "flow_id": flow, "work_pool_name": "p",
                                                  "concurrency_limit": 20}).json()["id"]
    runs: list[str] = []
    costs: dict[str, float] = {}

    def each(name: str, call: Callable[[int], object]) -> None:
        before = cpu_seconds(pid)
        for i in range(REQUESTS):
            call(i)
        costs[name] = (cpu_seconds(pid) - before) / REQUESTS

    def state(kind: str) -> Callable[[int], object]:
        return lambda i: api.post(f"/flow_runs/{runs[i]}/set_state", json={"state": {"type": kind.upper(), "name": kind}, "force": True})

    each("create_flow_run (one run)", lambda i: runs.append(api.post(
        f"/deployments/{deployment}/create_flow_run", json={"work_queue_name": queues[i % QUEUES]}).json()["id"]))
    each(f"get_scheduled_flow_runs ({QUEUES} queues)", lambda i: api.post(
        "/work_pools/p/get_scheduled_flow_runs", json={"work_queue_names": queues, "limit": 10}))
    each("get_scheduled_flow_runs (1 queue)", lambda i: api.post(
        "/work_pools/p/get_scheduled_flow_runs", json={"work_queue_names": [queues[0]], "limit": 10}))
    each("set_state Pending", state("Pending"))
    each("set_state Running", state("Running"))
    each("PATCH labels", lambda i: api.patch(f"/flow_runs/{runs[i]}/labels", json={"prefect.worker.name": "w"}))
    each("PATCH flow run", lambda i: api.patch(f"/flow_runs/{runs[i]}", json={"infrastructure_pid": "1"}))
    each("GET flow run", lambda i: api.get(f"/flow_runs/{runs[i]}"))
    each("POST logs (one line)", lambda i: api.post("/logs/", json=[{
        "name": "x", "level": 20, "message": "m", "timestamp": "2026-12-05T00:00:00Z", "flow_run_id": runs[i]}]))
    each("POST events (one event)", lambda i: api.post("/events", json=[{
        "id": str(uuid.uuid4()), "occurred": "2026-12-05T00:00:00Z", "event": "prefect.task-run.Running",
        "resource": {"prefect.resource.id": f"prefect.task-run.{uuid.uuid4()}"}, "payload": {}}]))
    each("flow_runs/filter (10 ids)", lambda i: api.post("/flow_runs/filter", json={
        "flow_runs": {"id": {"any_": runs[i:i + 10]}}, "limit": 10}))
    each("set_state Completed", state("Completed"))
    each("GET health", lambda i: api.get("/health"))
    return costs


def print_costs(costs: dict[str, float]) -> None:
    print(f"{'request':36s} server CPU")
    for name, seconds in costs.items():
        print(f"{name:36s} {seconds * 1000:6.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
