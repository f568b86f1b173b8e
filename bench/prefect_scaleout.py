"""Prefect's own answer past one server process, tried on this machine: the same load of run lifecycles against
the stock server and against several API server processes with Redis messaging (Prefect's self-hosting guide)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))  # run as a script: make `api`, `bench` and `tests` importable

from api.supervision.postgres import PostgresCluster, find_bin_dir  # noqa: E402
from bench.benchmark import measured_commit  # noqa: E402
from bench.farm import command_line, process_tree  # noqa: E402
from bench.idle import TICKS_PER_SECOND, cpu_ticks  # noqa: E402
from tests.harness import free_port  # noqa: E402

EVENTS_PER_RUN = 6  # a run of the farm stores about this many of its own (bench/results-pcs3-phones100.json)
# Prefect's self-hosting guide: its Redis broker, cache, ordering, lease storage and Docket for the services.
REDIS_SETTINGS = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging", "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1", "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
}


def server_env(python: Path, home: Path, database_url: str, redis_port: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))}
    env.update({"PREFECT_HOME": str(home), "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"})
    if redis_port:
        env.update(REDIS_SETTINGS, PREFECT_REDIS_MESSAGING_PORT=str(redis_port),
                   PREFECT_SERVER_DOCKET_URL=f"redis://127.0.0.1:{redis_port}/1")
    return env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def wait_healthy(ports: list[int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prefect server on {port} not healthy within {timeout:.0f} s")
            time.sleep(0.5)


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_ticks(pid) for root in pids for pid in process_tree(root)) / TICKS_PER_SECOND


async def one_run(client: httpx.AsyncClient, base: str, flow_id: str) -> None:
    """What the farm asks of Prefect for one run: made, Pending, Running, its events, Completed, read back."""
    created = await client.post(f"{base}/flow_runs/", json={"flow_id": flow_id, "state": {"type": "SCHEDULED"}})
    run_id = created.raise_for_status().json()["id"]
    for state in ("PENDING", "RUNNING"):
        (await client.post(f"{base}/flow_runs/{run_id}/set_state", json={"state": {"type": state}})).raise_for_status()
    now = datetime.now(timezone.utc).isoformat()
    events = [{"id": str(uuid.uuid4()), "occurred": now, "event": f"phonefarm.trial.{n}",
               "resource": {"prefect.resource.id": f"prefect.flow-run.{run_id}"}} for n in range(EVENTS_PER_RUN)]
    (await client.post(f"{base}/events", json=events)).raise_for_status()
    (await client.post(f"{base}/flow_runs/{run_id}/set_state", json={"state": {"type": "COMPLETED"}})).raise_for_status()
    (await client.get(f"{base}/flow_runs/{run_id}")).raise_for_status()


async def load(ports: list[int], runs: int, clients: int) -> tuple[float, int]:
    """`runs` lifecycles, `clients` at a time, spread over the API ports in turn (the load balancer's part)."""
    bases = itertools.cycle([f"http://127.0.0.1:{port}/api" for port in ports])
    errors = 0
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients * 2)) as client:
        flow = await client.post(f"{next(bases)}/flows/", json={"name": "scaleout-trial"})
        flow_id = flow.raise_for_status().json()["id"]
        queue = asyncio.Queue()
        for _ in range(runs):
            queue.put_nowait(next(bases))

        async def lane() -> None:
            nonlocal errors
            while not queue.empty():
                try:
                    await one_run(client, queue.get_nowait(), flow_id)
                except httpx.HTTPError:
                    errors += 1
        started = time.monotonic()
        await asyncio.gather(*(lane() for _ in range(clients)))
        return time.monotonic() - started, errors


def trial(python: Path, root: Path, api_servers: int, runs: int, clients: int) -> dict:
    """One set-up on its own PostgreSQL database: api_servers 0 is the stock `prefect server start`."""
    cluster = PostgresCluster(root / "postgres", find_bin_dir())
    cluster.initialize()
    postgres = cluster.child(root / "postgres.log", dict(os.environ))
    postgres.start()
    processes: list[subprocess.Popen] = []
    try:
        while not cluster.ready():
            time.sleep(0.3)
        cluster.ensure_database()
        redis_port = free_port() if api_servers else None
        env = server_env(python, root / "prefect-home", cluster.url(), redis_port)
        prefect = [str(python), "-m", "prefect"]
        ports = [free_port() for _ in range(max(1, api_servers))]
        if api_servers:
            processes.append(start(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                                   env, root / "redis.log"))
            subprocess.run([*prefect, "server", "database", "upgrade", "-y"], env=env, check=True, capture_output=True)
            processes.append(start([*prefect, "server", "services", "start"], env, root / "services.log"))
            for n, port in enumerate(ports):  # one after another: each registers Prefect's block types at start
                processes.append(start([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-services"], env, root / f"api-{n}.log"))
                wait_healthy([port])
        else:
            processes.append(start([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(ports[0])],
                                   env, root / "server.log"))
        wait_healthy(ports)
        time.sleep(5)  # past the start-up's own work
        servers = [p.pid for p in processes if "redis-server" not in command_line(p.pid)]
        redis = [p.pid for p in processes if p.pid not in servers]
        before = cpu_seconds(servers), cpu_seconds([postgres.process.pid]), cpu_seconds(redis)
        wall, errors = asyncio.run(load(ports, runs, clients))
        after = cpu_seconds(servers), cpu_seconds([postgres.process.pid]), cpu_seconds(redis)
        server_cpu, postgres_cpu, redis_cpu = (b - a for a, b in zip(before, after))
        return {"api_servers": api_servers or "stock (1, services inside)", "runs": runs, "clients": clients,
                "errors": errors, "wall_s": round(wall, 1), "runs_per_s": round(runs / wall, 1),
                "prefect_cpu_s_per_run": round(server_cpu / runs, 3), "prefect_cores": round(server_cpu / wall, 2),
                "postgresql_cpu_s_per_run": round(postgres_cpu / runs, 3), "redis_cpu_s_per_run": round(redis_cpu / runs, 4)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        postgres.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", type=Path, required=True,
                        help="an interpreter with the locked prefect and prefect-redis (not the project's venv)")
    parser.add_argument("--api-servers", type=int, nargs="+", default=[2], help="API server processes to try")
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--clients", type=int, default=50, help="run lifecycles at once")
    parser.add_argument("--output", type=Path, default=REPO_DIR / "bench" / "results-prefect-scaleout.json")
    args = parser.parse_args(argv)
    results = {"started_at": datetime.now().isoformat(timespec="seconds"), "commit": measured_commit(),
               "cpus": os.cpu_count(), "trials": []}
    for api_servers in [0, *args.api_servers]:
        root = Path(tempfile.mkdtemp(prefix="phonefarm-scaleout-"))
        root.chmod(0o711)  # PostgreSQL's own user passes through to its cluster
        try:
            print(f"api servers {api_servers or 'stock'}: {args.runs} runs, {args.clients} at once...", flush=True)
            results["trials"].append(trial(args.python, root, api_servers, args.runs, args.clients))
            print(json.dumps(results["trials"][-1]), flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
