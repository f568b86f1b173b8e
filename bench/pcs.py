"""Several PCs on this machine: one API PC on PostgreSQL without phones, and worker PCs with simulated phones."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from bench.farm import REPO_DIR, Api, Farm, log_tails, running_farm
from tests.harness import start_adb_server

WORKER_PC_READY_TIMEOUT = 300


def pc_name(number: int) -> str:
    return f"pc-{number}"


def start_worker_pc(data_dir: Path, number: int, phones: int, api_pc: Farm, profile_load_seconds: float) -> Farm:
    """`python -m api --role worker` with its own adb server and simulator, on the API PC's Prefect server."""
    data_dir.mkdir()
    adb = start_adb_server(data_dir)
    auth = (api_pc.data_dir / "prefect" / "auth-string").read_text().strip()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))},
           "PHONEFARM_PREFECT_API_URL": f"http://127.0.0.1:{api_pc.prefect_port}/api",
           "PHONEFARM_PREFECT_AUTH_STRING": auth, "PHONEFARM_WORKER": "fast"}
    argv = [sys.executable, "-m", "api", "--role", "worker", "--pc-name", pc_name(number), "--data-dir", str(data_dir),
            "--adb-port", str(adb.server.port)]
    with open(data_dir / "service.log", "ab") as out:
        service = subprocess.Popen(argv, cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=env)
    # Its phones talk to its adb server only: a worker PC serves the phones it sees.
    pc = Farm(data_dir, api_pc.api, service, adb, api_pc.prefect_port)
    with open(data_dir / "simulator.log", "ab") as out:
        pc.simulator = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--count", str(phones), "--adb-port", str(adb.server.port),
             "--serial-prefix", f"pc{number}sim", "--profile-load-seconds", str(profile_load_seconds)],
            cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return pc


def wait_for_pc_phones(api: Api, pcs: list[Farm], phones: int, timeout: float) -> dict[str, list[str]]:
    """PC name -> its serials, once the API lists `phones` ready phones under every worker PC's name."""
    deadline = time.monotonic() + timeout
    by_pc: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        for pc in pcs:
            if pc.service.poll() is not None:
                raise RuntimeError(f"worker PC exited with {pc.service.returncode}\n{log_tails(pc.data_dir)}")
        devices = api.get("/device")[0]["devices"]
        by_pc = {pc_name(n): sorted(d["serial"] for d in devices if d["pc"] == pc_name(n) and d["state"] == "device"
                                    and not d.get("contested")) for n in range(1, len(pcs) + 1)}
        if all(len(serials) >= phones for serials in by_pc.values()):
            return by_pc
        time.sleep(2)
    raise RuntimeError(f"phones listed per PC after {timeout:.0f} s: { {k: len(v) for k, v in by_pc.items()} }")


@contextmanager
def running_pcs(data_root: Path, pcs: int, phones: int, profile_load_seconds: float,
                env: dict[str, str]) -> Iterator[tuple[Farm, list[Farm], dict]]:
    """The API PC (its own worker has no phones), then `pcs` worker PCs; every one stopped at the end."""
    api_dir = data_root / "api-pc"
    api_dir.mkdir()
    with ExitStack() as stack:
        api_pc, timings = stack.enter_context(running_farm(
            api_dir, 0, profile_load_seconds, env={**env, "PHONEFARM_PC_NAME": "pc-api"}))
        timings.pop("simulator_started_at")
        started = time.monotonic()
        workers: list[Farm] = []
        for number in range(1, pcs + 1):
            worker_pc = start_worker_pc(data_root / pc_name(number), number, phones, api_pc, profile_load_seconds)
            workers.append(worker_pc)
            stack.callback(_stop, worker_pc)
        for worker_pc in workers:
            wait_for_health_of_worker(worker_pc)
        timings["worker_pcs_started_s"] = round(time.monotonic() - started, 1)
        yield api_pc, workers, timings


def wait_for_health_of_worker(pc: Farm) -> None:
    """A worker PC answers nothing over HTTP: it is up once its log says it runs (or it died)."""
    deadline = time.monotonic() + WORKER_PC_READY_TIMEOUT
    log = pc.data_dir / "service.log"
    while time.monotonic() < deadline:
        if pc.service.poll() is not None:
            raise RuntimeError(f"worker PC exited with {pc.service.returncode}\n{log_tails(pc.data_dir)}")
        if log.exists() and "Worker PC " in log.read_text(errors="replace"):
            return
        time.sleep(1)
    raise RuntimeError(f"worker PC not up within {WORKER_PC_READY_TIMEOUT} s\n{log_tails(pc.data_dir)}")


def _stop(pc: Farm) -> None:
    for line in pc.stop():
        print(f"cleanup ({pc.data_dir.name}):", line, file=sys.stderr)

